"""Harvest v2: what time entries, expenses and invoices report beyond the fields every mapping
needs (pages written from DOMAIN.md 2.2: whole records, decimals as JSON numbers, dates
`YYYY-MM-DD`, instants ISO UTC, times of day in the account's 12 h or 24 h format)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.harvest import ADAPTER
from hub.contracts.adapters import AdapterConfig, AdapterError

ACCOUNT = "2039713"
HOME = AdapterConfig(tenant=ACCOUNT, default_currency="GBP")


def page(collection: str, *items: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            collection: list(items),
            "per_page": 2000,
            "total_pages": 1,
            "total_entries": len(items),
            "next_page": None,
            "previous_page": None,
            "page": 1,
            "links": {"first": f"https://api.harvestapp.com/v2/{collection}?page=1"},
        }
    ).encode()


def data(payload: bytes, config: AdapterConfig = HOME) -> list[dict[str, Any]]:
    """The changes of the listed records (not those of the clients they embed)."""
    events = ADAPTER.map_payload(payload, config=config).events
    return [e.data for e in events if e.type.split(".")[1] != "client"]


def entry(**changes: Any) -> dict[str, Any]:
    item = {
        "id": 2911808101,
        "spent_date": "2026-03-09",
        "user": {"id": 4410201, "name": "Priya Natarajan"},
        "client": {"id": 9821001, "name": "Kobe Steelworks", "currency": "JPY"},
        "project": {"id": 40112001, "name": "Plant audit", "code": "KS-AUD"},
        "task": {"id": 19911, "name": "Fieldwork"},
        "hours": 7.25,
        "hours_without_timer": 1.0,
        "rounded_hours": 7.5,
        "notes": "Line 3 walk-through",
        "is_locked": True,
        "locked_reason": "Item Approved and Locked for this Time Period",
        "is_closed": True,
        "is_billed": False,
        "timer_started_at": None,
        "started_time": "8:45am",
        "ended_time": "4:00pm",
        "is_running": False,
        "invoice": None,
        "external_reference": {
            "id": "KS-118",
            "group_id": "30011",
            "account_id": "7",
            "permalink": "https://ks.atlassian.net/browse/KS-118",
            "service": "atlassian.net",
        },
        "billable": True,
        "budgeted": False,
        "billable_rate": 24000.0,
        "cost_rate": 62.5,
        "created_at": "2026-03-09T07:45:01Z",
        "updated_at": "2026-03-10T09:12:44Z",
    }
    item.update(changes)
    return item


def test_a_time_entry_keeps_its_clock_times_lock_task_reference_and_cost_rate() -> None:
    [change] = data(page("time_entries", entry()))
    assert change["status"] == "approved"
    assert change["billable_rate"] == {"amount": "24000", "currency": "JPY"}
    # Harvest's cost rates have no currency: the account's (configured) home currency.
    assert change["cost_rate"] == {"amount": "62.50", "currency": "GBP"}
    assert (change["started_time"], change["ended_time"]) == ("08:45", "16:00")
    assert change["hours_without_timer"] == "1.0"
    assert (change["is_locked"], change["locked_reason"]) == (
        True,
        "Item Approved and Locked for this Time Period",
    )
    assert change["task_ref"] == {"type": "Task", "id": "19911"}
    assert change["external_reference"] == {
        "id": "KS-118",
        "service": "atlassian.net",
        "group_id": "30011",
        "permalink": "https://ks.atlassian.net/browse/KS-118",
    }
    assert change["budgeted"] is False


def test_a_running_timer_in_24_hour_format_and_no_configured_currency() -> None:
    running = entry(
        is_running=True,
        is_closed=False,
        is_locked=False,
        locked_reason=None,
        started_time="13:05",
        ended_time=None,
        timer_started_at="2026-03-09T04:05:00Z",
        external_reference=None,
    )
    [change] = data(page("time_entries", running), AdapterConfig(tenant=ACCOUNT))
    assert (change["started_time"], change["ended_time"]) == ("13:05", None)
    assert change["timer_started_at"] == "2026-03-09T04:05:00Z"
    assert change["external_reference"] is None
    assert "cost_rate" not in change  # no currency to keep it in


@pytest.mark.parametrize("clock", ["25:00", "13:00pm", "noon", "0:00am"])
def test_a_time_of_day_that_is_not_one_is_refused(clock: str) -> None:
    with pytest.raises(AdapterError) as refused:
        data(page("time_entries", entry(started_time=clock)))
    assert (refused.value.reason, refused.value.field) == ("SCHEMA_VIOLATION", "started_time")


def test_a_mileage_expense_keeps_its_units_unit_price_and_receipt_size() -> None:
    expense = {
        "id": 15370112,
        "client": {"id": 9821001, "name": "Kobe Steelworks", "currency": "EUR"},
        "project": {"id": 40112001, "name": "Plant audit", "code": "KS-AUD"},
        "expense_category": {
            "id": 4197501,
            "name": "Mileage",
            "unit_price": 0.35,
            "unit_name": "kilometer",
        },
        "user": {"id": 4410201, "name": "Priya Natarajan"},
        "receipt": {
            "url": "https://acme.harvestapp.com/expenses/15370112/receipt",
            "file_name": "odometer.jpg",
            "file_size": 88233,
            "content_type": "image/jpeg",
        },
        "invoice": None,
        "notes": "Kobe plant and back",
        "units": 124.0,
        "total_cost": 43.4,
        "billable": True,
        "is_closed": False,
        "is_locked": False,
        "is_billed": False,
        "locked_reason": None,
        "spent_date": "2026-03-09",
        "created_at": "2026-03-09T18:00:00Z",
        "updated_at": "2026-03-09T18:00:00Z",
    }
    [change] = data(page("expenses", expense))
    assert change["amount"] == {"amount": "43.40", "currency": "EUR"}
    assert (change["units"], change["unit_name"]) == ("124.0", "kilometer")
    assert change["unit_price"] == {"amount": "0.35", "currency": "EUR"}
    assert change["receipt"]["file_size"] == 88233
    assert (change["is_locked"], change["locked_reason"]) == (False, None)


def test_an_invoice_keeps_its_po_period_taxes_and_settlement() -> None:
    invoice = {
        "id": 13150877,
        "client": {"id": 9821001, "name": "Kobe Steelworks"},
        "number": "KS-0004",
        "purchase_order": "4500031177",
        "amount": 1100000.0,
        "due_amount": 0.0,
        "tax": 10.0,
        "tax_amount": 100000.0,
        "tax2": None,
        "tax2_amount": 0.0,
        "currency": "JPY",
        "state": "paid",
        "period_start": "2026-02-01",
        "period_end": "2026-02-28",
        "issue_date": "2026-03-02",
        "due_date": "2026-04-01",
        "payment_term": "net 30",
        "sent_at": "2026-03-02T01:00:00Z",
        "paid_at": "2026-03-20T05:30:00Z",
        "paid_date": "2026-03-20",
        "closed_at": None,
        "line_items": [
            {
                "id": 77120001,
                "kind": "Service",
                "description": "Plant audit, February",
                "quantity": 40.0,
                "unit_price": 25000.0,
                "amount": 1000000.0,
                "taxed": True,
                "taxed2": False,
                "project": {"id": 40112001, "name": "Plant audit", "code": "KS-AUD"},
            }
        ],
        "updated_at": "2026-03-20T05:30:01Z",
    }
    [change] = data(page("invoices", invoice))
    jpy = lambda amount: {"amount": amount, "currency": "JPY"}  # noqa: E731
    assert (change["source_status"], change["reference"]) == ("paid", "4500031177")
    assert (change["period_start"], change["period_end"]) == ("2026-02-01", "2026-02-28")
    assert change["reported_tax"] == jpy("100000")
    assert change["amount_remaining"] == jpy("0")
    assert (change["finalized_at"], change["paid_at"]) == (
        "2026-03-02T01:00:00Z",
        "2026-03-20T05:30:00Z",
    )
    assert (change["fully_paid_on"], change["voided_at"]) == ("2026-03-20", None)
    assert change["payment_terms"] == "net 30"
    assert (change["lines"][0]["source_line_id"], change["lines"][0]["item_code"]) == (
        "77120001",
        "Service",
    )
