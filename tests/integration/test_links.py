"""References that may never arrive, on the real store: parents wait, links are recorded at
once and resolve (with an event) when their record becomes known; overdue waits open cases
that close by themselves; stewards map unknown source ids; deletions of records never seen are
tombstones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.client import Client
from domain.engagement import Engagement
from domain.errors import RuleViolationError
from domain.ids import source_id
from domain.invoice import Invoice
from domain.knowledge_asset import KnowledgeAsset
from domain.time_entry import TimeEntry
from domain.tombstone import Tombstone
from domain.values import SourceRef
from hub.adapters import registry
from hub.bootstrap import build_application
from hub.contracts.adapters import AdapterConfig
from hub.errors import ConflictError, UnknownReferenceError
from hub.exceptions import ExceptionCase
from hub.ingest.decode import Incoming
from hub.ingest.engine import IngestEngine
from hub.ingest.rules import Rules
from hub.publish import encode
from hub.records import to_record
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.changes import BASE_TIME, incoming, ref


@pytest.fixture
def engine(settings: Settings, scratch_database: str) -> Iterator[IngestEngine]:
    app = build_application(settings, scratch_database)
    yield IngestEngine(app)
    app.close()


def _id(entity: str, system: str, type_: str, source: str, tenant: str = "t1") -> Any:
    return source_id(entity, SourceRef(system, tenant, type_, source))


def _history(engine: IngestEngine, aggregate_id: Any) -> list[tuple[str, str | None]]:
    with engine.app.hub_recorder.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT topic, message_id FROM hub_events WHERE originator_id = %s "
            "ORDER BY originator_version",
            (aggregate_id,),
        ).fetchall()
    return [(r["topic"].rsplit(".", 1)[-1], r["message_id"]) for r in rows]


def _xero_invoice(source: str = "INV-1", contact: str = "CONTACT-9", **fields: Any) -> Any:
    return incoming(
        "xero",
        "invoice",
        {
            "id": source,
            "kind": "invoice",
            "client": ref("Contact", contact),
            "number": f"N-{source}",
            "currency": "NZD",
            "issue_date": "2026-03-01",
            "status": "issued",
            "lines": [{"description": "Advisory", "quantity": "2", "unit_price": "150.00"}],
            **fields,
        },
        source_type="Invoice",
    )


def _xero_contact(source: str = "CONTACT-9", seq: int = 1, **fields: Any) -> Any:
    return incoming(
        "xero",
        "client",
        {"id": source, "legal_name": "Kiwi Ventures Ltd", "billing_currency": "NZD", **fields},
        source_type="Contact",
        seq=seq,
    )


def test_an_invoice_whose_customer_never_arrives_is_recorded_with_the_link_kept(
    engine: IngestEngine,
) -> None:
    [outcome] = engine.process([_xero_invoice()])
    assert outcome.outcome == "applied"
    invoice = engine.app.get(_id("invoice", "xero", "Invoice", "INV-1"), Invoice)
    assert invoice.client_id is None
    assert invoice.status == "issued"
    record = to_record(invoice)
    assert record["client_id"] is None
    assert record["pending_links"] == [
        {
            "field": "client_id",
            "entity": "client",
            "ref": {"system": "xero", "tenant": "t1", "type": "Contact", "id": "CONTACT-9"},
        }
    ]


def test_the_link_resolves_with_an_event_when_the_customer_arrives(engine: IngestEngine) -> None:
    engine.process([_xero_invoice()])
    contact = _xero_contact()
    engine.process([contact])
    invoice_id = _id("invoice", "xero", "Invoice", "INV-1")
    invoice = engine.app.get(invoice_id, Invoice)
    client_id = _id("client", "xero", "Contact", "CONTACT-9")
    assert invoice.client_id == client_id
    assert invoice.pending_links == []
    # The history says what resolved it: the customer's own message.
    assert _history(engine, invoice_id)[-1] == ("LinkResolved", contact.headers["Nats-Msg-Id"])


def test_a_link_resolves_in_the_batch_that_brings_its_record_later(engine: IngestEngine) -> None:
    engine.process([_xero_invoice(), _xero_contact()])
    invoice = engine.app.get(_id("invoice", "xero", "Invoice", "INV-1"), Invoice)
    assert invoice.client_id == _id("client", "xero", "Contact", "CONTACT-9")
    assert invoice.pending_links == []


def test_a_link_resolves_through_the_matching_rules(engine: IngestEngine) -> None:
    # The ERP's customer names the billing contact in its external refs: the same client.
    engine.process([_xero_invoice()])
    engine.process(
        [
            incoming(
                "netsuite",
                "client",
                {
                    "id": "77",
                    "legal_name": "Kiwi Ventures Limited",
                    "country": "NZ",
                    "billing_currency": "NZD",
                    "external_refs": [ref("Contact", "CONTACT-9", system="xero", tenant="t1")],
                },
                source_type="customer",
            )
        ]
    )
    invoice = engine.app.get(_id("invoice", "xero", "Invoice", "INV-1"), Invoice)
    assert invoice.client_id == _id("client", "netsuite", "customer", "77")


def test_a_billing_customer_is_never_matched_to_a_client_by_name_alone(
    engine: IngestEngine,
) -> None:
    engine.process(
        [
            incoming(
                "salesforce",
                "client",
                {"id": "001A", "legal_name": "Kiwi Ventures Ltd", "country": "NZ"},
                source_type="Account",
            ),
            _xero_invoice(),
        ]
    )
    invoice = engine.app.get(_id("invoice", "xero", "Invoice", "INV-1"), Invoice)
    assert invoice.client_id is None
    assert [link.ref.id for link in invoice.pending_links] == ["CONTACT-9"]


def test_a_time_entry_still_waits_for_its_engagement(engine: IngestEngine) -> None:
    [outcome] = engine.process(
        [
            incoming(
                "harvest",
                "time_entry",
                {
                    "id": "T1",
                    "engagement": ref("Project", "P404"),
                    "resource": ref("User", "U1"),
                    "work_date": "2026-03-02",
                    "hours": "2.0",
                },
                source_type="TimeEntry",
            )
        ]
    )
    assert (outcome.outcome, outcome.reason) == ("parked", "UNKNOWN_AGGREGATE")
    assert outcome.waiting_for == "xref:harvest|t1|project|P404"


def _work(engine: IngestEngine) -> None:
    engine.process(
        [
            incoming(
                "harvest",
                "client",
                {"id": "C1", "legal_name": "Globex", "billing_currency": "GBP"},
                source_type="Client",
            ),
            incoming(
                "harvest",
                "engagement",
                {
                    "id": "P1",
                    "client": ref("Client", "C1"),
                    "name": "Audit",
                    "currency": "GBP",
                    "status": "active",
                },
                source_type="Project",
            ),
            incoming(
                "harvest",
                "resource",
                {"id": "U1", "name": "Ada", "email": "ada@firm.example"},
                source_type="User",
            ),
        ]
    )


def _entry(source: str, **fields: Any) -> Any:
    return incoming(
        "harvest",
        "time_entry",
        {
            "id": source,
            "engagement": ref("Project", "P1"),
            "resource": ref("User", "U1"),
            "work_date": "2026-03-02",
            "hours": "3.5",
            "billable": True,
            **fields,
        },
        source_type="TimeEntry",
        seq=fields.get("seq_", 1),
    )


def test_a_time_entry_billed_on_an_unknown_invoice_is_recorded_billed(
    engine: IngestEngine,
) -> None:
    _work(engine)
    [outcome] = engine.process([_entry("T1", status="billed", invoice=ref("Invoice", "H-9"))])
    assert outcome.outcome == "applied"
    entry = engine.app.get(_id("time_entry", "harvest", "TimeEntry", "T1"), TimeEntry)
    assert (entry.status, entry.invoice_id) == ("billed", None)
    engine.process(
        [
            incoming(
                "harvest",
                "invoice",
                {
                    "id": "H-9",
                    "client": ref("Client", "C1"),
                    "currency": "GBP",
                    "status": "draft",
                    "lines": [{"description": "Audit", "quantity": "3.5", "unit_price": "100"}],
                },
                source_type="Invoice",
            )
        ]
    )
    entry = engine.app.get(entry.id, TimeEntry)
    assert entry.invoice_id == _id("invoice", "harvest", "Invoice", "H-9")


def test_invoice_lines_link_time_entries_that_arrive_later(engine: IngestEngine) -> None:
    _work(engine)
    engine.process(
        [
            incoming(
                "harvest",
                "invoice",
                {
                    "id": "H-1",
                    "client": ref("Client", "C1"),
                    "currency": "GBP",
                    "status": "issued",
                    "number": "1001",
                    "lines": [
                        {
                            "description": "Audit",
                            "quantity": "3.5",
                            "unit_price": "100",
                            "time_entries": [ref("TimeEntry", "T1"), ref("TimeEntry", "T2")],
                        }
                    ],
                },
                source_type="Invoice",
            )
        ]
    )
    invoice_id = _id("invoice", "harvest", "Invoice", "H-1")
    invoice = engine.app.get(invoice_id, Invoice)
    assert invoice.lines[0].time_entry_ids == ()
    assert {link.field for link in invoice.pending_links} == {"lines.0.time_entry_ids"}
    engine.process([_entry("T2", status="approved")])
    invoice = engine.app.get(invoice_id, Invoice)
    t2 = _id("time_entry", "harvest", "TimeEntry", "T2")
    assert invoice.lines[0].time_entry_ids == (t2,)
    assert [link.ref.id for link in invoice.pending_links] == ["T1"]


def test_a_netsuite_job_with_an_unknown_customer_is_recorded_then_linked(
    engine: IngestEngine,
) -> None:
    job = incoming(
        "netsuite",
        "engagement",
        {
            "id": "510",
            "client": ref("customer", "88"),
            "name": "Data platform",
            "code": "JOB-510",
            "currency": "EUR",
            "status": "active",
        },
        source_type="job",
    )
    [outcome] = engine.process([job])
    assert outcome.outcome == "applied"
    job_id = _id("engagement", "netsuite", "job", "510")
    assert engine.app.get(job_id, Engagement).client_id is None
    engine.process(
        [
            incoming(
                "netsuite",
                "client",
                {"id": "88", "legal_name": "Hanse Logistik GmbH", "country": "DE"},
                source_type="customer",
            )
        ]
    )
    assert engine.app.get(job_id, Engagement).client_id == _id(
        "client", "netsuite", "customer", "88"
    )


def test_a_knowledge_asset_links_an_engagement_that_arrives_later(engine: IngestEngine) -> None:
    engine.process(
        [
            incoming(
                "confluence",
                "knowledge_asset",
                {
                    "id": "PG-1",
                    "title": "Kick-off notes",
                    "kind": "page",
                    "uri": "https://wiki.example/pages/1",
                    "engagement": ref("engagement_code", "GLX-1", system="hub"),
                },
                source_type="page",
            )
        ]
    )
    asset_id = _id("knowledge_asset", "confluence", "page", "PG-1")
    assert engine.app.get(asset_id, KnowledgeAsset).engagement_id is None
    engine.process(
        [
            incoming(
                "odoo",
                "engagement",
                {
                    "id": "12",
                    "client": ref("res.partner", "7"),
                    "name": "Audit",
                    "currency": "GBP",
                    "code": "GLX-1",
                },
                source_type="project.project",
            )
        ]
    )
    asset = engine.app.get(asset_id, KnowledgeAsset)
    assert asset.engagement_id == _id("engagement", "odoo", "project.project", "12")


def test_a_parent_cannot_be_configured_as_a_link() -> None:
    with pytest.raises(ValueError, match="must stay a parent"):
        Rules.from_json('{"references": {"time_entry": {"engagement": "link"}}}')
    rules = Rules.from_json('{"references": {"invoice": {"client": "parent"}}}')
    assert rules.reference_kind("invoice", "client") == "parent"
    assert rules.reference_kind("invoice", "engagement") == "link"


def test_a_link_configured_as_a_parent_waits(settings: Settings, scratch_database: str) -> None:
    app = build_application(settings, scratch_database)
    try:
        strict = IngestEngine(
            app, rules=Rules.from_json('{"references": {"invoice": {"client": "parent"}}}')
        )
        [outcome] = strict.process([_xero_invoice()])
        assert (outcome.outcome, outcome.waiting_for) == (
            "parked",
            "xref:xero|t1|contact|CONTACT-9",
        )
    finally:
        app.close()


# Overdue waits -------------------------------------------------------------------------------


def _cases(engine: IngestEngine, reason: str) -> list[ExceptionCase]:
    with engine.app.hub_recorder.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT DISTINCT originator_id FROM hub_events WHERE topic LIKE %s",
            ("hub.exceptions:ExceptionCase.%",),
        ).fetchall()
    cases = [engine.app.get(r["originator_id"], ExceptionCase) for r in rows]
    return [c for c in cases if c.reason == reason]


def test_overdue_parked_changes_and_links_open_cases_that_close_by_themselves(
    engine: IngestEngine,
) -> None:
    parked = _entry("T9")
    engine.process([parked, _xero_invoice()])  # no project P1 yet; no Xero contact
    assert engine.sweep_overdue(timedelta(hours=24)) == []  # nothing is overdue yet
    later = datetime.now(UTC) + timedelta(hours=25)
    opened = engine.sweep_overdue(timedelta(hours=24), now=later)
    assert len(opened) == 2
    assert engine.sweep_overdue(timedelta(hours=24), now=later) == []  # one case each
    [waiting] = _cases(engine, "UNKNOWN_AGGREGATE")
    assert waiting.message_id == parked.headers["Nats-Msg-Id"]
    assert "harvest:project:P1 (tenant t1)" in waiting.detail
    [link] = _cases(engine, "UNRESOLVED_LINK")
    assert "xero:Contact:CONTACT-9" in link.detail
    assert link.owner == "data-stewardship"
    # The records arrive: both cases close by themselves.
    _work(engine)
    engine.unpark()
    engine.process([_xero_contact()])
    assert {c.status for c in _cases(engine, "UNKNOWN_AGGREGATE")} == {"resolved"}
    assert {c.status for c in _cases(engine, "UNRESOLVED_LINK")} == {"resolved"}


# Stewardship ---------------------------------------------------------------------------------


def test_a_steward_maps_an_unknown_customer_and_every_linked_record_resolves(
    engine: IngestEngine,
) -> None:
    engine.process(
        [
            _xero_invoice("INV-1"),
            _xero_invoice("INV-2"),
            incoming(
                "salesforce",
                "client",
                {"id": "001B", "legal_name": "Kiwi Ventures", "country": "NZ"},
                source_type="Account",
            ),
        ]
    )
    client_id = _id("client", "salesforce", "Account", "001B")
    mapped = engine.map_xref(
        SourceRef("xero", "t1", "Contact", "CONTACT-9"), client_id, actor="steward"
    )
    assert sorted(mapped.resolved) == sorted(
        [_id("invoice", "xero", "Invoice", "INV-1"), _id("invoice", "xero", "Invoice", "INV-2")]
    )
    for source in ("INV-1", "INV-2"):
        assert engine.app.get(_id("invoice", "xero", "Invoice", source), Invoice).client_id == (
            client_id
        )
    client = engine.app.get(client_id, Client)
    assert "xero:Contact:CONTACT-9" in [str(x) for x in client.xrefs]
    # Again: nothing new. To another record: a conflict. To nothing: unknown.
    assert (
        engine.map_xref(
            SourceRef("xero", "t1", "Contact", "CONTACT-9"), client_id, actor="steward"
        ).position
        is None
    )
    with pytest.raises(ConflictError):
        engine.map_xref(
            SourceRef("xero", "t1", "Contact", "CONTACT-9"),
            _id("invoice", "xero", "Invoice", "INV-1"),
            actor="steward",
        )
    with pytest.raises(UnknownReferenceError):
        engine.map_xref(
            SourceRef("xero", "t1", "Contact", "X"), _id("client", "a", "b", "c"), actor="s"
        )
    # Later changes of the mapped contact land on the same golden record.
    engine.process([_xero_contact(seq=2, tax_id="NZ-123")])
    assert engine.app.get(client_id, Client).tax_id == "NZ-123"


def test_a_map_xref_to_a_record_of_another_entity_is_refused(engine: IngestEngine) -> None:
    _work(engine)
    engine.process([_xero_invoice()])
    with pytest.raises(RuleViolationError, match="link xero:Contact:CONTACT-9 as client"):
        engine.map_xref(
            SourceRef("xero", "t1", "Contact", "CONTACT-9"),
            _id("engagement", "harvest", "Project", "P1"),
            actor="steward",
        )


# Deletions of records never seen ---------------------------------------------------------------


def _deleted(system: str, entity: str, source: str, source_type: str, **kwargs: Any) -> Any:
    return incoming(system, entity, {"id": source}, source_type=source_type, deleted=True, **kwargs)


def test_a_deletion_of_a_record_never_seen_is_a_tombstone(engine: IngestEngine) -> None:
    [outcome] = engine.process([_deleted("salesforce", "client", "001Z", "Account", seq=5)])
    assert outcome.outcome == "applied"
    tombstone = engine.app.find(outcome.canonical_ids[0], Tombstone)
    assert tombstone is not None
    assert (tombstone.entity, str(tombstone.xref)) == ("client", "salesforce:Account:001Z")
    # The same deletion again, or another one, changes nothing.
    [again] = engine.process([_deleted("salesforce", "client", "001Z", "Account", seq=6)])
    assert again.outcome == "applied"
    assert engine.app.get(tombstone.id, Tombstone).version == 1


def test_a_stale_create_after_the_tombstone_is_stale_and_an_undelete_revives_it(
    engine: IngestEngine,
) -> None:
    engine.process([_deleted("salesforce", "client", "001Z", "Account", seq=5)])
    account = {"id": "001Z", "legal_name": "Initech", "country": "US"}
    [stale] = engine.process(
        [incoming("salesforce", "client", account, source_type="Account", seq=3)]
    )
    assert (stale.outcome, stale.reason) == ("stale", "STALE")
    [revived] = engine.process(
        [incoming("salesforce", "client", account, source_type="Account", seq=7)]
    )
    assert revived.outcome == "applied"
    client = engine.app.get(revived.canonical_ids[0], Client)
    assert client.legal_name == "Initech"
    assert engine.app.owner_of_xref("salesforce", "t1", "Account", "001Z") == client.id
    tombstone = engine.app.get(Tombstone.id_for("client", client.xrefs[0]), Tombstone)
    assert tombstone.revived_as == client.id


def test_a_deletion_without_a_sequence_makes_older_changes_stale(engine: IngestEngine) -> None:
    engine.process([_deleted("sharepoint", "knowledge_asset", "ITEM-1", "driveItem", seq=None)])
    item = {
        "id": "ITEM-1",
        "title": "Plan.docx",
        "kind": "document",
        "uri": "https://sp.example/Plan.docx",
    }
    [older] = engine.process(
        [
            incoming(
                "sharepoint",
                "knowledge_asset",
                item,
                source_type="driveItem",
                seq=None,
                time=BASE_TIME - timedelta(days=1),
            )
        ]
    )
    assert older.outcome == "stale"


def test_work_on_an_engagement_deleted_before_it_was_seen_is_rejected(
    engine: IngestEngine,
) -> None:
    engine.process([_deleted("harvest", "engagement", "P1", "Project", seq=9)])
    _work(engine)  # the project's older version comes after its deletion: stale
    [outcome] = engine.process([_entry("T5")])
    assert (outcome.outcome, outcome.reason) == ("rejected", "RULE_VIOLATION")
    assert outcome.detail.startswith("deleted:")


# Records a source embeds -----------------------------------------------------------------------


def _from_adapter(system: str, payload: Any, **kw: Any) -> list[Any]:
    """A native payload through its adapter, as the ingest stream would carry it."""
    mapped = registry()[system].map_payload(
        json.dumps(payload).encode(), config=AdapterConfig(tenant="t1"), **kw
    )
    return [
        Incoming(f"ingest.{e.system}.{e.entity}", encode(e), {"Nats-Msg-Id": e.id})
        for e in mapped.events
    ]


_HARVEST_PROJECT = {
    "projects": [
        {
            "id": 5501,
            "name": "Cost review",
            "code": "CR-1",
            "is_active": True,
            "is_billable": True,
            "is_fixed_fee": False,
            "bill_by": "Project",
            "budget_by": "none",
            "client": {"id": 730, "name": "Maple & Birch LLP", "currency": "CAD"},
            "created_at": "2026-10-01T09:00:00Z",
            "updated_at": "2026-11-01T09:00:00Z",
        }
    ]
}


def test_a_client_a_project_embeds_becomes_a_record_and_its_own_changes_win(
    engine: IngestEngine,
) -> None:
    outcomes = engine.process(_from_adapter("harvest", _HARVEST_PROJECT))
    assert [o.outcome for o in outcomes] == ["applied", "applied"]
    client_id = _id("client", "harvest", "Client", "730")
    client = engine.app.get(client_id, Client)
    assert (client.legal_name, client.billing_currency, client.country) == (
        "Maple & Birch LLP",
        "CAD",
        "",  # not said by the project: not invented
    )
    project = engine.app.get(_id("engagement", "harvest", "Project", "5501"), Engagement)
    assert project.client_id == client_id
    assert project.pending_links == []
    # The client's own record (older than the project's embed, still it wins) applies over it.
    own = {
        "clients": [
            {
                "id": 730,
                "name": "Maple and Birch LLP",
                "is_active": True,
                "currency": "CAD",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-02T00:00:00Z",
            }
        ]
    }
    [applied] = engine.process(_from_adapter("harvest", own))
    assert applied.outcome == "applied"
    assert engine.app.get(client_id, Client).legal_name == "Maple and Birch LLP"
    # The same project again: what it says of its client is older than the client's own change.
    again = {
        "projects": [{**_HARVEST_PROJECT["projects"][0], "updated_at": "2026-11-05T09:00:00Z"}]
    }
    _, embedded = engine.process(_from_adapter("harvest", again))
    assert embedded.outcome == "stale"
    assert engine.app.get(client_id, Client).legal_name == "Maple and Birch LLP"


def test_a_parent_organisation_and_an_owner_resolve_as_links(engine: IngestEngine) -> None:
    child = incoming(
        "salesforce",
        "client",
        {
            "id": "001C",
            "legal_name": "Acme Iberia SL",
            "country": "ES",
            "parent": ref("Account", "001P"),
            "owner": ref("User", "005U"),
        },
        source_type="Account",
    )
    engine.process([child])
    child_id = _id("client", "salesforce", "Account", "001C")
    client = engine.app.get(child_id, Client)
    assert (client.parent_id, client.owner_id) == (None, None)
    assert str(client.parent_ref) == "salesforce:Account:001P"
    assert {link.field for link in client.pending_links} == {"parent_id", "owner_id"}
    engine.process(
        [
            incoming(
                "salesforce",
                "client",
                {"id": "001P", "legal_name": "Acme Holdings Inc", "country": "US"},
                source_type="Account",
            ),
            incoming(
                "salesforce",
                "resource",
                {"id": "005U", "name": "Rosa Ortega", "email": "rosa@firm.example"},
                source_type="User",
            ),
        ]
    )
    client = engine.app.get(child_id, Client)
    assert client.parent_id == _id("client", "salesforce", "Account", "001P")
    assert client.owner_id == _id("resource", "salesforce", "User", "005U")
    assert client.pending_links == []


def test_a_map_xref_whose_record_changed_meanwhile_is_made_on_the_record_as_it_now_stands(
    engine: IngestEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed's acknowledgement adds its xref to the client between the steward's read of the
    client and the recording of the mapping: the mapping is made again, and both stay."""
    engine.process(
        [
            incoming(
                "salesforce",
                "client",
                {"id": "001C", "legal_name": "Moa Analytics", "country": "NZ"},
                source_type="Account",
            )
        ]
    )
    client_id = _id("client", "salesforce", "Account", "001C")
    read = engine.working
    writes: list[int] = []

    def working(canonical_id: Any, batch: Any) -> Any:
        found = read(canonical_id, batch)
        if not writes:  # another writer, on its own copy, right after this read
            other = engine.app.get(client_id, Client)
            other.add_xref(SourceRef("netsuite", "t1", "customer", "4711"))
            writes.append(engine.app.record(other, meta=EventMeta(system="hub", actor="feed")))
        return found

    monkeypatch.setattr(engine, "working", working)
    engine.map_xref(SourceRef("xero", "t1", "Contact", "CONTACT-7"), client_id, actor="steward")
    kept = {str(x) for x in engine.app.get(client_id, Client).xrefs}
    assert {"netsuite:customer:4711", "xero:Contact:CONTACT-7"} <= kept
