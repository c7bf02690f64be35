"""The QuickBooks, Xero and SharePoint feeds end to end: a running hub on real PostgreSQL and
NATS, its feeds delivering to loopback servers of each target's API. What each target ends up
holding is counted, and each delivery comes back into the log as an xref of its record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.engagement import EngagementStatus
from hub.feeds.delivery import DeliveryWorker
from hub.sandbox.loopback_api import LoopbackApi
from hub.sandbox.quickbooks import QuickBooksApi
from hub.sandbox.sharepoint import GraphApi
from hub.sandbox.xero import XeroApi
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.changes import envelope, money, ref
from tests.support.feeding import until
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub

META = EventMeta(system="api", actor="tester", occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
SYSTEMS = ("NETSUITE", "HARVEST", "QUICKBOOKS", "XERO", "SHAREPOINT")
REALM, XERO_TENANT, DRIVE = "9130", "8c6a9d1e-5f5b-4c1a-9a51-0d1e2f3a4b5c", "b!drive-e2e"


@contextlib.contextmanager
def feeding(
    target: str,
    api: LoopbackApi,
    tenant: str,
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Running]:
    """A hub whose only connector is the target's, pointed at its loopback API."""
    for name in SYSTEMS:
        monkeypatch.setenv(f"PSHUB_FEED_{name}_ENABLED", "true" if name == target else "false")
    monkeypatch.setenv(f"PSHUB_FEED_{target}_BASE_URL", api.base_url)
    monkeypatch.setenv(f"PSHUB_FEED_{target}_TOKEN", api.token)
    monkeypatch.setenv(f"PSHUB_FEED_{target}_TENANT", tenant)
    options = {"feed_backoff": 0.05, "feed_backoff_cap": 1.0}
    with running_hub(settings, make_database, nats_url, **options) as running:
        yield running


def firm(running: Running) -> tuple[Any, Any]:
    """A client billed in GBP and a won engagement of it, recorded as the commands do."""
    app = running.hub.app
    client, _ = app.register_client(
        legal_name="Northwind Advisory Ltd", country="GB", billing_currency="GBP", meta=META
    )
    engagement, _ = app.create_engagement(
        client_id=client.id,
        code="NW-007",
        name="Pricing: review",
        currency="GBP",
        start_date=date(2026, 1, 5),
        status=EngagementStatus.WON,
        meta=META,
    )
    return client, engagement


def approved_time(
    running: Running,
    engagement: Any,
    hours: str = "6.00",
    ids: Sequence[str] = ("T1",),
    person_too: bool = True,
) -> None:
    """A person and approved, billable time entries of theirs on the engagement (ingest)."""
    person = envelope(
        "harvest",
        "resource",
        {
            "id": "U1",
            "name": "Ada",
            "email": "ada@example.com",
            "role": "Consultant",
            "time_zone": "Europe/London",
        },
    )
    person["sourcetype"] = "User"
    bodies = [person] if person_too else []
    for source_id in ids:
        entry = {
            "id": source_id,
            "engagement": ref("engagement", str(engagement.id), system="hub"),
            "resource": ref("User", "U1"),
            "work_date": "2026-03-02",
            "hours": hours,
            "billable": True,
            "status": "approved",
            "task": "Analysis",
            "billable_rate": money("125.00"),
        }
        bodies.append(envelope("harvest", "time_entry", entry, source_type="TimeEntry"))
    for body in bodies:
        running.publish_events(body)
    for body in bodies:
        outcome = running.outcome(body["id"])
        assert outcome["status"] == "applied", outcome


def xrefs(running: Running, collection: str, record_id: Any) -> set[tuple[str, str, str]]:
    answer = running.api.get(f"/v1/{collection}/{record_id}", headers=running.auth)
    return {(x["system"], x["tenant"], x["type"]) for x in answer.json()["xrefs"]}


def entry_id(running: Running) -> str:
    answer = running.api.get("/v1/time-entries", headers=running.auth)
    [entry] = answer.json()["items"]
    return entry["id"]


def test_quickbooks_holds_a_customer_a_job_and_an_invoice_once(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with QuickBooksApi() as api:
        api.throttle(retry_after="0")  # the first request is rate limited: nothing is lost
        with feeding(
            "QUICKBOOKS", api, REALM, settings, make_database, nats_url, monkeypatch
        ) as running:
            client, engagement = firm(running)
            approved_time(running, engagement)
            until(lambda: len(api.held(REALM, "invoice")) == 1, what="the invoice")
            until(
                lambda: (
                    ("quickbooks", REALM, "InvoiceLine")
                    in xrefs(running, "time-entries", entry_id(running))
                ),
                what="the invoice acknowledged on the time entry",
            )
            assert ("quickbooks", REALM, "Customer") in xrefs(running, "clients", client.id)
            assert ("quickbooks", REALM, "Job") in xrefs(running, "engagements", engagement.id)
            customers = {c["Id"]: c for c in api.held(REALM, "customer")}
            [job] = [c for c in customers.values() if c.get("Job")]
            assert len(customers) == 2 and job["DisplayName"] == "NW-007 Pricing- review"
            [invoice] = api.held(REALM, "invoice")
            assert invoice["CustomerRef"]["value"] == job["Id"]
            assert str(invoice["TotalAmt"]) == "750.00"


def test_xero_holds_a_contact_and_a_draft_with_one_line_once(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        XeroApi(XERO_TENANT) as api,
        feeding(
            "XERO", api, XERO_TENANT, settings, make_database, nats_url, monkeypatch
        ) as running,
    ):
        client, engagement = firm(running)
        approved_time(running, engagement, hours="2.50")
        until(
            lambda: (
                ("xero", XERO_TENANT, "LineItem")
                in xrefs(running, "time-entries", entry_id(running))
            ),
            what="the line acknowledged on the time entry",
        )
        [contact] = api.held(XERO_TENANT, "Contacts")
        [draft] = api.held(XERO_TENANT, "Invoices")
        assert contact["ContactNumber"] == str(client.id)
        assert draft["Contact"] == {"ContactID": contact["ContactID"]}
        assert (draft["Status"], draft["Reference"]) == ("DRAFT", "NW-007 Pricing: review")
        [line] = draft["LineItems"]
        assert str(line["LineAmount"]) == "312.50"
        assert ("xero", XERO_TENANT, "DraftInvoice") in xrefs(running, "engagements", engagement.id)


def test_sharepoint_holds_one_tagged_folder_per_engagement(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_PARENT", "Engagements")
    with GraphApi(DRIVE) as api:
        api.make_folder(DRIVE, "", "Engagements")
        api.throttle(status=503, retry_after="0")
        with feeding(
            "SHAREPOINT", api, DRIVE, settings, make_database, nats_url, monkeypatch
        ) as running:
            _, engagement = firm(running)
            until(
                lambda: (
                    ("sharepoint", DRIVE, "driveItem")
                    in xrefs(running, "engagements", engagement.id)
                ),
                what="the folder acknowledged on the engagement",
            )
            [folder] = api.folders(DRIVE, "Engagements")
            assert folder["name"] == "NW-007 Pricing- review"
            assert folder["fields"] == {"EngagementCode": "NW-007"}


def test_two_processes_delivering_lines_of_one_xero_draft_lose_none(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Xero replaces a draft's whole list of lines on each write: two delivery workers (as two
    processes running the feeds) each read the draft, add their line and write it back. With
    a slow Xero and the lines due at once, their writes overlap; each line must still be on
    the draft."""
    with (
        XeroApi(XERO_TENANT) as api,
        feeding(
            "XERO", api, XERO_TENANT, settings, make_database, nats_url, monkeypatch
        ) as running,
    ):
        feeds = running.hub.feeds
        line = feeds.lines["xero"]
        _, engagement = firm(running)
        approved_time(running, engagement, hours="1.00", ids=["T0"])
        until(lambda: not pending(running) and api.held(XERO_TENANT, "Invoices"), what="draft")
        line.worker.stop()  # the lines to come wait, all due, for the two workers below
        entries = [f"T{n}" for n in range(1, 7)]
        approved_time(running, engagement, hours="1.00", ids=entries, person_too=False)
        until(lambda: pending(running) == len(entries), what="the lines pending")
        api.delay = 0.2  # each answer takes a while: the two workers' writes overlap
        workers = [
            DeliveryWorker(
                running.hub.app,
                line.target,
                line.settings,
                line.current,
                database_url=running.hub.settings.database_url,
                acknowledge=feeds.acknowledge,
                backoff=feeds.backoff,
                idle_wait=0.02,
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        try:
            until(lambda: not pending(running), what="every line delivered", timeout=120)
        finally:
            for worker in workers:
                worker.stop()
        [draft] = api.held(XERO_TENANT, "Invoices")
        assert all(w.outcomes["delivered"] > 0 for w in workers), "both delivered lines"
        assert len(draft["LineItems"]) == 1 + len(entries), draft["LineItems"]


def pending(running: Running) -> int:
    answer = running.api.get("/v1/projections", headers=running.auth)
    [xero] = [i for i in answer.json()["items"] if i["name"] == "feed.xero"]
    return xero["backlog"]["pending"]
