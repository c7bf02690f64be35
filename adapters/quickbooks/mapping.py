"""QuickBooks Online notifications -> fetches (or deletions); invoices -> canonical changes.

Pure functions. QBO has no invoice status: it is derived from TotalAmt and Balance (DOMAIN
3.8). Tax is kept per document (TxnTaxDetail): its TotalTax is spread over the taxable lines
in proportion to their net, to the minor unit, so the lines add up to QBO's own total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from adapters.quickbooks.details import invoice_details, line_details
from adapters.quickbooks.payloads import (
    CloudEvent,
    InvoiceResponse,
    LegacyBody,
    QboInvoice,
    QboLine,
)
from adapters.refusals import (
    not_the_shape,
    require_id,
    schema_violation,
    translate,
    validate,
)
from hub.contracts.adapters import (
    AdapterError,
    FetchRequest,
    Mapped,
    change_event,
    embedded_event,
    message_id,
)
from hub.contracts.changes import ChangeEnvelope, ClientChange, Deletion, InvoiceChange
from hub.contracts.common import Amount, CurrencyCode

SYSTEM = "quickbooks"
SOURCE_TYPE = "Invoice"
# A deletion is final in QBO: it orders after every SyncToken (20 zero-padded digits).
DELETED_SEQUENCE = "9" * 20
NON_TAXABLE = "NON"

# Operations, in CloudEvents (`qbo.invoice.<op>.v1`) and legacy spellings.
DELETE_OPS = frozenset({"deleted", "delete"})
VOID_OPS = frozenset({"voided", "void"})

_AMOUNT: TypeAdapter[Any] = TypeAdapter(Amount)
_CURRENCY: TypeAdapter[str] = TypeAdapter(CurrencyCode)


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


def exponent(currency: str) -> int:
    """The ISO 4217 minor-unit digits of a (checked) currency."""
    digits = money(Decimal(0), currency, "currency")["amount"].as_tuple().exponent
    return -digits if isinstance(digits, int) else 0


def currency_code(raw: str | None, field: str) -> str:
    if not raw:
        raise schema_violation("the currency is missing", field)
    try:
        return _CURRENCY.validate_python(raw.upper())
    except ValidationError as exc:
        raise translate(exc, prefix=field) from exc


def non_negative(value: Decimal, field: str) -> Decimal:
    if value < 0:
        raise AdapterError("NEGATIVE_QUANTITY", f"{field} must not be negative", field=field)
    return value


def instant(value: str | None, field: str) -> datetime:
    """An offset datetime (`2025-04-23T10:35:08-07:00`, legacy `-0700`) as UTC."""
    if not value:
        raise schema_violation(f"{field} is missing", field)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise schema_violation(f"{field} is not a datetime: {value!r}", field) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def calendar_date(value: str | None, field: str) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as exc:
        raise schema_violation(f"{field} is not a date: {value!r}", field) from exc


def sync_sequence(sync_token: str | None, field: str) -> str:
    """SyncToken, QBO's version counter, zero-padded so that it compares as text."""
    token = (sync_token or "").strip()
    if not token.isdigit() or len(token) > 19 or not token.isascii():
        raise schema_violation(f"{field} is not a version number: {sync_token!r}", field)
    return f"{int(token):020d}"


def _flat_lines(lines: Sequence[QboLine], field: str) -> list[tuple[str, QboLine]]:
    """Billable lines: sales items (groups opened up) and discounts; subtotals are computed."""
    found: list[tuple[str, QboLine]] = []
    for n, line in enumerate(lines):
        kind = line.DetailType or ""
        if kind == "GroupLineDetail" and line.GroupLineDetail:
            found += _flat_lines(line.GroupLineDetail.Line, f"{field}.{n}.GroupLineDetail.Line")
        elif kind in ("SalesItemLineDetail", "DiscountLineDetail"):
            found.append((f"{field}.{n}", line))
    return found


def _spread(total_minor: int, weights: Sequence[int]) -> list[int]:
    """Splits an integer total by weights so that the parts sum exactly (largest remainder)."""
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    shares = [total_minor * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total_minor * weights[i] % whole), i))
    for i in remainders[: total_minor - sum(shares)]:
        shares[i] += 1
    return shares


def _tax_rate(invoice: QboInvoice) -> Decimal:
    detail = invoice.TxnTaxDetail
    percents = [
        line.TaxLineDetail.TaxPercent
        for line in (detail.TaxLine if detail else [])
        if line.TaxLineDetail and line.TaxLineDetail.PercentBased and line.TaxLineDetail.TaxPercent
    ]
    return plain(sum(percents, Decimal(0)) / 100)


def map_lines(invoice: QboInvoice, currency: str, field: str) -> list[dict[str, Any]]:
    """Lines with QBO's own net, and the document's TotalTax spread over the taxable ones."""
    lines: list[dict[str, Any]] = []
    taxable: list[bool] = []
    for where, line in _flat_lines(invoice.Line, f"{field}.Line"):
        amount = line.Amount if line.Amount is not None else Decimal(0)
        if line.DetailType == "DiscountLineDetail":
            lines.append(
                {
                    "description": (line.Description or "").strip() or "Discount",
                    "quantity": Decimal(1),
                    "unit_price": plain(-amount),
                    "net": money(-amount, currency, f"{where}.Amount"),
                    **line_details(line),
                }
            )
            taxable.append(False)
            continue
        detail = line.SalesItemLineDetail
        quantity = detail.Qty if detail and detail.Qty is not None else Decimal(1)
        unit = detail.UnitPrice if detail and detail.UnitPrice is not None else None
        if unit is None:
            unit = amount / quantity if quantity else amount
        item = detail.ItemRef.name if detail and detail.ItemRef else None
        lines.append(
            {
                "description": (line.Description or "").strip()
                or (item or "").strip()
                or f"Line {line.LineNum or len(lines) + 1}",
                "quantity": plain(quantity),
                "unit_price": plain(unit),
                "net": money(amount, currency, f"{where}.Amount"),
                **line_details(line),
            }
        )
        code = detail.TaxCodeRef.value if detail and detail.TaxCodeRef else None
        taxable.append(bool(code) and (code or "").upper() != NON_TAXABLE)
    total_tax = invoice.TxnTaxDetail.TotalTax if invoice.TxnTaxDetail else None
    total_tax = total_tax or Decimal(0)
    if total_tax and not any(taxable):
        # Tax without a taxable code on any line (a non-US edition): spread over the sales.
        taxable = [Decimal(line["net"]["amount"]) > 0 for line in lines]
    digits = exponent(currency)
    weights = [
        max(0, int(Decimal(line["net"]["amount"]).scaleb(digits))) if is_taxable else 0
        for line, is_taxable in zip(lines, taxable, strict=True)
    ]
    shares = _spread(int(total_tax.scaleb(digits)), weights)
    rate = _tax_rate(invoice)
    for line, share, is_taxable in zip(lines, shares, taxable, strict=True):
        line["tax"] = money(Decimal(share).scaleb(-digits), currency, f"{field}.TxnTaxDetail")
        line["tax_rate"] = rate if is_taxable else Decimal(0)
    return lines


def _engagement(invoice: QboInvoice, custom_field: str | None) -> dict[str, Any] | None:
    # The hub's engagement code in a QBO custom field named in the settings (DOMAIN 3.1).
    if not custom_field:
        return None
    for item in invoice.CustomField:
        if (item.Name or "").strip().lower() == custom_field.lower() and item.StringValue:
            return {"system": "hub", "type": "engagement_code", "id": item.StringValue.strip()}
    return None


def derive_status(invoice: QboInvoice, *, voided: bool, field: str) -> str:
    """draft is not exposed; a Void operation or a zeroed invoice is void (DOMAIN 3.8)."""
    total = invoice.TotalAmt if invoice.TotalAmt is not None else Decimal(0)
    balance = invoice.Balance if invoice.Balance is not None else total
    non_negative(total, f"{field}.TotalAmt")
    non_negative(balance, f"{field}.Balance")
    if voided or total == 0:
        return "void"
    return "paid" if balance == 0 else "issued"


def invoice_data(
    invoice: QboInvoice,
    *,
    voided: bool,
    custom_field: str | None,
    currency: str,
    field: str,
    home_currency: str | None = None,
) -> dict[str, Any]:
    """The canonical change of a QBO invoice."""
    status = derive_status(invoice, voided=voided, field=field)
    data: dict[str, Any] = {
        "id": require_id(invoice.Id, f"{field}.Id"),
        "kind": "invoice",
        "currency": currency,
        "status": status,
    }
    if status != "void":
        # A voided invoice's amounts are zeroed by QBO, not billed: they are not reported.
        total = invoice.TotalAmt or Decimal(0)
        balance = invoice.Balance if invoice.Balance is not None else total
        data["lines"] = map_lines(invoice, currency, field)
        data["total"] = money(total, currency, f"{field}.TotalAmt")
        data["amount_paid"] = money(total - balance, currency, f"{field}.Balance")
    customer = invoice.CustomerRef.value if invoice.CustomerRef else None
    optional = {
        "client": {"type": "Customer", "id": customer} if customer else None,
        "engagement": _engagement(invoice, custom_field),
        "number": invoice.DocNumber or None,
        "issue_date": calendar_date(invoice.TxnDate, f"{field}.TxnDate"),
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if "DueDate" in invoice.model_fields_set:
        data["due_date"] = calendar_date(invoice.DueDate, f"{field}.DueDate")
    data.update(
        invoice_details(
            invoice,
            money=lambda amount, code, where: money(non_negative(amount, where), code, where),
            currency=currency,
            home_currency=home_currency,
            issue_date=data.get("issue_date"),
            voided=status == "void",
            field=field,
        )
    )
    return data


def map_invoice(
    response: InvoiceResponse,
    *,
    realm: str,
    voided: bool = False,
    custom_field: str | None = None,
    default_currency: str | None = None,
    home_currency: str | None = None,
) -> ChangeEnvelope:
    """A fetched (or posted) invoice as a change, versioned by its SyncToken."""
    invoice = response.Invoice
    field = "Invoice"
    invoice_id = require_id(invoice.Id, f"{field}.Id")
    sequence = sync_sequence(invoice.SyncToken, f"{field}.SyncToken")
    updated = instant(
        invoice.MetaData.LastUpdatedTime if invoice.MetaData else None,
        f"{field}.MetaData.LastUpdatedTime",
    )
    # Without multicurrency QBO may leave CurrencyRef out: the company's home currency.
    raw_currency = invoice.CurrencyRef.value if invoice.CurrencyRef else default_currency
    currency = currency_code(raw_currency, f"{field}.CurrencyRef.value")
    # The company's home currency: configured, else the currency a lone CurrencyRef implies.
    home = home_currency or default_currency
    data = invoice_data(
        invoice,
        voided=voided,
        custom_field=custom_field,
        currency=currency,
        field=field,
        home_currency=currency_code(home, "home_currency") if home else None,
    )
    return change_event(
        system=SYSTEM,
        entity="invoice",
        source_type=SOURCE_TYPE,
        data=validate(InvoiceChange, data, prefix=field),
        tenant=realm,
        time=updated,
        sequence=sequence,
        id=message_id(SYSTEM, realm, invoice_id, sequence),
    )


def embedded_customer(response: InvoiceResponse, *, realm: str) -> list[ChangeEnvelope]:
    """An invoice's CustomerRef {value, name} as a change of that client too: what the invoice
    says of it (its name), ranked below any change of the customer itself."""
    invoice = response.Invoice
    ref = invoice.CustomerRef
    name = (ref.name or "").strip() if ref is not None else ""
    if ref is None or not ref.value or not name:
        return []
    updated = instant(
        invoice.MetaData.LastUpdatedTime if invoice.MetaData else None,
        "Invoice.MetaData.LastUpdatedTime",
    )
    data = validate(ClientChange, {"id": ref.value, "legal_name": name}, prefix="CustomerRef")
    return [
        embedded_event(
            system=SYSTEM,
            entity="client",
            source_type="Customer",
            data=data,
            tenant=realm,
            time=updated,
        )
    ]


def _deletion(invoice_id: str, *, realm: str, time: datetime, id: str) -> ChangeEnvelope:
    return change_event(
        system=SYSTEM,
        entity="invoice",
        source_type=SOURCE_TYPE,
        data=Deletion(id=invoice_id),
        tenant=realm,
        time=time,
        sequence=DELETED_SEQUENCE,
        id=id,
        deleted=True,
    )


class _Batch:
    """Notifications of one webhook body: deletions now, one fetch per other invoice."""

    def __init__(self) -> None:
        self.deletions: dict[tuple[str, str], ChangeEnvelope] = {}
        self.fetches: dict[tuple[str, str], dict[str, Any]] = {}

    def add(
        self,
        *,
        realm: str,
        invoice_id: str,
        operation: str,
        dedupe: Sequence[object],
        time: str | None,
        time_field: str,
    ) -> None:
        key = (realm, invoice_id)
        op = operation.lower()
        notification_id = message_id(SYSTEM, *dedupe)
        if op in DELETE_OPS:
            when = instant(time, time_field)
            self.deletions[key] = _deletion(invoice_id, realm=realm, time=when, id=notification_id)
            return
        entry = self.fetches.setdefault(
            key, {"notification_ids": [], "operations": [], "voided": False}
        )
        entry["notification_ids"].append(notification_id)
        entry["operations"].append(operation)
        entry["voided"] = entry["voided"] or op in VOID_OPS

    def mapped(self) -> Mapped:
        fetches = [
            FetchRequest(kind=SOURCE_TYPE, id=invoice_id, tenant=realm, hint=hint)
            for (realm, invoice_id), hint in self.fetches.items()
            # A deleted invoice cannot be fetched any more.
            if (realm, invoice_id) not in self.deletions
        ]
        events = list(self.deletions.values())
        if not events and not fetches:
            return Mapped(ignored="no invoice notifications")
        return Mapped(events=events, fetches=fetches)


def map_cloud_events(events: Sequence[CloudEvent], *, tenant: str) -> Mapped:
    """The CloudEvents webhook: `qbo.invoice.<operation>.v1`, keyed by the event id."""
    batch = _Batch()
    for n, event in enumerate(events):
        parts = event.type.split(".")
        if len(parts) < 4 or parts[0] != "qbo" or parts[1] != "invoice":
            continue
        event_id = require_id(event.id, f"{n}.id")
        batch.add(
            realm=event.intuitaccountid or tenant,
            invoice_id=require_id(event.intuitentityid, f"{n}.intuitentityid"),
            operation=parts[2],
            dedupe=[event_id],
            time=event.time,
            time_field=f"{n}.time",
        )
    return batch.mapped()


def map_legacy(body: LegacyBody, *, tenant: str) -> Mapped:
    """The legacy eventNotifications webhook, keyed by realm, name, id, operation, time."""
    batch = _Batch()
    for n, notification in enumerate(body.eventNotifications):
        realm = notification.realmId or tenant
        for m, entity in enumerate(notification.dataChangeEvent.entities):
            if entity.name != SOURCE_TYPE:
                continue
            where = f"eventNotifications.{n}.dataChangeEvent.entities.{m}"
            invoice_id = require_id(entity.id, f"{where}.id")
            batch.add(
                realm=realm,
                invoice_id=invoice_id,
                operation=entity.operation,
                dedupe=[realm, entity.name, invoice_id, entity.operation, entity.lastUpdated],
                time=entity.lastUpdated,
                time_field=f"{where}.lastUpdated",
            )
    return batch.mapped()


def parse_body(data: Any) -> list[CloudEvent] | LegacyBody | InvoiceResponse:
    """Tells the CloudEvents array, the legacy body and a posted invoice response apart."""
    if isinstance(data, list):
        if not data:
            raise not_the_shape(_EXPECTED, data)  # Intuit never notifies of nothing
        for n, item in enumerate(data):
            if not isinstance(item, Mapping) or "specversion" not in item:
                raise not_the_shape("a CloudEvent (an object with specversion)", item, field=str(n))
        return [validate(CloudEvent, item, prefix=str(n)) for n, item in enumerate(data)]
    if isinstance(data, Mapping) and "specversion" in data:
        return [validate(CloudEvent, data)]
    if isinstance(data, Mapping) and "eventNotifications" in data:
        return _legacy(data)
    if isinstance(data, Mapping) and "Invoice" in data:
        return validate(InvoiceResponse, data)
    raise not_the_shape(_EXPECTED, data)


_EXPECTED = (
    "QuickBooks webhook notifications (a CloudEvents array, or eventNotifications) or an "
    '{"Invoice": ...} response'
)


def _legacy(data: Mapping[str, Any]) -> LegacyBody:
    """The legacy body, each notification naming its realm and at least one entity."""
    body = validate(LegacyBody, data)
    if not body.eventNotifications:
        raise not_the_shape("at least one notification", [], field="eventNotifications")
    for n, note in enumerate(body.eventNotifications):
        where = f"eventNotifications.{n}"
        if not note.realmId:
            raise AdapterError(
                "MISSING_REQUIRED_ID", f"{where}.realmId is missing", field=f"{where}.realmId"
            )
        if not note.dataChangeEvent.entities:
            raise not_the_shape(
                "at least one entity", [], field=f"{where}.dataChangeEvent.entities"
            )
    return body
