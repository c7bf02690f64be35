"""The ingest engine on the real store: snapshot in, events out; exactly-once effect; order
per source record; unknown references parked and applied later; refusals with reasons."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from domain.client import Client
from domain.engagement import Engagement
from domain.ids import source_id
from domain.invoice import Invoice
from domain.time_entry import TimeEntry
from domain.values import SourceRef
from hub.application import xref_claim
from hub.bootstrap import build_application
from hub.errors import ConflictError
from hub.exceptions import ExceptionCase
from hub.ingest.engine import IngestEngine
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.changes import incoming, raw, ref


@pytest.fixture
def engine(settings: Settings, scratch_database: str) -> Iterator[IngestEngine]:
    app = build_application(settings, scratch_database)
    yield IngestEngine(app)
    app.close()


def _events(engine: IngestEngine) -> int:
    return engine.app.hub_recorder.select_head()[0]


def _client(source: str = "C1", **fields: Any) -> dict[str, Any]:
    return {
        "id": source,
        "legal_name": "Globex Ltd",
        "country": "GB",
        "billing_currency": "GBP",
        "tax_id": "GB123456789",
        **fields,
    }


def _setup_work(engine: IngestEngine) -> None:
    engine.process(
        [
            incoming("harvest", "client", _client("C1"), source_type="Client"),
            incoming(
                "harvest",
                "engagement",
                {
                    "id": "P1",
                    "client": ref("Client", "C1"),
                    "name": "Audit",
                    "currency": "GBP",
                    "code": "GLX-1",
                    "status": "active",
                },
                source_type="Project",
            ),
            incoming(
                "harvest",
                "resource",
                {"id": "U1", "name": "Ada Byron", "email": "ada@firm.example", "role": "manager"},
                source_type="User",
            ),
        ]
    )


def _entry(source: str = "T1", **fields: Any) -> dict[str, Any]:
    return {
        "id": source,
        "engagement": ref("Project", "P1"),
        "resource": ref("User", "U1"),
        "work_date": "2026-03-02",
        "hours": "7.50",
        "billable": True,
        "status": "draft",
        **fields,
    }


def test_a_new_record_is_created_with_its_xref(engine: IngestEngine) -> None:
    [outcome] = engine.process([incoming("harvest", "client", _client(), source_type="Client")])
    assert outcome.outcome == "applied"
    expected = source_id("client", SourceRef("harvest", "t1", "Client", "C1"))
    assert outcome.canonical_ids == [expected]
    client = engine.app.get(expected, Client)
    assert client.legal_name == "Globex Ltd"
    assert [str(x) for x in client.xrefs] == ["harvest:Client:C1"]


def test_the_same_snapshot_again_records_nothing(engine: IngestEngine) -> None:
    engine.process([incoming("harvest", "client", _client(), source_type="Client", seq=1)])
    before = _events(engine)
    [outcome] = engine.process(
        [incoming("harvest", "client", _client(), source_type="Client", seq=2)]
    )
    assert outcome.outcome == "applied"
    assert _events(engine) == before


def test_only_the_difference_is_recorded_as_domain_events(engine: IngestEngine) -> None:
    _setup_work(engine)
    engine.process([incoming("harvest", "time_entry", _entry(), source_type="TimeEntry", seq=1)])
    before = _events(engine)
    engine.process(
        [
            incoming(
                "harvest", "time_entry", _entry(status="approved"), source_type="TimeEntry", seq=2
            )
        ]
    )
    with engine.app.hub_recorder.datastore.get_connection() as conn:
        topics = [
            r["topic"]
            for r in conn.execute(
                "SELECT topic FROM hub_events WHERE notification_id > %s ORDER BY notification_id",
                (before,),
            )
        ]
    assert [t.rsplit(".", 1)[1] for t in topics] == ["Submitted", "Approved"]


def test_a_redelivered_message_has_one_effect(engine: IngestEngine) -> None:
    message = incoming("harvest", "client", _client(), source_type="Client")
    engine.process([message])
    before = _events(engine)
    outcomes = engine.process([message, message])
    assert [o.outcome for o in outcomes] == ["duplicate", "duplicate"]
    assert _events(engine) == before


def test_a_duplicate_inside_one_batch_has_one_effect(engine: IngestEngine) -> None:
    message = incoming("harvest", "client", _client(), source_type="Client")
    outcomes = engine.process([message, message])
    assert [o.outcome for o in outcomes] == ["applied", "duplicate"]


def test_an_older_change_after_a_newer_one_is_stale(engine: IngestEngine) -> None:
    engine.process(
        [
            incoming(
                "harvest",
                "client",
                _client(legal_name="Globex New Ltd"),
                source_type="Client",
                seq=5,
            )
        ]
    )
    [stale] = engine.process(
        [
            incoming(
                "harvest", "client", _client(legal_name="Globex Old"), source_type="Client", seq=3
            )
        ]
    )
    assert (stale.outcome, stale.reason) == ("stale", "STALE")
    client = engine.app.get(stale.canonical_ids[0], Client)
    assert client.legal_name == "Globex New Ltd"


def test_an_older_change_loses_to_a_newer_one_another_process_commits_meanwhile(
    engine: IngestEngine, settings: Settings, scratch_database: str
) -> None:
    """Two ingest processes: one reads the record's claim (order 5), the other commits order 7
    before the first reads the record itself. The first's order 6 must not be recorded over
    order 7: its commit conflicts, and decided again it is stale."""
    other = IngestEngine(build_application(settings, scratch_database))
    # The other process made the record: this one has no copy of it in memory.
    other.process([incoming("harvest", "client", _client(legal_name="v5"), seq=5)])
    newer = incoming("harvest", "client", _client(legal_name="v7"), seq=7)
    read_claims = engine._tables.load_claims
    interleaved = []

    def read_then_other_commits(keys: Any, batch: Any) -> None:
        read_claims(keys, batch)
        if not interleaved:
            interleaved.append(other.process([newer])[0].outcome)

    engine._tables.load_claims = read_then_other_commits  # type: ignore[method-assign]
    older = incoming("harvest", "client", _client(legal_name="v6"), seq=6)
    try:
        with pytest.raises(ConflictError):
            engine.process([older])
        assert interleaved == ["applied"]
        [again] = engine.process([older])
    finally:
        other.app.close()
    assert (again.outcome, again.reason) == ("stale", "STALE")
    assert engine.app.get(again.canonical_ids[0], Client).legal_name == "v7"


ISSUED_1047 = {
    "id": "1047",
    "client": ref("Client", "C1", system="harvest"),
    "number": "1047",
    "currency": "GBP",
    "issue_date": "2026-02-27",
    "status": "issued",
    "lines": [{"description": "February retainer", "quantity": "1", "unit_price": "500.00"}],
    "amount_paid": {"amount": "100.00", "currency": "GBP"},
}


def _carried_to_xero(engine: IngestEngine, settings: Settings, scratch_database: str) -> Any:
    """QuickBooks's invoice 1047 (500.00, 100.00 paid) ingested here, then carried to Xero by
    another process (a billing migration), which records Xero's id for it as its feed's
    acknowledgement does. Returns the invoice's id."""
    engine.process([incoming("harvest", "client", _client("C1"), source_type="Client")])
    [created] = engine.process(
        [incoming("quickbooks", "invoice", ISSUED_1047, source_type="Invoice")]
    )
    assert created.outcome == "applied", created.detail
    invoice_id = created.canonical_ids[0]
    other = build_application(settings, scratch_database)
    try:
        invoice = other.get(invoice_id, Invoice)
        xero = SourceRef("xero", "t1", "Invoice", "X-1047")
        invoice.add_xref(xero)
        assert invoice.carry_over(to_system="xero", from_system="quickbooks")
        other.record(
            invoice,
            meta=EventMeta(system="hub", actor="cli:migration"),
            claims=[xref_claim("invoice", xero, invoice_id)],
        )
    finally:
        other.close()
    return invoice_id


def test_a_change_refused_on_a_copy_another_process_changed_is_decided_on_the_stored_record(
    engine: IngestEngine, settings: Settings, scratch_database: str
) -> None:
    """This process holds invoice 1047 in memory from before the migration's write. Xero's
    report of its own copy (the one line of the balance) is an edit of the issued lines on the
    copy in memory, and not on the record as stored: it is decided again on that, and
    applied."""
    invoice_id = _carried_to_xero(engine, settings, scratch_database)
    balance = {"description": "Open balance", "quantity": "1", "unit_price": "400.00"}
    paid_in_xero = {
        **ISSUED_1047,
        "id": "X-1047",
        "status": "paid",
        "lines": [balance],
        "amount_paid": {"amount": "400.00", "currency": "GBP"},
    }
    [echo] = engine.process([incoming("xero", "invoice", paid_in_xero, source_type="Invoice")])
    assert (echo.outcome, echo.canonical_ids) == ("applied", [invoice_id]), echo.detail
    paid = engine.app.get(invoice_id, Invoice)
    assert paid.status == "paid" and str(paid.paid_total.amount) == "500.00"
    assert [line.description for line in paid.lines] == ["February retainer"]


def test_the_system_an_invoice_was_carried_to_reports_part_payments_without_its_lines(
    engine: IngestEngine, settings: Settings, scratch_database: str
) -> None:
    """Xero reports its copy as it changes (DOMAIN: status and AmountPaid on fetch), here with
    neither lines nor contact: 150.00 paid of the 400.00 carried, then 400.00. Each counts on top
    of the 100.00 QuickBooks was paid."""
    invoice_id = _carried_to_xero(engine, settings, scratch_database)
    part = {
        "id": "X-1047",
        "number": "1047",
        "currency": "GBP",
        "status": "issued",
        "amount_paid": {"amount": "150.00", "currency": "GBP"},
    }
    message = incoming("xero", "invoice", part, source_type="Invoice", seq=2)
    # Applied on the copy from before the migration's write, it conflicts at the save (nothing
    # recorded); the consumer decides the batch again, on the record as stored.
    with pytest.raises(ConflictError):
        engine.process([message])
    [first] = engine.process([message])
    assert (first.outcome, first.canonical_ids) == ("applied", [invoice_id]), first.detail
    invoice = engine.app.get(invoice_id, Invoice)
    assert invoice.status == "issued" and str(invoice.open_balance.amount) == "250.00"
    rest = {**part, "amount_paid": {"amount": "400.00", "currency": "GBP"}}
    [second] = engine.process([incoming("xero", "invoice", rest, source_type="Invoice", seq=3)])
    assert second.outcome == "applied", second.detail
    invoice = engine.app.get(invoice_id, Invoice)
    assert invoice.status == "paid" and str(invoice.paid_total.amount) == "500.00"


def test_payments_after_a_carry_over_count_once_whichever_system_reports_them(
    engine: IngestEngine, settings: Settings, scratch_database: str
) -> None:
    """1047 (500.00; 100.00 paid in QuickBooks) carried to Xero. The customer pays 50.00 in
    Xero, then 100.00 into QuickBooks still (it reports 200.00 paid so far: its own figure),
    then 250.00 more in Xero (300.00 paid there). Each report's new money is one payment, and
    the invoice is paid: 100 + 50 + 100 + 250. (Compared with everything paid, QuickBooks's
    200.00 was taken for 50.00 new and Xero's 300.00 for 200.00: 400.00, 100.00 still owed.)"""
    invoice_id = _carried_to_xero(engine, settings, scratch_database)

    def reported(system: str, source_id: str, paid: str, seq: int) -> None:
        body = {
            "id": source_id,
            "number": "1047",
            "currency": "GBP",
            "status": "issued",
            "amount_paid": {"amount": paid, "currency": "GBP"},
        }
        message = incoming(system, "invoice", body, source_type="Invoice", seq=seq)
        try:
            [done] = engine.process([message])
        except ConflictError:  # decided on the copy from before the migration's write
            [done] = engine.process([message])
        assert (done.outcome, done.canonical_ids) == ("applied", [invoice_id]), done.detail

    reported("xero", "X-1047", "50.00", 2)
    reported("quickbooks", "1047", "200.00", 3)
    invoice = engine.app.get(invoice_id, Invoice)
    assert str(invoice.open_balance.amount) == "250.00"
    reported("xero", "X-1047", "300.00", 4)
    invoice = engine.app.get(invoice_id, Invoice)
    assert invoice.status == "paid" and str(invoice.paid_total.amount) == "500.00"
    assert [(str(p.amount.amount), p.system) for p in invoice.payments] == [
        ("100.00", "quickbooks"),
        ("50.00", "xero"),
        ("100.00", "quickbooks"),
        ("250.00", "xero"),
    ]


def test_an_unknown_reference_parks_the_change_until_it_arrives(engine: IngestEngine) -> None:
    [parked] = engine.process(
        [incoming("harvest", "time_entry", _entry(), source_type="TimeEntry")]
    )
    assert (parked.outcome, parked.reason) == ("parked", "UNKNOWN_AGGREGATE")
    assert parked.waiting_for is not None
    _setup_work(engine)
    applied = engine.unpark()
    assert [o.outcome for o in applied] == ["applied"]
    entry = engine.app.get(applied[0].canonical_ids[0], TimeEntry)
    assert str(entry.hours) == "7.50"
    assert engine.unpark() == []


def test_an_update_for_a_record_never_created_is_parked_not_created(
    engine: IngestEngine,
) -> None:
    [parked] = engine.process(
        [incoming("harvest", "client", {"id": "C9", "tax_id": "X"}, source_type="Client", seq=2)]
    )
    assert (parked.outcome, parked.reason) == ("parked", "UNKNOWN_AGGREGATE")
    assert _events(engine) == 0
    engine.process([incoming("harvest", "client", _client("C9"), source_type="Client", seq=1)])
    [applied] = engine.unpark()
    assert applied.outcome == "applied"
    assert engine.app.get(applied.canonical_ids[0], Client).tax_id == "X"


def test_a_broken_rule_is_rejected_with_an_exception_case(engine: IngestEngine) -> None:
    _setup_work(engine)
    [rejected] = engine.process(
        [incoming("harvest", "time_entry", _entry(hours="25"), source_type="TimeEntry")]
    )
    assert (rejected.outcome, rejected.reason) == ("rejected", "RULE_VIOLATION")
    case = engine.app.find(
        ExceptionCase.id_for(rejected.message_id, "RULE_VIOLATION"), ExceptionCase
    )
    assert case is not None
    assert case.rule == "implausible_duration"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"specversion": "1.0", "id": ', "MALFORMED_PAYLOAD"),
        (
            json.dumps(
                {
                    "specversion": "1.0",
                    "source": "/harvest/t1",
                    "id": "m1",
                    "type": "pshub.client.changed.v1",
                    "time": "2026-01-01T00:00:00Z",
                    "data": {},
                }
            ).encode(),
            "MISSING_REQUIRED_ID",
        ),
    ],
)
def test_malformed_input_is_dead_lettered_with_its_reason(
    engine: IngestEngine, payload: bytes, reason: str
) -> None:
    [outcome] = engine.process([raw("harvest", "client", payload)])
    assert (outcome.outcome, outcome.reason) == ("dead_lettered", reason)
    assert (
        engine.app.find(ExceptionCase.id_for(outcome.message_id, reason), ExceptionCase) is not None
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_client(billing_currency="GBR"), "INVALID_CURRENCY"),
        ({"id": "T1", "hours": "-2"}, "NEGATIVE_QUANTITY"),
        (_client(colour="red"), "SCHEMA_VIOLATION"),
    ],
)
def test_invalid_data_is_dead_lettered_with_its_reason(
    engine: IngestEngine, data: dict[str, Any], reason: str
) -> None:
    entity = "time_entry" if "hours" in data else "client"
    [outcome] = engine.process([incoming("harvest", entity, data)])
    assert (outcome.outcome, outcome.reason) == ("dead_lettered", reason)


def test_a_source_may_not_publish_as_another_system(engine: IngestEngine) -> None:
    message = incoming("harvest", "client", _client())
    forged = raw("salesforce", "client", message.data, dict(message.headers))
    [outcome] = engine.process([forged])
    assert (outcome.outcome, outcome.reason) == ("dead_lettered", "FORBIDDEN")


def test_an_erp_project_naming_the_crm_opportunity_is_the_same_engagement(
    engine: IngestEngine,
) -> None:
    engine.process(
        [
            incoming("salesforce", "client", _client("001A"), source_type="Account"),
            incoming(
                "salesforce",
                "engagement",
                {
                    "id": "006A",
                    "client": ref("Account", "001A"),
                    "name": "Audit",
                    "currency": "GBP",
                    "status": "won",
                },
                source_type="Opportunity",
            ),
        ]
    )
    [outcome] = engine.process(
        [
            incoming("netsuite", "client", _client("C-77"), source_type="customer"),
        ]
    )
    [job] = engine.process(
        [
            incoming(
                "netsuite",
                "engagement",
                {
                    "id": "J-1",
                    "client": ref("customer", "C-77"),
                    "name": "Audit FY26",
                    "currency": "GBP",
                    "code": "PRJ-0042",
                    "external_refs": [ref("Opportunity", "006A", system="salesforce", tenant="t1")],
                },
                source_type="job",
            ),
        ]
    )
    opportunity_id = source_id("engagement", SourceRef("salesforce", "t1", "Opportunity", "006A"))
    assert job.canonical_ids == [opportunity_id]
    engagement = engine.app.get(opportunity_id, Engagement)
    assert sorted(str(x) for x in engagement.xrefs) == [
        "netsuite:job:J-1",
        "salesforce:Opportunity:006A",
    ]
    # The ERP customer with the CRM account's tax id is the same client.
    assert outcome.canonical_ids == [
        source_id("client", SourceRef("salesforce", "t1", "Account", "001A"))
    ]


def test_survivorship_keeps_the_erp_legal_name_over_a_later_crm_rename(
    engine: IngestEngine,
) -> None:
    engine.process([incoming("salesforce", "client", _client("001A"), source_type="Account")])
    engine.process(
        [
            incoming(
                "netsuite",
                "client",
                _client("C-1", legal_name="Globex Limited"),
                source_type="customer",
                seq=2,
            )
        ]
    )
    [crm] = engine.process(
        [
            incoming(
                "salesforce",
                "client",
                {"id": "001A", "legal_name": "Globex (CRM spelling)"},
                source_type="Account",
                seq=3,
            )
        ]
    )
    client = engine.app.get(crm.canonical_ids[0], Client)
    assert client.legal_name == "Globex Limited"


def test_a_probable_match_becomes_a_stewardship_case_not_a_merge(engine: IngestEngine) -> None:
    engine.process(
        [incoming("salesforce", "client", _client("001A", tax_id=""), source_type="Account")]
    )
    [other] = engine.process(
        [
            incoming(
                "netsuite",
                "client",
                _client("C-2", legal_name="Globexx Ltd", tax_id=""),
                source_type="customer",
            )
        ]
    )
    first = source_id("client", SourceRef("salesforce", "t1", "Account", "001A"))
    assert other.canonical_ids != [first]
    case = engine.app.find(ExceptionCase.id_for(other.message_id, "PROBABLE_MATCH"), ExceptionCase)
    assert case is not None
    assert case.canonical_ids == [first]


def test_a_deletion_tombstones_the_record(engine: IngestEngine) -> None:
    engine.process([incoming("harvest", "client", _client(), source_type="Client")])
    [deleted] = engine.process(
        [incoming("harvest", "client", {"id": "C1"}, deleted=True, source_type="Client", seq=2)]
    )
    assert deleted.outcome == "applied"
    assert engine.app.get(deleted.canonical_ids[0], Client).deleted


def test_unknown_ids_are_unique_per_message(engine: IngestEngine) -> None:
    ids = {uuid.uuid4() for _ in range(3)}
    assert len(ids) == 3


def test_a_nul_character_is_refused_before_it_reaches_the_store(engine: IngestEngine) -> None:
    [outcome] = engine.process([incoming("harvest", "client", _client(legal_name="Nul\x00 Ltd"))])
    assert (outcome.outcome, outcome.reason) == ("dead_lettered", "SCHEMA_VIOLATION")


def test_updates_of_records_not_in_memory_read_them_in_one_query(
    engine: IngestEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup_work(engine)
    engine.process(
        [
            incoming("harvest", "time_entry", _entry(f"T{i}"), source_type="TimeEntry", seq=1)
            for i in range(5)
        ]
    )
    _forget_cached(engine)  # as after a restart, or with more records than the cache holds
    recorder = engine.app.hub_recorder
    reads: list[int] = []
    select_events_of, select_events = recorder.select_events_of, recorder.select_events

    def counted_batch(ids: Any) -> Any:
        reads.append(len(ids))
        return select_events_of(ids)

    def counted_one(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return select_events(*args, **kwargs)

    monkeypatch.setattr(recorder, "select_events_of", counted_batch)
    monkeypatch.setattr(recorder, "select_events", counted_one)
    outcomes = engine.process(
        [
            incoming(
                "harvest",
                "time_entry",
                _entry(f"T{i}", hours="6.00"),
                source_type="TimeEntry",
                seq=2,
            )
            for i in range(5)
        ]
    )
    assert [o.outcome for o in outcomes] == ["applied"] * 5
    assert reads == [5]  # one query for the five entries, none one by one
    for outcome in outcomes:
        [entry_id] = outcome.canonical_ids
        cached = engine.app.get(entry_id, TimeEntry)
        from_log = engine.app.get(entry_id, TimeEntry, version=10_000)  # replayed, not cached
        assert str(cached.hours) == str(from_log.hours) == "6.00"
        assert cached.version == from_log.version
        assert cached.status == from_log.status


def _forget_cached(engine: IngestEngine) -> None:
    cache = engine.app.repository.cache
    assert cache is not None
    with cache.lock:
        cache.cache.clear()
        cache.clear()
        cache.full = False
