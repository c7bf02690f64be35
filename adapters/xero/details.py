"""What Xero says about an invoice or credit note beyond its lines and lifecycle.

A field is reported when the document carries it (null clears it); one it leaves out is not
reported. CurrencyRate's direction is unconfirmed (DOMAIN 4.1): the raw rate is kept with
the direction configured (`currency_rate_direction`, default "unverified").
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.refusals import schema_violation
from adapters.xero.payloads import LineItem, XeroCreditNote, XeroInvoice

LINE_AMOUNT_TYPES = {"exclusive": "exclusive", "inclusive": "inclusive", "notax": "no_tax"}
DIRECTIONS = frozenset({"home_per_foreign", "foreign_per_home", "unverified"})
Money = Callable[[Decimal, str], dict[str, Any]]
Day = Callable[[str | None, str | None, str], str | None]


def document_details(
    document: XeroInvoice | XeroCreditNote,
    *,
    money: Money,
    day: Day,
    issue_date: str | None,
    rate_direction: str,
    home_currency: str | None,
    field: str,
) -> dict[str, Any]:
    """The descriptive fields of a document; `money(amount, field)` makes checked money."""
    given = document.model_fields_set
    found: dict[str, Any] = {}
    if "Status" in given:
        found["source_status"] = document.Status
    if "Reference" in given:
        found["reference"] = (document.Reference or "").strip() or None
    if document.Contact is not None and "Name" in document.Contact.model_fields_set:
        found["customer_name"] = (document.Contact.Name or "").strip() or None
    if "LineAmountTypes" in given:
        raw = (document.LineAmountTypes or "").lower()
        if raw and raw not in LINE_AMOUNT_TYPES:
            raise schema_violation(f"unknown LineAmountTypes {raw!r}", f"{field}.LineAmountTypes")
        found["line_amount_types"] = LINE_AMOUNT_TYPES.get(raw)
    amounts = {"reported_subtotal": "SubTotal", "reported_tax": "TotalTax"}
    if isinstance(document, XeroInvoice):
        amounts |= {"amount_remaining": "AmountDue", "amount_credited": "AmountCredited"}
    else:
        amounts |= {"amount_remaining": "RemainingCredit"}
    for target, key in amounts.items():
        if key in given:
            amount = getattr(document, key)
            found[target] = None if amount is None else money(amount, f"{field}.{key}")
    if "CurrencyRate" in given:
        found["exchange_rate"] = _rate(
            document.CurrencyRate, rate_direction, home_currency, issue_date
        )
    if "FullyPaidOnDate" in given:
        found["fully_paid_on"] = day(None, document.FullyPaidOnDate, f"{field}.FullyPaidOnDate")
    return found


def _rate(
    rate: Decimal | None, direction: str, home_currency: str | None, as_of: str | None
) -> dict[str, Any] | None:
    if rate is None:
        return None
    if direction not in DIRECTIONS:
        raise schema_violation(
            f"setting currency_rate_direction {direction!r} is not one of {sorted(DIRECTIONS)}",
            "currency_rate_direction",
        )
    found: dict[str, Any] = {"rate": rate, "direction": direction, "as_of": as_of}
    if home_currency:
        found["home_currency"] = home_currency.upper()
    return found


def line_details(line: LineItem) -> dict[str, Any]:
    """A line's id, codes and tracking (Xero allows two tracking categories a line)."""
    tracking = [
        {"category": t.Name.strip(), "option": t.Option.strip()}
        for t in line.Tracking
        if t.Name and t.Name.strip() and t.Option and t.Option.strip()
    ]
    codes = {
        "source_line_id": line.LineItemID,
        "item_code": line.ItemCode,
        "account_code": line.AccountCode,
        "tax_code": line.TaxType,
    }
    found: dict[str, Any] = {k: v.strip() for k, v in codes.items() if v and v.strip()}
    if tracking:
        found["tracking"] = tracking
    return found
