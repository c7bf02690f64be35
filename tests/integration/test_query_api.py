"""The query API over the golden-records projection: every collection listed and read,
filters, keyset cursors, ETags, read-your-writes, time travel, history, lineage, redaction,
and every bad input answered as problem+json, never a 500."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.client import Client
from domain.registry import COLLECTIONS
from hub.demo import DemoSpec, load_demo
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Databases, nats_url: str) -> Iterator[Running]:
    """A running hub with a small demo firm, projected."""
    with running_hub(settings, make_database, nats_url) as running:
        load_demo(running.hub.app, DemoSpec(seed=7, scale=0.05), progress=False)
        head = running.hub.app.hub_recorder.select_head()[0]
        assert running.hub.runner is not None
        assert running.hub.runner.wait_for(head, 60)
        yield running


def _get(firm: Running, path: str, *scopes: str, **params: Any) -> Any:
    return firm.api.get(path, params=params, headers=firm.token(*(scopes or ("read",))))


def _all(firm: Running, collection: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = _get(firm, f"/v1/{collection}", "read", **query).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("entity", sorted(COLLECTIONS))
def test_every_collection_lists_and_reads_by_id(firm: Running, entity: str) -> None:
    collection = COLLECTIONS[entity]
    listed = _get(firm, f"/v1/{collection}", limit=5)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert items, f"the demo firm has {collection}"
    first = items[0]
    read = _get(firm, f"/v1/{collection}/{first['id']}")
    assert read.status_code == 200
    assert read.json()["id"] == first["id"]
    assert read.headers["ETag"] == f'"{first["version"]}"'


def test_filters_select_engagements_of_a_client_and_time_by_work_date(firm: Running) -> None:
    engagements = _all(firm, "engagements", limit=50)
    client_id = engagements[0]["client_id"]
    mine = _all(firm, "engagements", client_id=client_id)
    assert mine
    assert {e["client_id"] for e in mine} == {client_id}
    assert len(mine) == sum(1 for e in engagements if e["client_id"] == client_id)
    entries = _all(
        firm,
        "time-entries",
        engagement_id=mine[0]["id"],
        work_date_from="2026-01-01",
        work_date_to="2026-01-31",
        status="locked",
    )
    for entry in entries:
        assert entry["engagement_id"] == mine[0]["id"]
        assert "2026-01-01" <= entry["work_date"] <= "2026-01-31"
        assert entry["status"] == "locked"


def test_paging_has_no_duplicates_or_gaps_while_writes_continue(firm: Running) -> None:
    before = {item["id"] for item in _all(firm, "clients")}
    seen: list[str] = []
    cursor = None
    written = []
    while True:
        page = _get(firm, "/v1/clients", limit=7, **({"cursor": cursor} if cursor else {}))
        body = page.json()
        seen.extend(item["id"] for item in body["items"])
        # A write between pages: new records land anywhere in id order.
        client, position = firm.hub.app.register_client(
            legal_name=f"Written While Paging {uuid.uuid4().hex[:6]} Ltd",
            country="FR",
            billing_currency="EUR",
            meta=EventMeta(actor="test"),
        )
        written.append(str(client.id))
        assert firm.hub.runner is not None
        firm.hub.runner.wait_for(position, 10)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "no record twice"
    assert before <= set(seen), "no record that existed throughout is missed"


def test_a_record_answers_304_when_its_etag_still_matches(firm: Running) -> None:
    item = _get(firm, "/v1/clients", limit=1).json()["items"][0]
    resp = firm.api.get(
        f"/v1/clients/{item['id']}",
        headers={**firm.token("read"), "If-None-Match": f'"{item["version"]}"'},
    )
    assert resp.status_code == 304


def test_min_position_reads_your_own_write(firm: Running) -> None:
    token = firm.token("write:hub", "read")
    created = firm.api.post(
        "/v1/commands/register-client",
        headers=token,
        json={"legal_name": "Read Your Writes SARL", "country": "FR", "billing_currency": "EUR"},
    )
    assert created.status_code == 201
    body = created.json()
    listed = firm.api.get(
        "/v1/clients",
        headers=token,
        params={"min_position": body["position"], "country": "FR", "limit": 1000},
    )
    assert body["id"] in [item["id"] for item in listed.json()["items"]]


def test_as_of_returns_the_record_as_the_hub_knew_it(firm: Running) -> None:
    app = firm.hub.app
    client, _ = app.register_client(
        legal_name="Time Travel GmbH",
        country="DE",
        billing_currency="EUR",
        meta=EventMeta(actor="test"),
    )
    between = datetime.now(UTC)
    time.sleep(0.01)
    stored = app.get(client.id, Client)
    stored.revise(legal_name="Time Travel AG")
    app.record(stored, meta=EventMeta(actor="test"))
    then = _get(firm, f"/v1/clients/{client.id}", as_of=between.isoformat())
    assert then.json()["legal_name"] == "Time Travel GmbH"
    # The live record is the projection's, which follows the log: on a busy machine it can be
    # a moment behind the write just made (as_of reads the log itself).
    deadline = time.monotonic() + 60
    while (now := _get(firm, f"/v1/clients/{client.id}")).json()["legal_name"] != "Time Travel AG":
        assert time.monotonic() < deadline, now.json()
        time.sleep(0.05)
    before_it_existed = _get(
        firm, f"/v1/clients/{client.id}", as_of=(between - timedelta(days=1)).isoformat()
    )
    assert before_it_existed.status_code == 404


def test_history_lists_every_event_with_provenance(firm: Running) -> None:
    entry = _get(firm, "/v1/time-entries", status="locked", limit=1).json()["items"][0]
    history = _get(firm, f"/v1/time-entries/{entry['id']}/history").json()["items"]
    assert [h["version"] for h in history] == list(range(1, len(history) + 1))
    assert history[0]["type"] == "Recorded"
    assert history[-1]["type"] == "Locked"
    for item in history:
        assert item["system"] == "demo"
        assert item["message_id"]
        assert item["correlation_id"]
        assert item["position"] > 0
        assert item["outcome"] in ("applied", "reversal")


def test_lineage_names_the_system_and_message_of_each_field(firm: Running) -> None:
    app = firm.hub.app
    client, _ = app.register_client(
        legal_name="Lineage Ltd",
        country="GB",
        billing_currency="GBP",
        meta=EventMeta(system="crm", actor="test", message_id="m-create"),
    )
    stored = app.get(client.id, Client)
    stored.revise(tax_id="GB999999973")
    app.record(stored, meta=EventMeta(system="erp", actor="test", message_id="m-tax"))
    fields = _get(firm, f"/v1/clients/{client.id}/lineage").json()["fields"]
    assert fields["legal_name"]["system"] == "crm"
    assert fields["legal_name"]["message_id"] == "m-create"
    assert fields["tax_id"]["system"] == "erp"
    assert fields["tax_id"]["message_id"] == "m-tax"


@pytest.mark.parametrize(
    "path_of",
    [
        lambda r: f"/v1/resources/{r['id']}",
        lambda r: f"/v1/resources/{r['id']}/history",
        lambda r: f"/v1/resources/{r['id']}/lineage",
        lambda r: f"/v1/resources/{r['id']}?as_of={datetime.now(UTC).isoformat()}".replace(
            "+", "%2B"
        ),
        lambda r: "/v1/resources?limit=1000",
    ],
)
def test_pii_and_confidential_fields_are_left_out_without_their_scopes(
    firm: Running, path_of: Callable[[dict[str, Any]], str]
) -> None:
    resource = _get(firm, "/v1/resources", "read", "read:pii", "read:confidential", limit=1).json()[
        "items"
    ][0]
    assert "name" in resource
    assert "cost_rate" in resource
    text = firm.api.get(path_of(resource), headers=firm.token("read")).text
    assert resource["name"] not in text
    assert resource["email"] not in text
    assert '"cost_rate"' not in text


def test_as_of_reads_are_redacted_too(firm: Running) -> None:
    resource = _get(firm, "/v1/resources", "read", "read:pii", limit=1).json()["items"][0]
    read = _get(firm, f"/v1/resources/{resource['id']}", as_of=datetime.now(UTC).isoformat())
    assert read.status_code == 200
    assert "email" not in read.json()


def test_xref_lookup_finds_the_record_and_a_tombstone_answers_410(firm: Running) -> None:
    app = firm.hub.app
    from domain.values import SourceRef

    ref = SourceRef("salesforce", "org", "Account", f"001{uuid.uuid4().hex[:15]}")
    client, _ = app.register_client(
        legal_name="Xref Lookup Pty",
        country="AU",
        billing_currency="AUD",
        xref=ref,
        meta=EventMeta(),
    )
    found = _get(firm, f"/v1/xref/salesforce/account/{ref.id}", tenant="org")
    assert found.status_code == 200
    assert found.json()["id"] == str(client.id)
    stored = app.get(client.id, Client)
    stored.delete()
    app.record(stored, meta=EventMeta())
    gone = _get(firm, f"/v1/xref/salesforce/Account/{ref.id}")
    assert gone.status_code == 410
    assert gone.json()["record"]["id"] == str(client.id)
    assert _get(firm, "/v1/xref/salesforce/Account/nope").status_code == 404


def test_an_xref_lookup_answers_from_the_log_while_the_projection_is_behind(
    settings: Settings, make_database: Databases, nats_url: str
) -> None:
    """The golden record holds version 1, then projections stop and the record is deleted:
    the lookup, which reads the log to find the owner anyway, answers the deletion at once."""
    from domain.values import SourceRef

    with running_hub(settings, make_database, nats_url) as behind:
        app = behind.hub.app
        ref = SourceRef("harvest", "98765", "TimeEntry", "2370001002")
        client, position = app.register_client(
            legal_name="Behind GmbH",
            country="DE",
            billing_currency="EUR",
            xref=ref,
            meta=EventMeta(),
        )
        assert behind.hub.runner is not None
        assert behind.hub.runner.wait_for(position, 30)
        for runner in behind.hub.runners.values():
            runner.stop()
        stored = app.get(client.id, Client)
        stored.delete()
        app.record(stored, meta=EventMeta())
        by_id = behind.api.get(f"/v1/clients/{client.id}", headers=behind.auth)
        assert by_id.headers["ETag"] == '"1"'  # the projection is behind indeed
        gone = behind.xref("harvest", "TimeEntry", ref.id)
        assert gone.status_code == 410, gone.text
        assert gone.headers["ETag"] == '"2"'
        assert gone.json()["record"]["legal_name"] == "Behind GmbH"


def test_tombstones_are_left_out_of_lists_unless_asked_for(firm: Running) -> None:
    app = firm.hub.app
    client, _ = app.register_client(
        legal_name="Tombstone Oy", country="FI", billing_currency="EUR", meta=EventMeta()
    )
    stored = app.get(client.id, Client)
    stored.delete()
    position = app.record(stored, meta=EventMeta())
    listed = _get(firm, "/v1/clients", country="FI", min_position=position).json()["items"]
    assert str(client.id) not in [c["id"] for c in listed]
    with_deleted = _get(firm, "/v1/clients", country="FI", include_deleted="true").json()
    assert str(client.id) in [c["id"] for c in with_deleted["items"]]


# A fixed id: parallel workers must collect the same test ids.
UNKNOWN_ID = "4c5181f3-4f76-4fcc-a6f6-c96da7cf641c"


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/v1/clients/not-a-uuid", {}, 422, "id"),
        (f"/v1/clients/{UNKNOWN_ID}", {}, 404, None),
        ("/v1/clients", {"colour": "red"}, 400, "colour"),
        ("/v1/engagements", {"client_id": "not-a-uuid"}, 422, "client_id"),
        ("/v1/time-entries", {"work_date_from": "yesterday"}, 422, "work_date_from"),
        ("/v1/time-entries", {"billable": "perhaps"}, 422, "billable"),
        ("/v1/clients", {"limit": "0"}, 422, "limit"),
        ("/v1/clients", {"limit": "lots"}, 422, "limit"),
        ("/v1/clients", {"cursor": "garbage"}, 400, "cursor"),
        ("/v1/clients", {"cursor": "eyJhIjoiMSJ9.0000"}, 400, "cursor"),
        (f"/v1/clients/{UNKNOWN_ID}", {"as_of": "not a time"}, 422, "as_of"),
        (f"/v1/clients/{UNKNOWN_ID}", {"as_of": "2999-01-01T00:00:00Z"}, 422, "as_of"),
        (f"/v1/clients/{UNKNOWN_ID}", {"as_of": "2026-01-01T00:00:00"}, 422, "as_of"),
        ("/v1/clients", {"min_position": "-1"}, 422, "min_position"),
    ],
)
def test_bad_queries_are_answered_as_problems(
    firm: Running, path: str, params: dict[str, str], status: int, field: str | None
) -> None:
    resp = _get(firm, path, **params)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    if field is not None:
        assert field in [e["field"] for e in resp.json()["errors"]]


def test_a_huge_limit_is_capped(firm: Running) -> None:
    total = len(_all(firm, "time-entries", limit=300))
    resp = _get(firm, "/v1/time-entries", limit=1_000_000)
    assert resp.status_code == 200
    assert len(resp.json()["items"]) == min(total, 1000)


def test_a_cursor_from_another_query_is_refused(firm: Running) -> None:
    page = _get(firm, "/v1/time-entries", limit=2, status="locked").json()
    resp = _get(firm, "/v1/time-entries", limit=2, status="billed", cursor=page["next_cursor"])
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "attack",
    [
        "' OR 1=1 --",
        "active'; DROP TABLE hub_events; --",
        "\\x00",
        "%",
        "_",
        'active" OR "1',
    ],
)
def test_sql_injection_strings_in_filters_match_nothing_and_break_nothing(
    firm: Running, attack: str
) -> None:
    resp = _get(firm, "/v1/engagements", status=attack, region=attack)
    assert resp.status_code == 200
    assert resp.json()["items"] == []
    assert _get(firm, "/v1/engagements", limit=1).json()["items"]


def test_a_record_of_another_collection_is_not_found(firm: Running) -> None:
    client = _get(firm, "/v1/clients", limit=1).json()["items"][0]
    assert _get(firm, f"/v1/engagements/{client['id']}").status_code == 404


def test_the_projection_matches_a_rebuild_from_position_zero(firm: Running) -> None:
    from hub.projecting import golden_projection
    from projections.golden_records.view import GoldenRecordsView

    app = firm.hub.app
    rebuilt = GoldenRecordsView(app.hub_recorder.datastore, generation=999)
    rebuilt.create_table()
    projection = golden_projection(app, rebuilt)
    head = app.hub_recorder.select_head()[0]
    position = 0
    while position < head:
        notifications = app.hub_recorder.select_notifications(position + 1, 1000, stop=head)
        projection.process(notifications)
        position = notifications[-1].id
    assert firm.hub.runner is not None
    firm.hub.runner.wait_for(head, 30)
    live, fresh = firm.hub.golden, rebuilt
    assert live is not None
    for entity in ("client", "time_entry", "invoice"):
        with app.hub_recorder.datastore.get_connection() as conn:
            a = conn.execute(
                f"SELECT id, version, record FROM {live.table(entity).as_string(conn)} ORDER BY id"
            ).fetchall()
            b = conn.execute(
                f"SELECT id, version, record FROM {fresh.table(entity).as_string(conn)} ORDER BY id"
            ).fetchall()
        assert a == b


def _uuid(value: str) -> UUID:
    return UUID(value)
