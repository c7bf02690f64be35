"""Which golden records a billing target invoices, and what one line bills (pure).

QuickBooks and Xero take the same billable items (DOMAIN 3.4-3.6): approved, billable time
entries and expenses no invoice has billed yet, and billing-ready milestones. Each is one line,
in its own currency (the entry's rate, the receipt's, the milestone's amount); lines are never
added together, and a line whose currency is not its invoice's customer's is refused by the
writer (or the target), never converted.

A line names its engagement's document by placeholder (`ref`), which the feed's delivery
replaces with the id the target holds that record under, once it has been delivered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from uuid import UUID

# The contract's own ISO 4217 table (adapters reach the domain only through hub.contracts).
from hub.contracts.common import DomainError, currency_exponent
from hub.contracts.feeds import target_ref

BILLABLE = frozenset({"time_entry", "expense", "milestone"})
# Engagements a billing target opens documents for: won work, not pipeline or lost deals.
BILLED_ENGAGEMENTS = frozenset({"won", "active", "on_hold", "closed"})


def ref(canonical_id: UUID | str, type_: str) -> Any:
    """Another record's id in the target, resolved at delivery (hub.contracts.feeds)."""
    return target_ref(canonical_id, type_)


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


def line(entity: str, record: Mapping[str, Any]) -> Line | None:
    """The line a billable record bills, or None when it is not billable now or cannot be
    priced (a time entry carries no rate of its own)."""
    if entity not in BILLABLE or record.get("deleted"):
        return None
    if record.get("invoice_id") or record.get("credit_note_required"):
        return None
    if entity == "time_entry":
        found = _time(record)
    elif entity == "expense":
        found = _expense(record)
    else:
        found = _milestone(record)
    if found is None:
        return None
    description, quantity, price, service_date = found
    currency = str(price["currency"])
    unit_price = Decimal(price["amount"])
    try:
        exponent = currency_exponent(currency)
    except DomainError:  # not an active ISO 4217 code: nothing an invoice can carry
        return None
    with localcontext() as exact:
        exact.prec = 60  # the product is exact; the half-up rounding is the only one
        amount = (quantity * unit_price).quantize(Decimal(1).scaleb(-exponent), ROUND_HALF_UP)
    if amount <= 0:
        return None
    # The record's short reference ends the text, so a writer can tell its own line apart.
    return Line(
        f"{description} {line_ref(record)}", quantity, unit_price, amount, currency, service_date
    )


def line_ref(record: Mapping[str, Any]) -> str:
    """The reference a record's line text ends with."""
    return f"(ref {str(record['id'])[:8]})"


_Found = tuple[str, Decimal, Mapping[str, Any], date | None]


def _time(record: Mapping[str, Any]) -> _Found | None:
    if record.get("status") != "approved" or not record.get("billable"):
        return None
    if record.get("is_running"):  # a running timer is provisional until it stops
        return None
    # The rate in force when the work was recorded, as the source priced it.
    rate = record.get("source_rate")
    if not rate:
        return None
    # Invoices use the billing quantity where the source rounds it (DOMAIN 3.4).
    hours = Decimal(str(record.get("billing_hours") or record["hours"]))
    task = record.get("task") or "Time"
    work_date = date.fromisoformat(record["work_date"])
    return f"{task} {work_date.isoformat()}, {hours} h", hours, rate, work_date


def _expense(record: Mapping[str, Any]) -> _Found | None:
    if record.get("status") != "approved" or not record.get("billable"):
        return None
    spent = date.fromisoformat(record["spent_date"])
    text = f"Expense: {record.get('category') or 'other'} {spent.isoformat()}"
    return text, Decimal(1), record["amount"], spent


def _milestone(record: Mapping[str, Any]) -> _Found | None:
    if record.get("status") != "billing_ready" or record.get("dispute"):
        return None
    accepted = record.get("accepted_on")
    service_date = date.fromisoformat(accepted) if accepted else None
    text = f"Milestone: {record.get('name') or ''}".strip()
    return text, Decimal(1), record["amount"], service_date


def canonical_id(record: Mapping[str, Any]) -> UUID:
    """The record's canonical id."""
    return UUID(str(record["id"]))


# Billing runs (hub/billing/run.py) -------------------------------------------------------
# PSHUB_BILLING_INVOICES says what a billing target invoices: `items` (each billable item on
# its own line, as soon as it is billable) or `runs` (only the drafts billing runs record,
# each delivered once as one invoice of all its lines). Never both: an item would be billed
# twice. Read at each mapping, so a hub started with it set follows it.
INVOICES_SETTING = "PSHUB_BILLING_INVOICES"
RUN_SYSTEM, RUN_TYPE = "pshub", "BillingRun"
# The entity a run's draft is on the feed: feed.<target>.invoice_draft.
DRAFT_ENTITY = "invoice_draft"


def invoices_mode(configured: str | None = None) -> str:
    """`runs` or `items` (the default): the constructor's choice, else the setting."""
    chosen = (configured or os.environ.get(INVOICES_SETTING, "") or "items").strip().lower()
    return "runs" if chosen == "runs" else "items"


def run_draft_lines(record: Mapping[str, Any]) -> list[Line] | None:
    """A billing run's draft as lines, or None when the record is no run draft still to be
    sent (an invoice from a billing system, an issued or deleted one, an empty one)."""
    if record.get("deleted") or record.get("status") != "draft":
        return None
    if not any(
        x.get("system") == RUN_SYSTEM and x.get("type") == RUN_TYPE
        for x in record.get("xrefs") or ()
    ):
        return None
    lines = []
    for raw in record.get("lines") or ():
        net = raw["net"]
        served = raw.get("service_date")
        lines.append(
            Line(
                raw["description"],
                Decimal(str(raw["quantity"])),
                Decimal(str(raw["unit_price"])),
                Decimal(str(net["amount"])),
                str(net["currency"]),
                date.fromisoformat(served) if served else None,
            )
        )
    return lines or None


def withdrawn_run_draft(record: Mapping[str, Any]) -> bool:
    """Whether the record is a billing run's draft the hub withdrew (deleted: every item it
    billed was corrected away), which a target that holds it must withdraw too."""
    return bool(record.get("deleted")) and any(
        x.get("system") == RUN_SYSTEM and x.get("type") == RUN_TYPE
        for x in record.get("xrefs") or ()
    )


def withdrawal_notice(record: Mapping[str, Any]) -> dict[str, Any]:
    """A withdrawn run draft the target is not known to hold, as a notice: it takes the place
    of the draft's pending item in the outbox (same key), so a draft never delivered is never
    sent; were it delivered after all, its acknowledgement maps the record again, and the
    target's own withdrawal (a payload unlike this one) goes out."""
    return {
        "Withdrawn": {
            "invoice_id": str(record["id"]),
            "engagement_id": str(record.get("engagement_id") or "") or None,
            "currency": record.get("currency"),
        }
    }


# Invoices a billing migration carried over (Invoice.carry_over) ---------------------------
# The entity such an invoice is on the feed: feed.<target>.invoice_carried. It is acknowledged
# as the Invoice it is, like a run's draft, so what the target reports of it comes back to it.
CARRIED_ENTITY = "invoice_carried"


@dataclass(frozen=True)
class Carried:
    """An open invoice a billing migration carried to a target: the balance left to collect,
    under the invoice's number. Its figures are those of the carry-over, so what is paid
    afterwards changes nothing the target is given."""

    client_id: str
    number: str
    amount: str
    currency: str
    issued: str | None
    due: str | None  # the issue date when the invoice names none
    source: str  # the system it was carried from

    @property
    def description(self) -> str:
        return f"Open balance of {self.source} invoice {self.number} of {self.issued}"


def carried(record: Mapping[str, Any]) -> Carried | None:
    """The carried-over invoice as its target is to hold it, or None when the record lacks
    what that takes (a balance, a client, a number)."""
    balance, client_id, number = (
        record.get("carried_balance"),
        record.get("client_id"),
        record.get("number"),
    )
    if not balance or not client_id or not number:
        return None
    issued = record.get("issue_date")
    return Carried(
        client_id=str(client_id),
        number=str(number),
        amount=str(balance["amount"]),
        currency=str(balance["currency"]),
        issued=issued,
        due=record.get("due_date") or issued,
        source=str(record.get("carried_from") or "the previous system"),
    )


# A payment into the system a carried invoice came from, made after the carry-over (the
# customer paid the old remittance details): the system carried to is given it as a payment
# on its copy, so that it stops asking for that money. feed.<target>.payment_carried.
CARRIED_PAYMENT_ENTITY = "payment_carried"
# How such a payment's reference starts where the target holds it: what that target reports
# paid on its copy, less these, is what it was paid itself (adapters/<target>/mapping.py).
CARRIED_PAYMENT_MARK = "pshub:"


@dataclass(frozen=True)
class PaidElsewhere:
    """A payment into the system carried from, after the carry-over."""

    index: int  # its place among the invoice's payments: stable, so the item's key
    amount: str
    currency: str
    paid_on: str
    reference: str  # where the target holds it: CARRIED_PAYMENT_MARK, system, source reference


def paid_elsewhere(record: Mapping[str, Any]) -> list[PaidElsewhere]:
    """The payments into the system the invoice was carried from since it was carried."""
    source = record.get("carried_from")
    if not record.get("carried_to") or not source:
        return []
    payments = record.get("payments") or []
    start = int(record.get("carried_payments") or 0)
    return [
        PaidElsewhere(
            index=n,
            amount=str(p["amount"]["amount"]),
            currency=str(p["amount"]["currency"]),
            paid_on=str(p["paid_on"]),
            reference=_marked(f"paid into {source} ({p.get('reference') or n})"),
        )
        for n, p in enumerate(payments)
        if n >= start and p.get("system") == source
    ]


def _marked(text: str) -> str:
    return f"{CARRIED_PAYMENT_MARK} {text}"[:255]


def is_paid_elsewhere(reference: str | None) -> bool:
    """Whether a payment a target reports is one the hub gave it (PaidElsewhere)."""
    return str(reference or "").startswith(CARRIED_PAYMENT_MARK)


# The entity a milestone made billing-ready is on the feed: feed.<target>.billing_ready.
READY_ENTITY = "billing_ready"


def billing_ready(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A milestone made billing-ready as a notice for the billing feed's subscribers (the
    billing run that invoices it comes later), or None when it is not billing-ready."""
    if record.get("deleted") or record.get("status") != "billing_ready":
        return None
    if record.get("invoice_id") or record.get("dispute"):
        return None
    return {
        "BillingReady": {
            "milestone_id": str(record["id"]),
            "engagement_id": str(record["engagement_id"]),
            "contract_id": str(record.get("contract_id") or "") or None,
            "name": record.get("name") or "",
            "amount": record["amount"],
            "accepted_on": record.get("accepted_on"),
        }
    }
