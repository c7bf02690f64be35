"""Harvest end to end: v2 list pages posted to POST /v1/adapters/harvest/webhook, polled from
Harvest's API on loopback, and published by `pshub adapter harvest publish`, through NATS
JetStream and ingest to golden records and xrefs.

Harvest clients carry no country: a Harvest client becomes a golden client with an unknown
country ("") that a source keeping one fills in later. A user without roles becomes a resource
with role "unassigned".
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from hub.intake import load_cursor
from hub.poller import poll_once
from tests.support.adapter_flow import (
    FIXTURES,
    assert_malformed_json_is_refused,
    assert_wrong_scope_is_forbidden,
    by_source,
    deliver,
    native,
    native_bytes,
    record,
    wait_for,
)
from tests.support.http_source import Request, Response, SourceServer, serve
from tests.support.running import Running

ACCOUNT = "98765"
CLIENT, PROJECT, USER = "5735776", "14308069", "1782959"
DATED = {"time_entries": "spent_date", "expenses": "spent_date", "invoices": "issue_date"}


@pytest.fixture
def harvest(running: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    """The hub with its Harvest adapter set up for one account."""
    for name, value in {
        "TENANT": ACCOUNT,
        "DEFAULT_CURRENCY": "EUR",
        "RETRIES": "1",
        "BACKOFF_SECONDS": "0.01",
    }.items():
        monkeypatch.setenv(f"PSHUB_ADAPTER_HARVEST_{name}", value)
    return running


def waits_for(running: Running, message_id: str, key: str, timeout: float = 20) -> None:
    """Waits for a parked message to be parked on this key (it is tried again, and parked
    anew, once what it waited for before is known)."""
    deadline = time.monotonic() + timeout
    outcome = running.outcome(message_id)
    while outcome.get("waiting_for") != key and time.monotonic() < deadline:
        time.sleep(0.05)
        outcome = running.outcome(message_id)
    assert (outcome["status"], outcome.get("waiting_for")) == ("parked", key), outcome


def confidential(running: Running) -> dict[str, str]:
    return running.token("read", "read:confidential", "read:pii")


def test_time_entries_posted_before_their_project_and_user_park_then_apply_once_they_arrive(
    harvest: Running,
) -> None:
    entries = by_source(
        deliver(harvest, "harvest", native_bytes("harvest", "time_entries_page1.json"))
    )
    for outcome in entries.values():
        assert (outcome["status"], outcome["reason"]) == ("parked", "UNKNOWN_AGGREGATE")
        assert outcome["waiting_for"] == f"xref:harvest|{ACCOUNT}|project|{PROJECT}"

    # A clients page creates its clients directly: Harvest keeps no country (unknown until a
    # source that keeps one reports it), but it does keep the billing currency.
    clients = by_source(deliver(harvest, "harvest", native_bytes("harvest", "clients_page.json")))
    assert {(c, o["status"]) for c, o in clients.items()} == {
        (CLIENT, "applied"),
        ("5735774", "applied"),
    }
    [client_id] = clients[CLIENT]["canonical_ids"]

    [project] = [
        o
        for o in deliver(harvest, "harvest", native_bytes("harvest", "projects_page.json"))
        if o["source"]["id"] == PROJECT
    ]
    assert project["status"] == "applied"
    # The time entries still wait: for their user now.
    for outcome in entries.values():
        waits_for(harvest, outcome["message_id"], f"xref:harvest|{ACCOUNT}|user|{USER}")
    users = by_source(deliver(harvest, "harvest", native_bytes("harvest", "users_page.json")))
    assert users[USER]["status"] == "applied"

    first = wait_for(harvest, entries["2370001001"]["message_id"], "applied")
    second = wait_for(harvest, entries["2370001002"]["message_id"], "applied")

    client = record(harvest, "harvest", "Client", CLIENT)
    assert client["id"] == client_id
    assert client["legal_name"] == "123 Industries"  # name
    assert client["country"] == ""  # Harvest keeps none: unknown
    assert client["billing_currency"] == "EUR"  # currency
    assert client["status"] == "active"  # is_active
    assert client["xrefs"] == [
        {"system": "harvest", "tenant": ACCOUNT, "type": "Client", "id": CLIENT}
    ]
    abc = record(harvest, "harvest", "Client", "5735774")
    assert (abc["legal_name"], abc["country"], abc["billing_currency"], abc["status"]) == (
        "ABC Corp",
        "",
        "USD",
        "inactive",
    )

    engagement = record(harvest, "harvest", "Project", PROJECT)
    assert engagement["id"] == project["canonical_ids"][0]
    assert engagement["client_id"] == client_id
    assert engagement["code"] == "OS1"
    assert engagement["name"] == "Online Store - Phase 1"
    assert engagement["status"] == "active"
    assert engagement["currency"] == "EUR"  # the client's currency
    assert engagement["budget"] == {"amount": "48000.00", "currency": "EUR"}
    assert (engagement["start_date"], engagement["end_date"]) == ("2024-04-01", "2024-09-30")

    resource_id = users[USER]["canonical_ids"][0]
    entry = record(harvest, "harvest", "TimeEntry", "2370001001")
    assert entry["id"] == first["canonical_ids"][0]
    assert entry["engagement_id"] == engagement["id"]
    assert entry["resource_id"] == resource_id
    assert entry["work_date"] == "2024-05-02"
    assert entry["hours"] == "2.11"
    assert entry["billing_hours"] == "2.25"  # rounded_hours
    assert entry["status"] == "draft"  # not is_closed
    assert (entry["billable"], entry["task"]) == (True, "Programming")

    approved = record(harvest, "harvest", "TimeEntry", "2370001002")
    assert approved["id"] == second["canonical_ids"][0]
    assert (approved["work_date"], approved["hours"]) == ("2024-05-01", "1.0")
    assert approved["status"] == "approved"  # is_closed: approved by Timesheet Approval


class HarvestAccount:
    """Harvest's v2 API on loopback: list endpoints with updated_since, from/to and paging
    through links.next, per-user billable rates; the data can change between polls."""

    def __init__(self, server: SourceServer) -> None:
        self.server = server
        entries = [
            *native("harvest", "time_entries_page1.json")["time_entries"],
            *native("harvest", "time_entries_page2.json")["time_entries"],
        ]
        # An older entry, before the reconciliation window: gone from the window's listing,
        # yet never tombstoned.
        older = copy.deepcopy(entries[0]) | {"id": 2370000999, "spent_date": "2024-03-15"}
        self.data: dict[str, list[dict[str, Any]]] = {
            "clients": native("harvest", "clients_page.json")["clients"],
            "projects": native("harvest", "projects_page.json")["projects"],
            "users": native("harvest", "users_page.json")["users"],
            "time_entries": [older, *entries],
            "expenses": native("harvest", "expenses_page.json")["expenses"],
            "invoices": native("harvest", "invoices_page.json")["invoices"],
        }
        rates = native("harvest", "billable_rates_page.json")["billable_rates"]
        for collection in self.data:
            server.routes[("GET", f"/v2/{collection}")] = self._lister(collection)
        for user, listed in ((USER, rates), ("1782884", [])):
            server.routes[("GET", f"/v2/users/{user}/billable_rates")] = self._rates(listed)

    def _lister(self, collection: str) -> Any:
        def answer(request: Request) -> Response:
            query = {k: v[0] for k, v in request.query.items()}
            items = self.data[collection]
            if "updated_since" in query:
                items = [i for i in items if i["updated_at"] >= query["updated_since"]]
            dated = DATED.get(collection)
            if dated and "from" in query:
                items = [i for i in items if i[dated] >= query["from"]]
            if dated and "to" in query:
                items = [i for i in items if i[dated] <= query["to"]]
            per_page, page = int(query.get("per_page", "2000")), int(query.get("page", "1"))
            rest = {k: v for k, v in query.items() if k != "page"}
            following = f"{self.server.base_url}/v2/{collection}?" + urlencode(
                {**rest, "page": page + 1}
            )
            return Response(
                200,
                {
                    collection: items[(page - 1) * per_page : page * per_page],
                    "per_page": per_page,
                    "total_entries": len(items),
                    "page": page,
                    "links": {
                        "first": None,
                        "next": following if page * per_page < len(items) else None,
                        "previous": None,
                        "last": None,
                    },
                },
            )

        return answer

    @staticmethod
    def _rates(rates: list[dict[str, Any]]) -> Any:
        return lambda request: Response(
            200, {"billable_rates": rates, "per_page": 2000, "links": {"next": None}}
        )

    def listed(self, path: str) -> list[dict[str, str]]:
        return [
            {k: v[0] for k, v in r.query.items()} for r in self.server.requests if r.path == path
        ]


@pytest.fixture
def account(harvest: Running, monkeypatch: pytest.MonkeyPatch) -> Iterator[HarvestAccount]:
    with serve({}) as server:
        for name, value in {
            "BASE_URL": server.base_url,
            "TOKEN": "pat-e2e",
            "PAGE_SIZE": "2",  # several pages per collection: links.next is followed
            "RECONCILE_FROM": "2024-04-01",
            "RECONCILE_TO": "2024-05-31",
        }.items():
            monkeypatch.setenv(f"PSHUB_ADAPTER_HARVEST_{name}", value)
        yield HarvestAccount(server)


def poll(running: Running) -> Any:
    """One poll round on the hub's own event loop, where its NATS connection lives."""
    return running.api.portal.call(poll_once, running.hub, "harvest")


def test_polling_applies_harvest_and_a_time_entry_gone_from_the_window_is_tombstoned(
    harvest: Running, account: HarvestAccount
) -> None:
    first = poll(harvest)
    assert first.cursor == "2024-05-10T12:00:00Z"  # the newest updated_at (the invoice)
    assert first.deletions == 0
    outcomes = harvest.settle(first.published)
    applied = {(o["entity"], o["source"]["id"]) for o in outcomes if o["status"] == "applied"}
    assert {
        ("client", CLIENT),
        ("client", "5735774"),
        ("engagement", PROJECT),
        ("resource", USER),
        ("resource", "1782884"),  # no roles: "unassigned"
        ("rate_card", USER),
        ("invoice", "13150403"),
        ("expense", "15296423"),
        *(("time_entry", str(i)) for i in (2370000999, 2370001001, 2370001002, 2370001004)),
    } <= applied
    billed = next(o for o in outcomes if o["source"]["id"] == "2370001003")
    wait_for(harvest, billed["message_id"], "applied")  # parked until its invoice applied

    headers = confidential(harvest)
    client_id = record(harvest, "harvest", "Client", CLIENT)["id"]
    engagement = record(harvest, "harvest", "Project", PROJECT)
    assert engagement["client_id"] == client_id
    engagement_id = engagement["id"]
    invoice = record(harvest, "harvest", "Invoice", "13150403")
    assert invoice["client_id"] == client_id
    assert invoice["total"] == {"amount": "628.41", "currency": "EUR"}

    entry = record(harvest, "harvest", "TimeEntry", "2370001001", headers)
    assert entry["source_rate"] == {"amount": "150.00", "currency": "EUR"}  # the client's
    assert (entry["work_date"], entry["hours"], entry["status"]) == ("2024-05-02", "2.11", "draft")
    assert entry["engagement_id"] == engagement_id

    locked = record(harvest, "harvest", "TimeEntry", "2370001003", headers)
    assert locked["status"] == "locked"  # invoiced, approved and locked
    assert locked["invoice_id"] == invoice["id"]
    assert locked["source_rate"] == {"amount": "140.00", "currency": "EUR"}

    running_timer = record(harvest, "harvest", "TimeEntry", "2370001004", headers)
    assert running_timer["is_running"] is True
    assert running_timer["billable"] is False
    assert running_timer["source_rate"] is None

    rate_card = record(harvest, "harvest", "BillableRates", USER, headers)
    assert [
        (line["bill_rate"]["amount"], line["period"]["start"], line["period"]["end"])
        for line in rate_card["lines"]
    ] == [
        ("140.00", "2024-01-01", "2024-04-01"),
        ("150.00", "2024-04-01", "2024-07-01"),
        ("165.00", "2024-07-01", None),
    ]

    assert [q.get("page") for q in account.listed("/v2/time_entries")][:3] == [None, "2", "3"]
    assert all("updated_since" not in q for q in account.listed("/v2/clients"))
    for request in account.server.requests:
        assert request.headers["Authorization"] == "Bearer pat-e2e"
        assert request.headers["Harvest-Account-Id"] == ACCOUNT

    # Harvest never reports a deletion: the next poll's complete listing of the window lacks
    # the entry, and that makes it a tombstone.
    account.data["time_entries"] = [
        e for e in account.data["time_entries"] if e["id"] != 2370001002
    ]
    seen = len(account.server.requests)
    second = poll(harvest)
    assert second.deletions == 1
    since = [
        {k: v[0] for k, v in r.query.items()}.get("updated_since")
        for r in account.server.requests[seen:]
        if r.path == "/v2/time_entries"
    ]
    assert since[0] == "2024-05-10T11:55:00Z"  # the cursor, less the overlap
    deletion = next(
        o for o in harvest.settle(second.published) if o["source"]["id"] == "2370001002"
    )
    assert deletion["status"] == "applied"

    gone = harvest.xref("harvest", "TimeEntry", "2370001002")
    assert gone.status_code == 410, gone.text
    last = gone.json()["record"]
    assert (last["deleted"], last["status"], last["work_date"]) == (True, "approved", "2024-05-01")
    assert last["id"] == deletion["canonical_ids"][0]
    # Outside the window (2024-03-15) and inside it, still listed: both stay.
    assert record(harvest, "harvest", "TimeEntry", "2370000999")["deleted"] is False
    assert record(harvest, "harvest", "TimeEntry", "2370001001")["deleted"] is False

    # GET /v1/reconciliation shows the source's pass: the window listed, the deletion found.
    answer = harvest.api.get(
        "/v1/reconciliation", params={"system": "harvest"}, headers=harvest.auth
    )
    assert answer.status_code == 200, answer.text
    [source] = answer.json()["sources"]
    assert (source["system"], source["tenant"]) == ("harvest", ACCOUNT)
    assert source["window"] == {"from": "2024-04-01", "to": "2024-05-31"}
    entries = source["totals"]["TimeEntry"]
    assert entries["deleted_at_source"] == 1 and entries["missing_in_hub"] == 0
    assert entries["listed"] == entries["matching"] == 3  # 2370001001, ...003, ...004


def test_the_command_line_publishes_a_harvest_page_that_the_running_hub_applies(
    harvest: Running,
) -> None:
    env = {
        **os.environ,
        "PSHUB_DATABASE_URL": harvest.hub.database_url,
        "PSHUB_NATS_URL": harvest.nats_url,
        "PSHUB_NATS_PREFIX": harvest.hub.settings.nats_prefix,
        # Harvest is polled: a page published by hand leaves the poller's cursor alone.
        "PSHUB_ADAPTER_HARVEST_POLL_SECONDS": "300",
    }
    page = FIXTURES / "harvest" / "users_page.json"
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "adapter", "harvest", "publish", str(page)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ids = done.stdout.split()
    assert len(ids) == 2  # one per user on the page

    users = by_source(harvest.settle(ids))
    assert {(u, o["status"]) for u, o in users.items()} == {
        (USER, "applied"),
        ("1782884", "applied"),
    }
    resource = record(harvest, "harvest", "User", USER, confidential(harvest))
    assert resource["id"] == users[USER]["canonical_ids"][0]
    assert (resource["name"], resource["email"]) == ("Kim Allen", "kimallen@example.com")
    assert resource["role"] == "Designer"
    assert resource["time_zone"] == "America/New_York"  # from "Eastern Time (US & Canada)"
    assert resource["cost_rate"] == {"amount": "50.00", "currency": "EUR"}
    assert resource["status"] == "active"

    # Bob Powell has no roles in Harvest: a resource all the same, with no role assigned yet.
    bob = record(harvest, "harvest", "User", "1782884", confidential(harvest))
    assert bob["id"] == users["1782884"]["canonical_ids"][0]
    assert (bob["name"], bob["email"]) == ("Bob Powell", "bobpowell@example.com")
    assert bob["role"] == "unassigned"
    assert bob["time_zone"] == "America/Denver"  # from "Mountain Time (US & Canada)"
    assert bob["cost_rate"] == {"amount": "75.00", "currency": "EUR"}
    assert bob["status"] == "inactive"  # not is_active

    assert load_cursor(harvest.hub.app, "harvest", ACCOUNT) is None


def test_a_page_posted_to_the_webhook_leaves_the_cursor_of_a_polled_harvest_alone(
    harvest: Running, account: HarvestAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_HARVEST_POLL_SECONDS", "300")
    # The newest page (the invoice, updated 2024-05-10T12:00:00Z) is posted by hand first;
    # were the cursor moved past it, the poller would never list what changed before then.
    posted = deliver(harvest, "harvest", native_bytes("harvest", "invoices_page.json"))
    assert posted
    assert load_cursor(harvest.hub.app, "harvest", ACCOUNT) is None

    first = poll(harvest)
    assert all("updated_since" not in q for q in account.listed("/v2/time_entries"))
    assert first.cursor == "2024-05-10T12:00:00Z"
    assert load_cursor(harvest.hub.app, "harvest", ACCOUNT) == first.cursor
    applied = {
        (o["entity"], o["source"]["id"])
        for o in harvest.settle(first.published)
        if o["status"] == "applied"
    }
    assert {("client", CLIENT), ("engagement", PROJECT), ("time_entry", "2370001001")} <= applied


def test_the_webhook_refuses_malformed_json_with_400_and_a_wrong_scope_with_403_publishing_nothing(
    harvest: Running,
) -> None:
    body = native_bytes("harvest", "clients_page.json")
    assert_malformed_json_is_refused(harvest, "harvest", body.replace(b"]", b"", 1))
    assert_wrong_scope_is_forbidden(harvest, "harvest", body)
    assert harvest.xref("harvest", "Client", CLIENT).status_code == 404
