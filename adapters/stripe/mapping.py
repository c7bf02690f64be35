"""Stripe events -> canonical invoice changes (pure functions).

Amounts are integers in Stripe's minor units, converted with Stripe's own exponent table
(it differs from ISO 4217 for a few currencies) and then written in the ISO exponent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from adapters.refusals import require_id, schema_violation, translate, validate
from adapters.stripe.details import credit_note_details, invoice_details, line_details
from adapters.stripe.payloads import CreditNote, Event, Invoice, LineItem, LineList
from hub.contracts.adapters import (
    AdapterError,
    FetchRequest,
    Mapped,
    change_event,
    message_id,
    utc_sequence,
)
from hub.contracts.changes import ChangeEnvelope, Deletion, InvoiceChange
from hub.contracts.common import Amount, CurrencyCode

SYSTEM = "stripe"

# Stripe sends these without x100 [docs.stripe.com/currencies#zero-decimal]. MGA is 2 in ISO.
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# Three-decimal currencies (the last digit must be 0).
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Special cases: ISK and UGX (0 in ISO), HUF and TWD stay two-decimal in the API for backwards
# compatibility; ISK/UGX amounts come as multiples of 100. Everything else is two-decimal.

INVOICE_EVENTS = frozenset(
    f"invoice.{name}"
    for name in (
        "created",
        "finalized",
        "updated",
        "paid",
        "payment_succeeded",
        "payment_failed",
        "voided",
        "marked_uncollectible",
        "deleted",
    )
)
CREDIT_NOTE_EVENTS = frozenset({"credit_note.created", "credit_note.updated", "credit_note.voided"})

INVOICE_STATUS = {
    "draft": "draft",
    "open": "issued",
    # A write-off that can still be paid: the canonical invoice stays issued.
    "uncollectible": "issued",
    "paid": "paid",
    "void": "void",
}
CREDIT_NOTE_STATUS = {"issued": "issued", "void": "void"}
# Stripe's states move forward only; the rank orders two snapshots taken in the same second.
STATUS_RANK = {"draft": 0, "open": 1, "issued": 1, "uncollectible": 2, "paid": 3, "void": 3}

_AMOUNT: TypeAdapter[Any] = TypeAdapter(Amount)
_CURRENCY: TypeAdapter[str] = TypeAdapter(CurrencyCode)
_RATE_QUANTUM = Decimal("0.0001")


def stripe_exponent(currency: str) -> int:
    """Returns the number of minor-unit digits in Stripe's API amounts for a currency."""
    code = currency.upper()
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def plain(value: Decimal) -> Decimal:
    """Drops trailing fraction zeros without switching to exponent notation."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def money(amount: Decimal, currency: str, field: str) -> dict[str, Any]:
    """Major-unit money in the ISO 4217 exponent; refuses a fraction the currency lacks."""
    try:
        checked = _AMOUNT.validate_python({"amount": plain(amount), "currency": currency})
    except ValidationError as exc:
        raise translate(exc, prefix=field) from exc
    return {"amount": checked.to_money().amount, "currency": currency}


def currency_code(raw: str, field: str) -> str:
    """Stripe's lower-case code, upper-cased and checked against ISO 4217."""
    try:
        return _CURRENCY.validate_python(raw.upper())
    except ValidationError as exc:
        raise translate(exc, prefix=field) from exc


def from_minor(minor: int | Decimal, currency: str, field: str) -> dict[str, Any]:
    return money(Decimal(minor).scaleb(-stripe_exponent(currency)), currency, field)


def instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def calendar_date(epoch: int | None, zone: tzinfo) -> str | None:
    """The calendar date of an epoch instant in the account's time zone."""
    return None if epoch is None else instant(epoch).astimezone(zone).date().isoformat()


def non_negative(minor: int, field: str) -> int:
    if minor < 0:
        raise AdapterError("NEGATIVE_QUANTITY", f"{field} must not be negative", field=field)
    return minor


def _rate(taxes: Iterable[tuple[int, int | None]], net_minor: int) -> Decimal:
    """A tax rate as a fraction, derived from Stripe's per-line tax and taxable amounts."""
    rate = Decimal(0)
    for amount, taxable in taxes:
        base = taxable if taxable else net_minor
        if base:
            rate += abs(Decimal(amount) / Decimal(base))
    return plain(rate.quantize(_RATE_QUANTUM, rounding=ROUND_HALF_UP))


def map_line(line: LineItem, currency: str, field: str, zone: tzinfo = UTC) -> dict[str, Any]:
    """One line with Stripe's own net (after discounts, before exclusive tax) and tax."""
    if line.quantity_decimal is not None:
        quantity = line.quantity_decimal
    else:
        quantity = Decimal(1 if line.quantity is None else line.quantity)
    taxes = [(t.amount, t.taxable_amount) for t in line.taxes]
    taxes += [(t.amount, t.taxable_amount) for t in line.tax_amounts]
    inclusive = sum(t.amount for t in line.taxes if t.tax_behavior == "inclusive")
    inclusive += sum(t.amount for t in line.tax_amounts if t.inclusive)
    # basil's pretax credits include the discounts; older versions only list discounts.
    reductions = line.pretax_credit_amounts or line.discount_amounts
    net_minor = line.amount - sum(r.amount for r in reductions) - inclusive
    tax_minor = sum(amount for amount, _ in taxes)
    unit_minor = next(
        (
            value
            for value in (
                line.pricing.unit_amount_decimal if line.pricing else None,
                line.price.unit_amount_decimal if line.price else None,
                line.unit_amount_decimal,
            )
            if value is not None
        ),
        None,
    )
    if unit_minor is None:
        unit_minor = Decimal(line.amount) / quantity if quantity else Decimal(line.amount)
    return {
        "description": (line.description or "").strip() or line.id or "Invoice line",
        "quantity": quantity,
        "unit_price": plain(Decimal(unit_minor).scaleb(-stripe_exponent(currency))),
        "tax_rate": _rate(taxes, net_minor),
        "net": from_minor(net_minor, currency, f"{field}.amount"),
        "tax": from_minor(tax_minor, currency, f"{field}.taxes"),
        **line_details(line, zone=zone),
    }


def map_lines(
    lines: Iterable[LineItem], currency: str, field: str, zone: tzinfo = UTC
) -> list[dict[str, Any]]:
    return [map_line(line, currency, f"{field}.{n}", zone) for n, line in enumerate(lines)]


def _ref_id(value: str | Mapping[str, Any] | None) -> str | None:
    """An id that Stripe sends either as a string or as an expanded object."""
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) and found else None
    return value or None


def _engagement(metadata: Mapping[str, str | None], key: str) -> dict[str, Any] | None:
    # The hub's engagement code, kept by the firm in Stripe metadata (DOMAIN 3.1).
    code = (metadata.get(key) or "").strip()
    return {"system": "hub", "type": "engagement_code", "id": code} if code else None


def invoice_data(
    invoice: Invoice, *, zone: tzinfo, engagement_key: str, field: str = "data.object"
) -> dict[str, Any]:
    """The canonical invoice change of a Stripe invoice, lines included as present."""
    invoice_id = require_id(invoice.id, f"{field}.id")
    currency = currency_code(invoice.currency, f"{field}.currency")
    status = INVOICE_STATUS.get(invoice.status or "")
    if status is None:
        raise schema_violation(f"unknown invoice status {invoice.status!r}", f"{field}.status")
    issued_at = invoice.effective_at or invoice.status_transitions.finalized_at
    data: dict[str, Any] = {
        "id": invoice_id,
        "kind": "invoice",
        "currency": currency,
        "status": status,
        "total": from_minor(
            non_negative(invoice.total, f"{field}.total"), currency, f"{field}.total"
        ),
        "amount_paid": from_minor(
            non_negative(invoice.amount_paid, f"{field}.amount_paid"),
            currency,
            f"{field}.amount_paid",
        ),
        "lines": map_lines(invoice.lines.data, currency, f"{field}.lines.data", zone),
    }
    data.update(
        invoice_details(invoice, amount=lambda minor: from_minor(minor, currency, field), zone=zone)
    )
    optional = {
        "client": _client(invoice.customer),
        "engagement": _engagement(invoice.metadata, engagement_key),
        "number": invoice.number,
        "issue_date": calendar_date(issued_at, zone),
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if "due_date" in invoice.model_fields_set:
        # A whole object: a null due date (charged automatically) is the invoice's state.
        data["due_date"] = calendar_date(invoice.due_date, zone)
    return data


def credit_note_data(
    note: CreditNote, *, zone: tzinfo, engagement_key: str, field: str = "data.object"
) -> dict[str, Any]:
    """The canonical credit note change of a Stripe credit note."""
    note_id = require_id(note.id, f"{field}.id")
    currency = currency_code(note.currency, f"{field}.currency")
    status = CREDIT_NOTE_STATUS.get(note.status or "")
    if status is None:
        raise schema_violation(f"unknown credit note status {note.status!r}", f"{field}.status")
    original = _ref_id(note.invoice)
    data: dict[str, Any] = {
        "id": note_id,
        "kind": "credit_note",
        "currency": currency,
        "status": status,
        "total": from_minor(non_negative(note.total, f"{field}.total"), currency, f"{field}.total"),
        "lines": map_lines(note.lines.data, currency, f"{field}.lines.data", zone),
        "issue_date": calendar_date(note.effective_at or note.created, zone),
    }
    data.update(credit_note_details(note, amount=lambda minor: from_minor(minor, currency, field)))
    optional = {
        "client": _client(note.customer),
        "engagement": _engagement(note.metadata, engagement_key),
        "number": note.number,
        "original_invoice": {"type": "invoice", "id": original} if original else None,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def _client(customer: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    customer_id = _ref_id(customer)
    return {"type": "customer", "id": customer_id} if customer_id else None


def _invoice_change(data: Mapping[str, Any], field: str) -> InvoiceChange:
    return validate(InvoiceChange, data, prefix=field)


def _sequence(state_epochs: Iterable[int | None], rank: int, event_created: int) -> str:
    # Order by the resource's own state (its latest transition), not by delivery; the event's
    # creation second breaks ties between edits of one state (a draft updated twice).
    latest = max(epoch for epoch in state_epochs if epoch is not None)
    return utc_sequence(instant(latest), rank, event_created)


def map_event(
    event: Event, *, tenant: str, zone: tzinfo, engagement_key: str = "engagement_code"
) -> Mapped:
    """Maps one Stripe event; an event whose lines are paged becomes a FetchRequest."""
    event_id = require_id(event.id, "id")
    tenant = event.account or tenant
    if event.type in INVOICE_EVENTS:
        invoice = validate(Invoice, event.data.object, prefix="data.object")
        transitions = invoice.status_transitions
        epochs = [
            invoice.created,
            transitions.finalized_at,
            transitions.paid_at,
            transitions.voided_at,
            transitions.marked_uncollectible_at,
        ]
        rank = STATUS_RANK.get(invoice.status or "", 0)
        if event.type == "invoice.deleted":
            invoice_id = require_id(invoice.id, "data.object.id")
            deletion = change_event(
                system=SYSTEM,
                entity="invoice",
                source_type="invoice",
                data=Deletion(id=invoice_id),
                tenant=tenant,
                time=instant(event.created),
                sequence=_sequence(epochs, rank, event.created),
                id=message_id(SYSTEM, event_id),
                deleted=True,
            )
            return Mapped(events=[deletion])
        data = invoice_data(invoice, zone=zone, engagement_key=engagement_key)
        lines, source_type, collection = invoice.lines, "invoice", "invoices"
    elif event.type in CREDIT_NOTE_EVENTS:
        note = validate(CreditNote, event.data.object, prefix="data.object")
        epochs = [note.created, note.effective_at, note.voided_at]
        rank = STATUS_RANK.get(note.status or "", 1)
        data = credit_note_data(note, zone=zone, engagement_key=engagement_key)
        lines, source_type, collection = note.lines, "credit_note", "credit_notes"
    else:
        return Mapped(ignored=f"stripe event type {event.type!r} is not mapped")

    sequence = _sequence(epochs, rank, event.created)
    if lines.has_more:
        # Only a first page of lines came: lines replace the whole list and an issued invoice
        # is immutable, so the event waits for the rest (fetch reports it, under this id).
        hint = {
            "event_id": event_id,
            "source_type": source_type,
            "time": instant(event.created).isoformat(),
            "sequence": sequence,
            "api_version": event.api_version,
            "data": _invoice_change(data, "data.object").model_dump(
                mode="json", exclude_unset=True
            ),
            "starting_after": lines.data[-1].id if lines.data else None,
        }
        request = FetchRequest(
            kind=f"{source_type}_lines",
            id=data["id"],
            tenant=tenant,
            url=f"/v1/{collection}/{data['id']}/lines",
            hint=hint,
        )
        return Mapped(fetches=[request])
    envelope = change_event(
        system=SYSTEM,
        entity="invoice",
        source_type=source_type,
        data=_invoice_change(data, "data.object"),
        tenant=tenant,
        time=instant(event.created),
        sequence=sequence,
        id=message_id(SYSTEM, event_id),
    )
    return Mapped(events=[envelope])


def complete_lines(
    request: FetchRequest, pages: Iterable[LineList | Mapping[str, Any]], zone: tzinfo = UTC
) -> ChangeEnvelope:
    """The event a paged-lines FetchRequest stands for, with the lines of every page."""
    hint = request.hint
    try:
        data = dict(hint["data"])
        event_id, source_type = str(hint["event_id"]), str(hint["source_type"])
        time, sequence = datetime.fromisoformat(hint["time"]), str(hint["sequence"])
    except (KeyError, TypeError, ValueError) as exc:
        raise schema_violation(f"fetch request hint is incomplete: {exc}", "hint") from exc
    lines = list(data.get("lines") or [])
    for number, page in enumerate(pages):
        page_list = page if isinstance(page, LineList) else validate(LineList, page, prefix="lines")
        lines += map_lines(page_list.data, data["currency"], f"lines[{number}].data", zone)
    data["lines"] = lines
    return change_event(
        system=SYSTEM,
        entity="invoice",
        source_type=source_type,
        data=_invoice_change(data, "lines"),
        tenant=request.tenant,
        time=time,
        sequence=sequence,
        id=message_id(SYSTEM, event_id),
    )
