"""Events recorded before the descriptive attributes and the new fact fields existed still
replay: the store's JSON without those keys rebuilds the aggregate with their defaults."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from eventsourcing.domain import DomainEvent

from domain.approval import ApprovalStatus
from domain.expense import Expense
from domain.invoice import Invoice, InvoiceLine
from domain.knowledge_asset import AssetKind, KnowledgeAsset
from domain.time_entry import TimeEntry
from domain.values import Money
from tests.unit.domain.conftest import make_mapper, replay


def as_stored_before(events: list[DomainEvent], *dropped: str) -> list[DomainEvent]:
    """The events as an older version of the hub stored them: without `dropped` keys."""
    mapper = make_mapper()
    old = []
    for event in events:
        stored = mapper.to_stored_event(event)
        state: dict[str, Any] = json.loads(stored.state)
        for key in dropped:
            state.pop(key, None)
        old.append(mapper.to_domain_event(replace(stored, state=json.dumps(state).encode())))
    return old


def test_a_time_entry_recorded_and_corrected_before_cost_rates_replays() -> None:
    entry = TimeEntry.record(
        id=uuid4(),
        engagement_id=uuid4(),
        resource_id=uuid4(),
        work_date=date(2025, 11, 3),
        hours=Decimal("3"),
        status=ApprovalStatus.APPROVED,
    )
    entry.correct("hours were 4", hours=Decimal("4"))
    events = entry.collect_events()
    rebuilt = replay(as_stored_before(events, "cost_rate", "cost", "details"))
    assert (rebuilt.hours, rebuilt.cost_rate, rebuilt.cost, rebuilt.locked_reason) == (
        Decimal("4"),
        None,
        None,
        None,
    )
    assert rebuilt.version == entry.version


def test_an_expense_and_an_invoice_and_an_asset_from_before_replay() -> None:
    expense = Expense.record(
        id=uuid4(),
        engagement_id=uuid4(),
        resource_id=uuid4(),
        spent_date=date(2025, 11, 3),
        amount=Money(Decimal("12.00"), "GBP"),
        category="Meals",
    )
    rebuilt = replay(as_stored_before(expense.collect_events(), "units", "unit_price", "details"))
    assert (rebuilt.units, rebuilt.unit_price, rebuilt.unit_name) == (None, None, None)

    line = InvoiceLine.build(
        description="Audit", quantity=1, unit_price=Decimal(100), currency="GBP"
    )
    invoice = Invoice.create(id=uuid4(), client_id=uuid4(), currency="GBP", lines=[line])
    events = invoice.collect_events()
    mapper = make_mapper()
    state = json.loads(mapper.to_stored_event(events[0]).state)
    for stored_line in state["lines"]:
        # Lines stored before they carried codes.
        for key in ("source_line_id", "item_code", "tracking", "service_date"):
            stored_line["_data_"].pop(key, None)
    old = mapper.to_domain_event(
        replace(mapper.to_stored_event(events[0]), state=json.dumps(state).encode())
    )
    rebuilt_invoice = replay(as_stored_before([old], "details"))
    assert rebuilt_invoice.lines == [line]
    assert rebuilt_invoice.reported_tax is None

    asset = KnowledgeAsset.register(
        id=uuid4(), title="Deck", kind=AssetKind.DOCUMENT, uri="https://x.example/d"
    )
    assert replay(as_stored_before(asset.collect_events(), "details")).revision is None


def test_an_aggregate_from_a_snapshot_older_than_its_details_takes_their_defaults() -> None:
    asset = KnowledgeAsset.register(
        id=uuid4(), title="Deck", kind=AssetKind.DOCUMENT, uri="https://x.example/d"
    )
    asset.__dict__.pop("space_key", None)  # as restored from a snapshot taken before it existed
    assert asset.space_key is None
    assert asset.revise(space_key="PMO") == {"space_key": "PMO"}
