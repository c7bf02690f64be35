"""What Harvest says about time entries, expenses and invoices beyond the fields every
mapping needs. Harvest returns whole records: a field it sends as null (or leaves out) is
reported as null, which clears it.

Not kept: `user_assignment` and `task_assignment` rates (the current assignment's rates, which
must never re-price past entries), `created_at` (the history holds when the hub learnt of a
record), an invoice's `client_key`, `subject` and `notes`, and `discount`/`discount_amount`
(the lines' nets are what is billed).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from adapters.harvest.payloads import Expense, Invoice, TimeEntry
from adapters.refusals import money
from hub.contracts.adapters import AdapterError

# Harvest writes times of day in the account's format: "3:00pm" or "15:00".
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>[0-5]\d)\s*(?P<half>[ap]m)?$", re.IGNORECASE)


def clock_time(text: str | None, field: str) -> str | None:
    """A time of day as HH:MM (24 h)."""
    if text is None or not text.strip():
        return None
    found = _CLOCK.match(text.strip())
    hour = int(found.group("h")) if found else -1
    half = (found.group("half") or "").lower() if found else ""
    if found is None or hour > 23 or (half and not 1 <= hour <= 12):
        raise AdapterError(
            "SCHEMA_VIOLATION", f"{field} {text!r} is not a time of day", field=field
        )
    if half:
        hour = hour % 12 + (12 if half == "pm" else 0)
    return f"{hour:02d}:{found.group('m')}"


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def time_entry_details(entry: TimeEntry, *, cost_currency: str | None) -> dict[str, Any]:
    """How the hours were captured, the lock, the task, and the cost rate.

    The cost rate carries no currency; it is kept in the configured default (home) currency,
    and not at all where none is configured (DOMAIN 4.7).
    """
    reference = entry.external_reference
    found: dict[str, Any] = {
        "hours_without_timer": entry.hours_without_timer,
        "started_time": clock_time(entry.started_time, "started_time"),
        "ended_time": clock_time(entry.ended_time, "ended_time"),
        "timer_started_at": entry.timer_started_at,
        "is_locked": entry.is_locked,
        "locked_reason": _text(entry.locked_reason),
        "task_ref": {"type": "Task", "id": str(entry.task.id)} if entry.task else None,
        "external_reference": None
        if reference is None
        else {
            "id": str(reference.id),
            "service": reference.service or "",
            "group_id": "" if reference.group_id is None else str(reference.group_id),
            "permalink": reference.permalink or "",
        },
        "budgeted": entry.budgeted,
    }
    if cost_currency:
        found["cost_rate"] = (
            None
            if entry.cost_rate is None
            else money(entry.cost_rate, cost_currency, "time entry cost_rate")
        )
    return found


def expense_details(expense: Expense, currency: str) -> dict[str, Any]:
    """Units and the category's unit price and name (a mileage claim), and the lock."""
    category = expense.expense_category
    unit_price = category.unit_price if category else None
    return {
        "units": expense.units,
        "unit_price": None if unit_price is None else money(unit_price, currency, "unit_price"),
        "unit_name": _text(category.unit_name) if category else None,
        "is_locked": expense.is_locked,
        "locked_reason": _text(expense.locked_reason),
    }


def invoice_details(invoice: Invoice, currency: str) -> dict[str, Any]:
    """The state as Harvest names it, the PO, the period billed, taxes and settlement."""
    taxes = [t for t in (invoice.tax_amount, invoice.tax2_amount) if t is not None]
    return {
        "source_status": invoice.state,
        "reference": _text(invoice.purchase_order),
        "payment_terms": _text(invoice.payment_term),
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "reported_tax": money(sum(taxes, Decimal(0)), currency, "tax_amount") if taxes else None,
        "amount_remaining": money(invoice.due_amount, currency, "due_amount"),
        # Harvest opens an invoice when it is sent: that is its issue.
        "finalized_at": invoice.sent_at,
        "paid_at": invoice.paid_at,
        "fully_paid_on": invoice.paid_date,
        # "closed" is Harvest's write-off, mapped to void (see mapping.INVOICE_STATUS).
        "voided_at": invoice.closed_at,
    }
