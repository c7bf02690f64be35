"""Partial updates on the real store: a field a change leaves out stays as it is, null clears
an optional field, and null on a field a record cannot exist without keeps its value."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.expense import Expense
from domain.invoice import Invoice
from domain.knowledge_asset import KnowledgeAsset
from domain.milestone import Milestone
from domain.time_entry import TimeEntry
from hub.bootstrap import build_application
from hub.ingest.engine import IngestEngine
from hub.settings import Settings
from tests.support.changes import incoming, money, ref


@pytest.fixture
def engine(settings: Settings, make_database: Callable[[str], str]) -> Iterator[IngestEngine]:
    url = make_database("partial")
    app = build_application(settings, url)
    yield IngestEngine(app)
    app.close()


def apply(engine: IngestEngine, system: str, entity: str, data: dict[str, Any], **kw: Any) -> UUID:
    [outcome] = engine.process([incoming(system, entity, data, **kw)])
    assert outcome.outcome == "applied", outcome
    [aggregate_id] = outcome.canonical_ids
    return aggregate_id


def setup_work(engine: IngestEngine) -> None:
    apply(
        engine,
        "odoo",
        "client",
        {"id": "7", "legal_name": "Azure Interior", "country": "BE", "billing_currency": "EUR"},
        source_type="res.partner",
    )
    apply(
        engine,
        "odoo",
        "engagement",
        {
            "id": "41",
            "client": ref("res.partner", "7"),
            "name": "ERP rollout",
            "currency": "EUR",
            "code": "AZ-41",
            "status": "active",
        },
        source_type="project.project",
    )
    apply(
        engine,
        "odoo",
        "resource",
        {"id": "53", "name": "Camille Martin", "email": "camille@firm.example"},
        source_type="hr.employee",
    )


def test_a_milestone_deadline_reported_as_null_is_cleared_and_left_out_is_kept(
    engine: IngestEngine,
) -> None:
    setup_work(engine)
    apply(
        engine,
        "odoo",
        "contract",
        {
            "id": "C-41",
            "engagement": ref("project.project", "41"),
            "type": "fixed_fee",
            "currency": "EUR",
            "value": money("9000.00", "EUR"),
        },
        source_type="sale.order",
    )
    base = {"id": "12", "engagement": ref("project.project", "41"), "name": "Go-live"}
    milestone_id = apply(
        engine,
        "odoo",
        "milestone",
        {**base, "amount": money("9000.00", "EUR"), "due_date": "2026-06-30", "share": "0.4"},
        source_type="project.milestone",
        seq=1,
    )
    # A change that does not report the deadline or the share keeps them.
    apply(
        engine,
        "odoo",
        "milestone",
        {"id": "12", "name": "Go live"},
        seq=2,
        source_type="project.milestone",
    )
    milestone = engine.app.get(milestone_id, Milestone)
    assert (str(milestone.due_date), milestone.share, milestone.name) == (
        "2026-06-30",
        Decimal("0.4"),
        "Go live",
    )
    # Null clears an optional field; null on the name (required) keeps it.
    apply(
        engine,
        "odoo",
        "milestone",
        {"id": "12", "due_date": None, "share": None, "name": None},
        seq=3,
        source_type="project.milestone",
    )
    milestone = engine.app.get(milestone_id, Milestone)
    assert (milestone.due_date, milestone.share, milestone.name) == (None, None, "Go live")


def test_a_time_entrys_descriptive_fields_follow_the_same_rules(engine: IngestEngine) -> None:
    setup_work(engine)
    entry = {
        "id": "88012",
        "engagement": ref("project.project", "41"),
        "resource": ref("hr.employee", "53"),
        "work_date": "2026-03-10",
        "hours": "6",
        "status": "approved",
        "task_ref": {"type": "project.task", "id": "907"},
        "locked_reason": "Validated",
        "cost": money("312.00", "EUR"),
    }
    entry_id = apply(
        engine, "odoo", "time_entry", entry, source_type="account.analytic.line", seq=1
    )
    apply(
        engine,
        "odoo",
        "time_entry",
        {"id": "88012", "hours": None, "locked_reason": None},
        source_type="account.analytic.line",
        seq=2,
    )
    stored = engine.app.get(entry_id, TimeEntry)
    assert (stored.hours, stored.locked_reason) == (6, None)
    assert stored.task_ref is not None and stored.task_ref.id == "907"
    assert stored.task_ref.system == "odoo"  # the change's own system and tenant
    assert stored.cost is not None and str(stored.cost.amount) == "312.00"


def test_an_expense_receipt_null_clears_it_and_its_size(engine: IngestEngine) -> None:
    setup_work(engine)
    expense = {
        "id": "E-1",
        "engagement": ref("project.project", "41"),
        "resource": ref("hr.employee", "53"),
        "spent_date": "2026-03-10",
        "amount": money("63.00", "EUR"),
        "category": "Mileage",
        "units": "150",
        "unit_price": money("0.42", "EUR"),
        "unit_name": "km",
        "receipt": {"uri": "https://files.example/r/1.pdf", "file_size": 48213},
    }
    expense_id = apply(engine, "odoo", "expense", expense, source_type="hr.expense", seq=1)
    stored = engine.app.get(expense_id, Expense)
    assert (stored.receipt_size_bytes, stored.unit_name) == (48213, "km")
    apply(
        engine,
        "odoo",
        "expense",
        {"id": "E-1", "receipt": None, "category": None},
        source_type="hr.expense",
        seq=2,
    )
    stored = engine.app.get(expense_id, Expense)
    assert (stored.receipt, stored.receipt_size_bytes, stored.category) == (None, None, "Mileage")
    assert stored.unit_name == "km"


def test_a_draft_invoices_due_date_clears_and_an_issued_ones_figures_stay_fixed(
    engine: IngestEngine,
) -> None:
    setup_work(engine)
    draft = {
        "id": "INV-9",
        "kind": "invoice",
        "client": ref("res.partner", "7"),
        "currency": "EUR",
        "status": "draft",
        "due_date": "2026-04-30",
        "reported_tax": money("21.00", "EUR"),
        "lines": [{"description": "Audit", "quantity": "1", "unit_price": "100"}],
    }
    invoice_id = apply(engine, "xero", "invoice", draft, source_type="Invoice", seq=1)
    apply(
        engine, "xero", "invoice", {"id": "INV-9", "due_date": None}, source_type="Invoice", seq=2
    )
    assert engine.app.get(invoice_id, Invoice).due_date is None
    apply(
        engine,
        "xero",
        "invoice",
        {"id": "INV-9", "status": "issued", "number": "INV-9", "issue_date": "2026-04-01"},
        source_type="Invoice",
        seq=3,
    )
    [refused] = engine.process(
        [
            incoming(
                "xero",
                "invoice",
                {"id": "INV-9", "reported_tax": money("20.00", "EUR")},
                source_type="Invoice",
                seq=4,
            )
        ]
    )
    assert (refused.outcome, refused.reason) == ("rejected", "RULE_VIOLATION")
    assert "issued_immutable" in refused.detail
    apply(
        engine,
        "xero",
        "invoice",
        {"id": "INV-9", "source_status": "AUTHORISED"},
        source_type="Invoice",
        seq=5,
    )
    assert engine.app.get(invoice_id, Invoice).source_status == "AUTHORISED"


def test_a_knowledge_asset_detail_left_out_is_kept_and_null_clears(engine: IngestEngine) -> None:
    data = {
        "id": "491520013",
        "title": "Lessons learned",
        "kind": "page",
        "uri": "https://acme.atlassian.net/wiki/spaces/PMO/pages/491520013",
        "space_key": "PMO",
        "parent_id": "491520001",
        "author": {"type": "user", "id": "557058:aa11", "name": "Ana"},
    }
    asset_id = apply(engine, "confluence", "knowledge_asset", data, source_type="page", seq=1)
    apply(
        engine,
        "confluence",
        "knowledge_asset",
        {"id": "491520013", "parent_id": None, "author": {"type": "user", "id": "557058:aa11"}},
        source_type="page",
        seq=2,
    )
    asset = engine.app.get(asset_id, KnowledgeAsset)
    assert (asset.space_key, asset.parent_id) == ("PMO", None)
    # The person reported again without a name keeps the name the hub has.
    assert (asset.author.id, asset.author_name) == ("557058:aa11", "Ana")
