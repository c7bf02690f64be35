"""What Stripe says about an invoice or credit note beyond its lines and lifecycle.

Stripe sends whole objects, so a key it sends as null is reported as null (cleared); a key
the object lacks (an older API version) is not reported. Amounts are minor units in Stripe's
own exponent; instants are epoch seconds; dates are taken in the account's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from pydantic import BaseModel

from adapters.stripe.payloads import CreditNote, Invoice, LineItem, Pricing

Convert = Callable[[Any], Any]

# Canonical field <- Stripe key, per kind of value.
_TEXT = {
    "collection_method": "collection_method",
    "billing_reason": "billing_reason",
    "customer_name": "customer_name",
    "customer_email": "customer_email",
    "hosted_url": "hosted_invoice_url",
    "pdf_url": "invoice_pdf",
    # The invoice's memo to the customer (Stripe's "description").
    "memo": "description",
}
_AMOUNTS = {
    "reported_subtotal": "subtotal",
    "total_excluding_tax": "total_excluding_tax",
    "amount_due": "amount_due",
    "amount_remaining": "amount_remaining",
    "amount_overpaid": "amount_overpaid",
    "starting_balance": "starting_balance",
    "ending_balance": "ending_balance",
}
_TRANSITIONS = ("finalized_at", "paid_at", "voided_at", "marked_uncollectible_at")


def _reported(obj: BaseModel, fields: Mapping[str, str], convert: Convert) -> dict[str, Any]:
    given = obj.model_fields_set
    return {
        target: None if getattr(obj, key) is None else convert(getattr(obj, key))
        for target, key in fields.items()
        if key in given
    }


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _text(value: str) -> str | None:
    return value.strip() or None


def invoice_details(invoice: Invoice, *, amount: Convert, zone: tzinfo) -> dict[str, Any]:
    """The descriptive fields of an invoice; `amount` turns minor units into money."""
    found: dict[str, Any] = {"source_status": invoice.status}
    found.update(_reported(invoice, _TEXT, _text))
    found.update(_reported(invoice, _AMOUNTS, amount))
    given = invoice.model_fields_set
    # Tax: total_taxes (basil+), else the older tax or total_tax_amounts.
    if "total_taxes" in given and invoice.total_taxes is not None:
        found["reported_tax"] = amount(sum(t.amount for t in invoice.total_taxes))
    elif "tax" in given:
        found["reported_tax"] = None if invoice.tax is None else amount(invoice.tax)
    elif "total_tax_amounts" in given and invoice.total_tax_amounts is not None:
        found["reported_tax"] = amount(sum(t.amount for t in invoice.total_tax_amounts))
    found.update(
        _reported(
            invoice,
            {"period_start": "period_start", "period_end": "period_end"},
            lambda epoch: _instant(epoch).astimezone(zone).date(),
        )
    )
    if "status_transitions" in given:
        found.update(_reported(invoice.status_transitions, {t: t for t in _TRANSITIONS}, _instant))
    return found


def credit_note_details(note: CreditNote, *, amount: Convert) -> dict[str, Any]:
    """The descriptive fields of a credit note."""
    found: dict[str, Any] = {"source_status": note.status}
    found.update(
        _reported(
            note,
            {"credit_reason": "reason", "memo": "memo", "credit_type": "type", "pdf_url": "pdf"},
            _text,
        )
    )
    found.update(
        _reported(
            note,
            {"reported_subtotal": "subtotal", "total_excluding_tax": "total_excluding_tax"},
            amount,
        )
    )
    found.update(_reported(note, {"voided_at": "voided_at"}, _instant))
    return found


def _product(pricing: Pricing | None) -> str:
    if pricing is None:
        return ""
    details = pricing.price_details
    product = (details.product if details else None) or pricing.product
    if isinstance(product, Mapping):
        product = product.get("id")
    price = (details.price if details else None) or pricing.id
    return str(product or price or "")


def line_details(line: LineItem, *, zone: tzinfo) -> dict[str, Any]:
    """A line's id, its product (or price), and the service period it bills."""
    found: dict[str, Any] = {"source_line_id": line.id or ""}
    item = _product(line.pricing) or _product(line.price)
    if item:
        found["item_code"] = item
    period = line.period
    if period is not None and period.start is not None:
        found["period_start"] = _instant(period.start).astimezone(zone).date()
        if period.end is not None:
            found["period_end"] = _instant(period.end).astimezone(zone).date()
    return found
