"""Xero notifications -> fetch requests; Xero invoices and credit notes -> canonical changes.

Pure functions. Amounts are decimals in major units; dates come as `/Date(ms+0000)/`.
Only sales documents are mapped (ACCREC, ACCRECCREDIT); bills are the firm's costs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from adapters.billable import is_paid_elsewhere
from adapters.refusals import (
    not_the_shape,
    require_id,
    schema_violation,
    translate,
    validate,
)
from adapters.xero.details import document_details, line_details
from adapters.xero.payloads import (
    Document,
    LineItem,
    Notification,
    Resources,
    XeroCreditNote,
    XeroInvoice,
)
from hub.contracts.adapters import (
    AdapterError,
    FetchRequest,
    Mapped,
    change_event,
    embedded_event,
    message_id,
    utc_sequence,
)
from hub.contracts.changes import ChangeEnvelope, ClientChange, Deletion, InvoiceChange
from hub.contracts.common import Amount, CurrencyCode

SYSTEM = "xero"

# Notification categories that name an invoice document, and the source type to fetch.
FETCH_KINDS = {"INVOICE": "Invoice", "CREDITNOTE": "CreditNote"}
SALES_TYPES = {"Invoice": "ACCREC", "CreditNote": "ACCRECCREDIT"}
STATUS = {
    "DRAFT": "draft",
    # Awaiting internal approval: not yet issued to the client.
    "SUBMITTED": "draft",
    "AUTHORISED": "issued",
    "PAID": "paid",
    "VOIDED": "void",
}
DELETED = "DELETED"

_AMOUNT: TypeAdapter[Any] = TypeAdapter(Amount)
_CURRENCY: TypeAdapter[str] = TypeAdapter(CurrencyCode)
_RATE_QUANTUM = Decimal("0.0001")
_UNIT_PRICE_DIGITS = 6
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def currency_code(raw: str | None, field: str) -> str:
    if not raw:
        raise schema_violation("the currency code is missing", field)
    try:
        return _CURRENCY.validate_python(raw.upper())
    except ValidationError as exc:
        raise translate(exc, prefix=field) from exc


def non_negative(value: Decimal, field: str) -> Decimal:
    if value < 0:
        raise AdapterError("NEGATIVE_QUANTITY", f"{field} must not be negative", field=field)
    return value


def instant(value: str | None, field: str) -> datetime:
    """An instant from `/Date(ms+0000)/` (or an ISO string, read as UTC when naive)."""
    if not value:
        raise schema_violation(f"{field} is missing", field)
    found = _MS_DATE.match(value.strip())
    if found:
        # The milliseconds are UTC whatever offset follows them.
        try:
            return _EPOCH + timedelta(milliseconds=int(found.group(1)))
        except OverflowError as exc:
            raise schema_violation(f"{field} is out of range: {value!r}", field) from exc
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise schema_violation(f"{field} is not a Xero date: {value!r}", field) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def calendar_date(text: str | None, stamp: str | None, field: str) -> str | None:
    """A document date: `DateString`'s date part, else the UTC date of `/Date(midnight)/`."""
    if text:
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError as exc:
            raise schema_violation(f"{field}String is not a date: {text!r}", field) from exc
    if stamp:
        return instant(stamp, field).date().isoformat()
    return None


def _rate(tax: Decimal, net: Decimal) -> Decimal:
    # Xero gives the tax type, not its rate: derive the fraction from its own line amounts.
    if not net or not tax:
        return Decimal(0)
    return plain(abs(tax / net).quantize(_RATE_QUANTUM, rounding=ROUND_HALF_UP))


def _unit_price(line: LineItem, quantity: Decimal) -> Decimal:
    """The unit price after a line discount when exact to six places, else UnitAmount."""
    unit = line.UnitAmount if line.UnitAmount is not None else Decimal(0)
    if line.DiscountRate:
        effective = unit * (1 - line.DiscountRate / 100)
    elif line.DiscountAmount and quantity:
        effective = unit - line.DiscountAmount / quantity
    else:
        return plain(unit)
    effective = plain(effective)
    exponent = effective.as_tuple().exponent
    fits = isinstance(exponent, int) and -exponent <= _UNIT_PRICE_DIGITS
    return effective if fits else plain(unit)


def map_line(line: LineItem, n: int, *, currency: str, amounts: str, field: str) -> dict[str, Any]:
    """One line with Xero's own net and tax (Inclusive line amounts include the tax)."""
    quantity = plain(line.Quantity) if line.Quantity is not None else Decimal(1)
    tax = line.TaxAmount or Decimal(0)
    data: dict[str, Any] = {
        "description": (line.Description or "").strip() or line.ItemCode or f"Line {n + 1}",
        "quantity": quantity,
        "unit_price": _unit_price(line, quantity),
    }
    if line.LineAmount is not None:
        net = line.LineAmount - tax if amounts == "Inclusive" else line.LineAmount
        data["net"] = money(net, currency, f"{field}.LineAmount")
        data["tax"] = money(tax, currency, f"{field}.TaxAmount")
        data["tax_rate"] = _rate(tax, net)
    data.update(line_details(line))
    return data


def _engagement(document: Document, category: str | None) -> dict[str, Any] | None:
    # The hub's engagement code as a Xero tracking option (DOMAIN 3.1), when every tracked
    # line names the same one; a document spread over engagements names none.
    if not category:
        return None
    options = {
        (tracking.Option or "").strip()
        for line in document.LineItems
        for tracking in line.Tracking
        if (tracking.Name or "").strip().lower() == category.lower()
    } - {""}
    if len(options) != 1:
        return None
    return {"system": "hub", "type": "engagement_code", "id": options.pop()}


def document_data(
    document: XeroInvoice | XeroCreditNote,
    *,
    engagement_category: str | None,
    field: str,
    rate_direction: str = "unverified",
    home_currency: str | None = None,
) -> dict[str, Any]:
    """The canonical change of a Xero invoice or credit note."""
    is_invoice = isinstance(document, XeroInvoice)
    if isinstance(document, XeroInvoice):
        doc_id, number = document.InvoiceID, document.InvoiceNumber
    else:
        doc_id, number = document.CreditNoteID, document.CreditNoteNumber
    status = STATUS.get((document.Status or "").upper())
    if status is None:
        raise schema_violation(f"unknown status {document.Status!r}", f"{field}.Status")
    currency = currency_code(document.CurrencyCode, f"{field}.CurrencyCode")
    amounts = document.LineAmountTypes or "Exclusive"
    data: dict[str, Any] = {
        "id": require_id(doc_id, f"{field}.{'InvoiceID' if is_invoice else 'CreditNoteID'}"),
        "kind": "invoice" if is_invoice else "credit_note",
        "currency": currency,
        "status": status,
        "lines": [
            map_line(line, n, currency=currency, amounts=amounts, field=f"{field}.LineItems.{n}")
            for n, line in enumerate(document.LineItems)
        ],
    }
    if document.Total is not None:
        total = non_negative(document.Total, f"{field}.Total")
        data["total"] = money(total, currency, f"{field}.Total")
    if isinstance(document, XeroInvoice) and document.AmountPaid is not None:
        paid = non_negative(document.AmountPaid, f"{field}.AmountPaid")
        # Less the payments the hub gave Xero for money paid into the system an invoice was
        # carried from (adapters/billable.py PaidElsewhere): Xero reports what it was paid.
        given = sum(
            (p.Amount or Decimal(0) for p in document.Payments if is_paid_elsewhere(p.Reference)),
            Decimal(0),
        )
        data["amount_paid"] = money(max(paid - given, Decimal(0)), currency, f"{field}.AmountPaid")
    if isinstance(document, XeroCreditNote):
        originals = [
            a.Invoice.InvoiceID for a in document.Allocations if a.Invoice and a.Invoice.InvoiceID
        ]
        if originals:
            data["original_invoice"] = {"type": "Invoice", "id": originals[0]}
    contact = document.Contact.ContactID if document.Contact else None
    issue_date = calendar_date(document.DateString, document.Date, f"{field}.Date")
    optional = {
        "client": {"type": "Contact", "id": contact} if contact else None,
        "engagement": _engagement(document, engagement_category),
        "number": number or None,
        "issue_date": issue_date,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if {"DueDate", "DueDateString"} & document.model_fields_set:
        data["due_date"] = calendar_date(
            document.DueDateString, document.DueDate, f"{field}.DueDate"
        )
    data.update(
        document_details(
            document,
            money=lambda amount, where: money(non_negative(amount, where), currency, where),
            day=calendar_date,
            issue_date=issue_date,
            rate_direction=rate_direction,
            home_currency=home_currency,
            field=field,
        )
    )
    return data


def map_document(
    document: XeroInvoice | XeroCreditNote,
    *,
    tenant: str,
    engagement_category: str | None,
    field: str,
    **options: Any,
) -> ChangeEnvelope:
    """One fetched (or posted) document as a change or, when DELETED, a deletion."""
    source_type = "Invoice" if isinstance(document, XeroInvoice) else "CreditNote"
    id_field = "InvoiceID" if source_type == "Invoice" else "CreditNoteID"
    doc_id = require_id(getattr(document, id_field), f"{field}.{id_field}")
    updated = instant(document.UpdatedDateUTC, f"{field}.UpdatedDateUTC")
    common = {
        "system": SYSTEM,
        "entity": "invoice",
        "source_type": source_type,
        "tenant": tenant,
        "time": updated,
        "sequence": utc_sequence(updated),
        "id": message_id(SYSTEM, doc_id, updated.isoformat()),
    }
    if (document.Status or "").upper() == DELETED:
        return change_event(data=Deletion(id=doc_id), deleted=True, **common)
    data = document_data(document, engagement_category=engagement_category, field=field, **options)
    return change_event(data=validate(InvoiceChange, data, prefix=field), **common)


def map_resources(
    resources: Resources,
    *,
    tenant: str,
    engagement_category: str | None = None,
    rate_direction: str = "unverified",
    home_currency: str | None = None,
) -> Mapped:
    """Every sales invoice and credit note of an API response; bills are ignored."""
    documents: list[tuple[str, XeroInvoice | XeroCreditNote]] = [
        (f"Invoices.{n}", doc) for n, doc in enumerate(resources.Invoices or [])
    ]
    documents += [(f"CreditNotes.{n}", doc) for n, doc in enumerate(resources.CreditNotes or [])]
    if not documents:
        raise schema_violation("no Invoices or CreditNotes in the body", "Invoices")
    events = []
    for field, document in documents:
        kind = "Invoice" if isinstance(document, XeroInvoice) else "CreditNote"
        if (document.Type or "").upper() != SALES_TYPES[kind]:
            continue
        events.append(
            map_document(
                document,
                tenant=tenant,
                engagement_category=engagement_category,
                field=field,
                rate_direction=rate_direction,
                home_currency=home_currency,
            )
        )
        # After the document: the engagement it names explicitly decides whose contact it
        # is, before what it says of the contact can become a client of its own.
        events.extend(_embedded_contact(document, tenant, field))
    if not events:
        return Mapped(ignored="only purchase documents (ACCPAY bills), which are not mapped")
    return Mapped(events=events)


def _embedded_contact(
    document: XeroInvoice | XeroCreditNote, tenant: str, field: str
) -> list[ChangeEnvelope]:
    """A document's Contact (ContactID, Name) as a change of that client too: what the
    document says of it, ranked below any change of the contact itself."""
    contact = document.Contact
    if contact is None or not contact.ContactID or not (contact.Name or "").strip():
        return []
    data = validate(
        ClientChange,
        {"id": contact.ContactID, "legal_name": contact.Name.strip()},
        prefix=f"{field}.Contact",
    )
    updated = instant(document.UpdatedDateUTC, f"{field}.UpdatedDateUTC")
    return [
        embedded_event(
            system=SYSTEM,
            entity="client",
            source_type="Contact",
            data=data,
            tenant=tenant,
            time=updated,
        )
    ]


def map_notification(notification: Notification, *, tenant: str) -> Mapped:
    """A key-only webhook: one FetchRequest per invoice or credit note it names."""
    if not notification.events:
        return Mapped(ignored="intent to receive: a webhook validation request")
    requests: dict[tuple[str, str, str], dict[str, Any]] = {}
    for n, event in enumerate(notification.events):
        kind = FETCH_KINDS.get((event.eventCategory or "").upper())
        if kind is None:
            continue
        resource_id = require_id(event.resourceId, f"events.{n}.resourceId")
        event_tenant = event.tenantId or tenant
        # Xero events carry no id: this tuple is the delivery's dedupe key (DOMAIN 2.14).
        notification_id = message_id(
            SYSTEM,
            event.tenantId or "",
            event.eventCategory,
            resource_id,
            event.eventType,
            event.eventDateUtc,
        )
        # Several events for one document in a batch: its current state is fetched once.
        entry = requests.setdefault(
            (event_tenant, kind, resource_id), {"notification_ids": [], "event_types": []}
        )
        entry["notification_ids"].append(notification_id)
        entry["event_types"].append(event.eventType)
    if not requests:
        return Mapped(ignored="no invoice or credit note events")
    return Mapped(
        fetches=[
            FetchRequest(kind=kind, id=resource_id, tenant=event_tenant, hint=hint)
            for (event_tenant, kind, resource_id), hint in requests.items()
        ]
    )


def parse_body(data: Any) -> Notification | Resources:
    """Tells the webhook body from a posted API response."""
    if isinstance(data, Mapping) and "events" in data:
        notification = validate(Notification, data)
        for n, event in enumerate(notification.events):
            # Every Xero event names what changed and how; an event without them is no event.
            for name in ("eventCategory", "eventType"):
                if not getattr(event, name):
                    raise AdapterError(
                        "SCHEMA_VIOLATION",
                        f"events.{n}.{name} is missing",
                        field=f"events.{n}.{name}",
                        rule="missing",
                    )
            require_id(event.resourceId, f"events.{n}.resourceId")
        return notification
    if isinstance(data, Mapping) and ("Invoices" in data or "CreditNotes" in data):
        return validate(Resources, data)
    raise not_the_shape("a Xero webhook body (events) or an Invoices/CreditNotes response", data)
