"""What QuickBooks Online says about an invoice beyond its lines and derived status.

A field is reported when the invoice carries it (null clears it). ExchangeRate is home
currency units per one foreign unit (DOMAIN 3.10); HomeTotalAmt is in the company's home
currency, known only from the settings (`home_currency`, else the default currency).
A voided invoice's figures are zeroed by QBO, not billed: they are not reported.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.quickbooks.payloads import QboInvoice, QboLine
from adapters.refusals import schema_violation

TAX_CALCULATION = {
    "taxexcluded": "exclusive",
    "taxinclusive": "inclusive",
    "notapplicable": "no_tax",
}
Money = Callable[[Decimal, str, str], dict[str, Any]]


def invoice_details(
    invoice: QboInvoice,
    *,
    money: Money,
    currency: str,
    home_currency: str | None,
    issue_date: str | None,
    voided: bool,
    field: str,
) -> dict[str, Any]:
    """The descriptive fields of an invoice; `money(amount, currency, field)` checks money."""
    given = invoice.model_fields_set
    found: dict[str, Any] = {}
    if invoice.CustomerRef is not None and "name" in invoice.CustomerRef.model_fields_set:
        found["customer_name"] = (invoice.CustomerRef.name or "").strip() or None
    if "BillEmail" in given:
        address = invoice.BillEmail.Address if invoice.BillEmail else None
        found["customer_email"] = (address or "").strip() or None
    if "EmailStatus" in given:
        found["email_status"] = invoice.EmailStatus
    if "SalesTermRef" in given:
        terms = invoice.SalesTermRef
        found["payment_terms"] = (terms.name or terms.value) if terms else None
    if "Balance" in given:
        balance = invoice.Balance
        found["amount_remaining"] = (
            None if balance is None else money(balance, currency, f"{field}.Balance")
        )
    if "Deposit" in given:
        deposit = invoice.Deposit
        found["deposit"] = None if deposit is None else money(deposit, currency, f"{field}.Deposit")
    if voided:
        return found
    if "GlobalTaxCalculation" in given:
        raw = (invoice.GlobalTaxCalculation or "").lower()
        if raw and raw not in TAX_CALCULATION:
            raise schema_violation(
                f"unknown GlobalTaxCalculation {invoice.GlobalTaxCalculation!r}",
                f"{field}.GlobalTaxCalculation",
            )
        found["line_amount_types"] = TAX_CALCULATION.get(raw)
    detail = invoice.TxnTaxDetail
    if detail is not None and "TotalTax" in detail.model_fields_set:
        tax = detail.TotalTax
        found["reported_tax"] = (
            None if tax is None else money(tax, currency, f"{field}.TxnTaxDetail.TotalTax")
        )
    if "ExchangeRate" in given:
        rate = invoice.ExchangeRate
        found["exchange_rate"] = (
            None
            if rate is None
            else {
                "rate": rate,
                "direction": "home_per_foreign",
                "as_of": issue_date,
                **({"home_currency": home_currency} if home_currency else {}),
            }
        )
    if "HomeTotalAmt" in given and home_currency:
        # Without a configured home currency the amount cannot be typed: it is not kept.
        home = invoice.HomeTotalAmt
        found["home_total"] = (
            None if home is None else money(home, home_currency, f"{field}.HomeTotalAmt")
        )
    return found


def line_details(line: QboLine) -> dict[str, Any]:
    """A sales line's id, item, income account, tax code and service date."""
    detail = line.SalesItemLineDetail
    codes = {
        "source_line_id": line.Id,
        "item_code": detail.ItemRef.value if detail and detail.ItemRef else None,
        "account_code": detail.ItemAccountRef.value if detail and detail.ItemAccountRef else None,
        "tax_code": detail.TaxCodeRef.value if detail and detail.TaxCodeRef else None,
    }
    found: dict[str, Any] = {k: v.strip() for k, v in codes.items() if v and v.strip()}
    if detail is not None and detail.ServiceDate:
        found["service_date"] = detail.ServiceDate[:10]
    return found
