"""QuickBooks Online: what an invoice reports beyond its lines and derived status (payloads
written from DOMAIN.md 2.10: `{"Invoice": {...}, "time"}`, decimals in major units,
ExchangeRate in home units per foreign unit)."""

from __future__ import annotations

import json
from typing import Any

from adapters.quickbooks import ADAPTER
from hub.contracts.adapters import AdapterConfig
from tests.support.embedded import own

REALM = "9341453011223344"


def eur_invoice(**changes: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "SyncToken": "3",
        "Id": "2208",
        "DocNumber": "1084",
        "TxnDate": "2026-04-07",
        "DueDate": "2026-05-07",
        "CurrencyRef": {"value": "EUR", "name": "Euro"},
        "ExchangeRate": 1.0832,
        "CustomerRef": {"value": "61", "name": "Brasserie Lumière SARL"},
        "BillEmail": {"Address": "compta@lumiere.example"},
        "SalesTermRef": {"value": "3", "name": "Net 30"},
        "EmailStatus": "EmailSent",
        "GlobalTaxCalculation": "TaxInclusive",
        "Line": [
            {
                "Id": "1",
                "LineNum": 1,
                "Description": "Menu engineering workshop",
                "Amount": 1500.0,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "17", "name": "Workshop day"},
                    "ItemAccountRef": {"value": "79", "name": "Services"},
                    "UnitPrice": 750,
                    "Qty": 2,
                    "TaxCodeRef": {"value": "TAX"},
                    "ServiceDate": "2026-04-02",
                },
            },
            {"Amount": 1500.0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
        ],
        "TxnTaxDetail": {"TotalTax": 300.0},
        "TotalAmt": 1800.0,
        "HomeTotalAmt": 1949.76,
        "Balance": 800.0,
        "Deposit": 0,
        "MetaData": {
            "CreateTime": "2026-04-07T10:02:11-07:00",
            "LastUpdatedTime": "2026-04-12T16:40:05-07:00",
        },
    }
    invoice.update(changes)
    return invoice


def mapped(invoice: dict[str, Any], **extra: str) -> dict[str, Any]:
    body = json.dumps({"Invoice": invoice, "time": "2026-04-12T16:40:06.000-07:00"}).encode()
    config = AdapterConfig(tenant=REALM, default_currency="USD", extra=extra)
    [change] = own(ADAPTER.map_payload(body, config=config).events)
    return change.data


def test_a_foreign_currency_invoice_keeps_its_rate_home_total_tax_and_balance() -> None:
    data = mapped(eur_invoice())
    eur = lambda amount: {"amount": amount, "currency": "EUR"}  # noqa: E731
    assert data["status"] == "issued"
    assert data["exchange_rate"] == {
        "rate": "1.0832",
        "direction": "home_per_foreign",
        "home_currency": "USD",
        "as_of": "2026-04-07",
    }
    assert data["home_total"] == {"amount": "1949.76", "currency": "USD"}
    assert data["reported_tax"] == eur("300.00")
    assert (data["amount_remaining"], data["deposit"]) == (eur("800.00"), eur("0.00"))
    assert data["amount_paid"] == eur("1000.00")
    assert (data["email_status"], data["payment_terms"]) == ("EmailSent", "Net 30")
    assert (data["customer_name"], data["customer_email"]) == (
        "Brasserie Lumière SARL",
        "compta@lumiere.example",
    )
    assert data["line_amount_types"] == "inclusive"
    [line] = data["lines"]  # the subtotal line is computed, not billed
    assert (line["source_line_id"], line["item_code"], line["account_code"]) == ("1", "17", "79")
    assert (line["tax_code"], line["service_date"]) == ("TAX", "2026-04-02")


def test_a_home_total_is_kept_only_where_the_home_currency_is_known() -> None:
    body = json.dumps({"Invoice": eur_invoice()}).encode()
    [change] = own(ADAPTER.map_payload(body, config=AdapterConfig(tenant=REALM)).events)
    assert "home_total" not in change.data
    assert "home_currency" not in change.data["exchange_rate"]
    configured = mapped(eur_invoice(), home_currency="GBP")
    assert configured["home_total"]["currency"] == "GBP"


def test_a_voided_invoice_reports_no_figures_a_void_has_zeroed() -> None:
    voided = eur_invoice(TotalAmt=0, Balance=0, HomeTotalAmt=0, TxnTaxDetail={"TotalTax": 0})
    data = mapped(voided)
    assert data["status"] == "void"
    for fixed in ("reported_tax", "home_total", "exchange_rate", "line_amount_types", "lines"):
        assert fixed not in data
    assert data["amount_remaining"] == {"amount": "0.00", "currency": "EUR"}


def test_a_yen_invoice_without_optional_fields_reports_only_what_it_has() -> None:
    invoice = eur_invoice(CurrencyRef={"value": "JPY"}, ExchangeRate=0.0067, Balance=0)
    invoice.update(TotalAmt=165000, HomeTotalAmt=1105.5, TxnTaxDetail={"TotalTax": 15000})
    invoice["Line"][0].update(Amount=150000)
    invoice["Line"][0]["SalesItemLineDetail"].update(UnitPrice=75000)
    for key in ("BillEmail", "EmailStatus", "SalesTermRef", "Deposit", "GlobalTaxCalculation"):
        del invoice[key]
    data = mapped(invoice)
    assert data["status"] == "paid"
    assert data["reported_tax"] == {"amount": "15000", "currency": "JPY"}
    for absent in ("customer_email", "email_status", "payment_terms", "deposit"):
        assert absent not in data
