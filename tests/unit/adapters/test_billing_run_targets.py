"""QuickBooks and Xero when billing runs invoice (PSHUB_BILLING_INVOICES=runs): a run's draft
is one invoice of all its lines, a billing-ready milestone a notice, and nothing else bills."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from adapters.billable import invoices_mode
from adapters.quickbooks.feed import QuickBooksTarget
from adapters.xero.feed import XeroTarget
from tests.support import golden as r
from tests.support.golden import xref

TARGETS = [
    QuickBooksTarget(tenant="9130", invoices="runs"),
    XeroTarget(tenant="t", invoices="runs"),
]
IDS = ["quickbooks", "xero"]


def _line(description: str, quantity: str, price: str, net: str) -> dict[str, Any]:
    return {
        "description": description, "quantity": quantity, "unit_price": price, "tax_rate": "0",
        "net": {"amount": net, "currency": "GBP"}, "tax": {"amount": "0.00", "currency": "GBP"},
        "time_entry_ids": [str(uuid4())], "expense_ids": [], "milestone_id": None,
        "service_date": "2026-03-02",
    }  # fmt: skip


def run_draft(**fields: Any) -> dict[str, Any]:
    lines = [
        _line("Analysis", "6", "125.00", "750.00"),
        _line("Written down", "1", "-250.00", "-250.00"),
    ]
    total = {"amount": "500.00", "currency": "GBP"}
    record = {
        "kind": "invoice",
        "client_id": str(uuid4()),
        "engagement_id": str(uuid4()),
        "currency": "GBP",
        "status": "draft",
        "reference": "NW-007 2026-03-01",
        "lines": lines,
        "subtotal": total,
        "tax_total": {"amount": "0.00", "currency": "GBP"},
        "total": total,
        "open_balance": total,
        "xrefs": [xref("pshub", "BillingRun", f"{uuid4()}/GBP")],
    }
    return r.golden("invoice", **{**record, **fields})


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_a_run_draft_is_one_invoice_of_all_its_lines(target: Any) -> None:
    [item] = target.items("invoice", run_draft())
    assert (item.entity, item.key, item.notice) == ("invoice_draft", "draft", False)
    lines = item.payload.get("Line") or item.payload.get("LineItems")
    assert len(lines) == 2
    # QuickBooks carries the amount; Xero computes quantity x unit amount.
    amounts = [
        Decimal(x["Amount"]) if "Amount" in x else Decimal(x["Quantity"]) * Decimal(x["UnitAmount"])
        for x in lines
    ]
    assert amounts == [Decimal("750.00"), Decimal("-250.00")]


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_only_a_run_draft_still_in_draft_is_sent(target: Any) -> None:
    assert target.items("invoice", run_draft(status="issued")) == []
    assert target.items("invoice", {**run_draft(), "xrefs": [xref("xero", "Invoice", "X1")]}) == []


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_items_bill_nothing_on_their_own_and_billing_ready_is_a_notice(target: Any) -> None:
    engagement = str(uuid4())
    assert target.items("time_entry", r.time_entry(engagement)) == []
    assert target.items("expense", r.expense(engagement)) == []
    [notice] = target.items("milestone", r.milestone(engagement))
    assert (notice.entity, notice.notice, notice.target_id) == ("billing_ready", True, None)
    assert notice.payload["BillingReady"]["engagement_id"] == engagement
    assert target.items("milestone", r.milestone(engagement, status="accepted")) == []


def test_items_mode_sends_no_run_draft_and_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PSHUB_BILLING_INVOICES", raising=False)
    assert invoices_mode() == "items"
    for target in (QuickBooksTarget(), XeroTarget()):
        assert target.items("invoice", run_draft()) == []
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")
    assert invoices_mode() == "runs" and len(XeroTarget().items("invoice", run_draft())) == 1


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_a_withdrawn_run_draft_is_deleted_where_the_target_holds_it(target: Any) -> None:
    system = target.name
    tenant = "9130" if system == "quickbooks" else "t"
    held = run_draft(deleted=True)
    held["xrefs"] = [*held["xrefs"], xref(system, "Invoice", "X1", tenant=tenant)]
    [item] = target.items("invoice", held)
    assert (item.entity, item.key, item.notice, item.target_id) == (
        "invoice_draft", "draft", False, "X1",
    )  # fmt: skip
    assert item.payload == (
        {"operation": "delete"} if system == "quickbooks" else {"Status": "DELETED"}
    )


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_a_withdrawn_run_draft_not_known_there_is_a_notice_in_its_place(target: Any) -> None:
    record = run_draft(deleted=True)
    [item] = target.items("invoice", record)
    # The same key as the draft's item: it replaces a pending draft, which is then never sent.
    assert (item.entity, item.key, item.notice, item.target_id) == (
        "invoice_draft", "draft", True, None,
    )  # fmt: skip
    assert item.payload["Withdrawn"]["invoice_id"] == str(record["id"])
    # A deleted invoice that is no run's draft: nothing.
    assert target.items("invoice", {**record, "xrefs": []}) == []
