"""Which golden records a billing target invoices, and what one line bills (pure).

QuickBooks and Xero take the same billable items (DOMAIN 3.4-3.6): approved, billable time
entries and expenses no invoice has billed yet, and billing-ready milestones. Each becomes one
line in the customer's currency; a line in any other currency is left out rather than
converted, and no amount is ever added to one in another currency.

A line needs more than its own record: the engagement (code, hourly rate) and the client (the
customer's currency and its id in the target). The feed passes them as `related`, named by
RELATED, beside the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.errors import DomainError
from domain.values import currency_exponent, exact_product, round_half_up

# For each billable entity, the golden records a line needs beside it: the engagement its
# engagement_id names, and the client that engagement's client_id names.
RELATED: Mapping[str, tuple[str, ...]] = {
    "time_entry": ("engagement", "client"),
    "expense": ("engagement", "client"),
    "milestone": ("engagement", "client"),
}
BILLABLE = frozenset(RELATED)


@dataclass(frozen=True)
class Line:
    """One billable item as an invoice line: quantity x unit price = amount, in one currency."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded half up to the currency's minor unit
    currency: str
    service_date: date | None


def xref_id(record: Mapping[str, Any], system: str, type_: str, tenant: str = "") -> str | None:
    """The id the system holds the record under (type matched case-insensitively); with a
    tenant, only an xref of that tenant counts, since ids are unique per tenant only."""
    for xref in record.get("xrefs") or ():
        if xref.get("system") != system or str(xref.get("type", "")).lower() != type_.lower():
            continue
        if tenant and xref.get("tenant") not in ("", None, tenant):
            continue
        return str(xref["id"])
    return None


def line(entity: str, record: Mapping[str, Any], related: Mapping[str, Any]) -> Line | None:
    """The line a billable record bills in its customer's currency, or None when it is not
    billable now, cannot be priced, or is priced in another currency than the customer's."""
    engagement = related.get("engagement") or {}
    client = related.get("client") or {}
    currency = client.get("billing_currency") or ""
    if entity not in BILLABLE or record.get("deleted") or client.get("deleted") or not currency:
        return None
    if record.get("invoice_id") or record.get("credit_note_required"):
        return None
    code = engagement.get("code") or ""
    if entity == "time_entry":
        found = _time(record, engagement, code)
    elif entity == "expense":
        found = _expense(record, code)
    else:
        found = _milestone(record, code)
    if found is None or found[2]["currency"] != currency:
        return None
    description, quantity, price, service_date = found
    unit_price = Decimal(price["amount"])
    try:
        exponent = currency_exponent(currency)
    except DomainError:
        return None
    amount = round_half_up(exact_product(quantity, unit_price), exponent)
    if amount <= 0:
        return None
    return Line(description, quantity, unit_price, amount, currency, service_date)


_Found = tuple[str, Decimal, Mapping[str, Any], date | None]


def _time(record: Mapping[str, Any], engagement: Mapping[str, Any], code: str) -> _Found | None:
    if record.get("status") != "approved" or not record.get("billable"):
        return None
    if record.get("is_running"):  # a running timer is provisional until it stops
        return None
    # The entry's own rate at entry time wins; else the engagement's hourly rate.
    rate = record.get("source_rate") or engagement.get("hourly_rate")
    if not rate:
        return None
    # Invoices use the billing quantity where the source rounds it (DOMAIN 3.4).
    hours = Decimal(str(record.get("billing_hours") or record["hours"]))
    task = record.get("task") or "Time"
    work_date = date.fromisoformat(record["work_date"])
    return f"{code} {task} {work_date.isoformat()}".strip(), hours, rate, work_date


def _expense(record: Mapping[str, Any], code: str) -> _Found | None:
    if record.get("status") != "approved" or not record.get("billable"):
        return None
    spent = date.fromisoformat(record["spent_date"])
    text = f"{code} expense: {record.get('category') or 'expense'} {spent.isoformat()}"
    return text.strip(), Decimal(1), record["amount"], spent


def _milestone(record: Mapping[str, Any], code: str) -> _Found | None:
    if record.get("status") != "billing_ready" or record.get("dispute"):
        return None
    accepted = record.get("accepted_on")
    service_date = date.fromisoformat(accepted) if accepted else None
    text = f"{code} milestone: {record.get('name') or ''}"
    return text.strip(), Decimal(1), record["amount"], service_date


def canonical_id(record: Mapping[str, Any]) -> UUID:
    """The record's canonical id."""
    return UUID(str(record["id"]))
