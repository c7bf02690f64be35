"""Xero: what an invoice and a credit note report beyond their lines (payloads written from
DOMAIN.md 2.11: `/Date(ms+0000)/` dates, decimals in major units, CurrencyRate whose
direction is unconfirmed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.xero import ADAPTER
from hub.contracts.adapters import AdapterConfig, AdapterError
from tests.support.embedded import own

TENANT = "4f0c1e2a-9b8d-4e7f-a6c5-3d2b1a0f9e8d"


def response(**documents: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "Id": "0d2a6b3c-1f4e-4a5b-9c8d-7e6f5a4b3c2d",
            "Status": "OK",
            "ProviderName": "pshub",
            "DateTimeUTC": "/Date(1772900000000)/",
            **documents,
        }
    ).encode()


def bhd_invoice(**changes: Any) -> dict[str, Any]:
    document = {
        "Type": "ACCREC",
        "InvoiceID": "8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "InvoiceNumber": "INV-BH-0031",
        "Reference": "PO 2026/114",
        "Contact": {"ContactID": "c0ffee00-1111-4222-8333-444455556666", "Name": "Manama Ports"},
        "DateString": "2026-03-01T00:00:00",
        "Date": "/Date(1772323200000+0000)/",
        "DueDate": "/Date(1774915200000+0000)/",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Inclusive",
        "LineItems": [
            {
                "LineItemID": "11111111-2222-4333-8444-555566667777",
                "Description": "Port operations review",
                "Quantity": 4.0,
                "UnitAmount": 262.5,
                "ItemCode": "ADV-DAY",
                "AccountCode": "200",
                "TaxType": "OUTPUT",
                "TaxAmount": 50.0,
                "LineAmount": 1050.0,
                "Tracking": [
                    {"Name": "Region", "Option": "Gulf"},
                    {"Name": "Engagement", "Option": "ENG-BH-7"},
                ],
            }
        ],
        "SubTotal": 1000.0,
        "TotalTax": 50.0,
        "Total": 1050.0,
        "AmountDue": 650.125,
        "AmountPaid": 399.875,
        "AmountCredited": 0.0,
        "CurrencyCode": "BHD",
        "CurrencyRate": 2.65957,
        "UpdatedDateUTC": "/Date(1772900000000+0000)/",
    }
    document.update(changes)
    return document


def mapped(payload: bytes, **extra: str) -> dict[str, Any]:
    config = AdapterConfig(tenant=TENANT, extra=extra)
    [change] = own(ADAPTER.map_payload(payload, config=config).events)
    return change.data


def test_an_invoice_keeps_its_reference_balances_rate_and_tax_mode() -> None:
    data = mapped(response(Invoices=[bhd_invoice()]), home_currency="usd")
    bhd = lambda amount: {"amount": amount, "currency": "BHD"}  # noqa: E731
    assert (data["source_status"], data["reference"]) == ("AUTHORISED", "PO 2026/114")
    assert data["customer_name"] == "Manama Ports"
    assert data["line_amount_types"] == "inclusive"
    assert (data["reported_subtotal"], data["reported_tax"]) == (bhd("1000.000"), bhd("50.000"))
    # Xero's AmountDue is what is still owed.
    assert data["amount_remaining"] == bhd("650.125")
    assert data["amount_credited"] == bhd("0.000")
    # The raw rate, with the direction nobody has confirmed, and the home currency set.
    assert data["exchange_rate"] == {
        "rate": "2.65957",
        "direction": "unverified",
        "home_currency": "USD",
        "as_of": "2026-03-01",
    }
    [line] = data["lines"]
    assert line["source_line_id"] == "11111111-2222-4333-8444-555566667777"
    assert (line["item_code"], line["account_code"], line["tax_code"]) == (
        "ADV-DAY",
        "200",
        "OUTPUT",
    )
    assert line["tracking"] == [
        {"category": "Region", "option": "Gulf"},
        {"category": "Engagement", "option": "ENG-BH-7"},
    ]
    # Inclusive amounts: the net is the line amount less its tax.
    assert line["net"] == bhd("1000.000")


def test_a_configured_rate_direction_is_declared_with_the_rate() -> None:
    data = mapped(response(Invoices=[bhd_invoice()]), currency_rate_direction="foreign_per_home")
    assert data["exchange_rate"]["direction"] == "foreign_per_home"
    assert "home_currency" not in data["exchange_rate"]


def test_an_unknown_rate_direction_setting_is_refused() -> None:
    with pytest.raises(AdapterError) as refused:
        mapped(response(Invoices=[bhd_invoice()]), currency_rate_direction="backwards")
    assert refused.value.reason == "SCHEMA_VIOLATION"


def test_a_paid_invoice_keeps_the_day_it_was_fully_paid_and_absent_fields_stay_unreported() -> None:
    document = bhd_invoice(
        Status="PAID",
        AmountDue=0.0,
        AmountPaid=1050.0,
        FullyPaidOnDate="/Date(1773532800000+0000)/",
    )
    for key in ("Reference", "CurrencyRate", "AmountCredited", "DueDate"):
        del document[key]
    data = mapped(response(Invoices=[document]))
    assert data["fully_paid_on"] == "2026-03-15"
    assert data["status"] == "paid"
    for absent in ("reference", "exchange_rate", "amount_credited", "due_date"):
        assert absent not in data


def test_a_credit_note_keeps_its_unallocated_credit() -> None:
    note = {
        "Type": "ACCRECCREDIT",
        "CreditNoteID": "9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "CreditNoteNumber": "CN-BH-0004",
        "Contact": {"ContactID": "c0ffee00-1111-4222-8333-444455556666"},
        "DateString": "2026-03-20T00:00:00",
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Goodwill", "Quantity": 1, "LineAmount": 100.0}],
        "Total": 100.0,
        "RemainingCredit": 100.0,
        "CurrencyCode": "BHD",
        "UpdatedDateUTC": "/Date(1773999999000+0000)/",
    }
    data = mapped(response(CreditNotes=[note]))
    assert data["kind"] == "credit_note"
    assert data["line_amount_types"] == "no_tax"
    assert data["amount_remaining"] == {"amount": "100.000", "currency": "BHD"}
    assert "customer_name" not in data  # the contact came without its name
