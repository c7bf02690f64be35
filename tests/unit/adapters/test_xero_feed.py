"""Xero target mapping: golden records -> Contact and draft ACCREC invoice payloads."""

from __future__ import annotations

from typing import Any

from adapters.xero.feed import XeroTarget
from tests.support.targets import records as r
from tests.support.targets.records import xref

TENANT = "8c6a9d1e-5f5b-4c1a-9a51-0d1e2f3a4b5c"
TARGET = XeroTarget(tenant=TENANT)
CONTACT_ID = "bd2270c3-8706-4c11-9cfb-000b551c3f51"


def _related(**client_fields: Any) -> dict[str, Any]:
    client = r.client(xrefs=[xref("xero", "Contact", CONTACT_ID, TENANT)], **client_fields)
    return {"client": client, "engagement": r.engagement(client["id"])}


def test_maps_a_client_to_a_contact_numbered_by_its_canonical_id() -> None:
    client = r.client(
        email="ap@acme.example",
        tax_id="GB123456789",
        phone="+44 113 000",
        billing_address={"street": "1 High St", "city": "Leeds", "postal_code": "LS1"},
    )
    [item] = TARGET.items("client", client)
    assert item.entity == "contact" and item.target_id is None
    payload = item.payload
    assert payload["Name"] == "Acme Holdings Ltd" and payload["ContactNumber"] == client["id"]
    assert payload["DefaultCurrency"] == "GBP" and payload["TaxNumber"] == "GB123456789"
    assert payload["Phones"] == [{"PhoneType": "DEFAULT", "PhoneNumber": "+44 113 000"}]
    assert payload["Addresses"] == [
        {"AddressType": "POBOX", "AddressLine1": "1 High St", "City": "Leeds", "PostalCode": "LS1"}
    ]
    assert "ContactID" not in payload


def test_a_client_without_optional_fields_leaves_them_out() -> None:
    [item] = TARGET.items("client", r.client(billing_currency="", status="closed"))
    assert set(item.payload) == {"Name", "ContactNumber", "ContactStatus"}
    assert item.payload["ContactStatus"] == "ARCHIVED"


def test_a_known_contact_is_updated_by_its_contact_id() -> None:
    [item] = TARGET.items("client", _related()["client"])
    assert item.target_id == CONTACT_ID and item.payload["ContactID"] == CONTACT_ID


def test_a_billable_time_entry_is_a_draft_sales_invoice_for_the_contact() -> None:
    related = _related()
    entry = r.time_entry(related["engagement"]["id"])
    [item] = TARGET.items("time_entry", entry, related)
    payload = item.payload
    assert (payload["Type"], payload["Status"], payload["LineAmountTypes"]) == (
        "ACCREC",
        "DRAFT",
        "Exclusive",
    )
    assert payload["Contact"] == {"ContactID": CONTACT_ID}
    assert payload["CurrencyCode"] == "GBP" and payload["Reference"] == "ACME-2026-01"
    [line] = payload["LineItems"]
    assert (line["Quantity"], line["UnitAmount"], line["AccountCode"]) == ("7.50", "150.00", "200")
    assert payload["Date"] == "2026-03-02" and "InvoiceID" not in payload


def test_a_delivered_line_updates_its_invoice() -> None:
    related = _related()
    known = [xref("xero", "Invoice", "4f1c0a2e-0000-4000-8000-000000000001", TENANT)]
    [item] = TARGET.items("expense", r.expense(related["engagement"]["id"], xrefs=known), related)
    assert item.target_id == item.payload["InvoiceID"] == known[0]["id"]


def test_only_lines_in_the_contacts_currency() -> None:
    related = _related(billing_currency="USD")
    eng = related["engagement"]["id"]
    assert TARGET.items("expense", r.expense(eng), related) == []  # GBP receipt
    usd = r.expense(eng, amount={"amount": "12.5", "currency": "USD"})
    [item] = TARGET.items("expense", usd, related)
    assert item.payload["CurrencyCode"] == "USD"
    assert item.payload["LineItems"][0]["UnitAmount"] == "12.5"


def test_no_invoice_before_the_contact_is_known_or_for_unbillable_items() -> None:
    related = _related()
    eng = related["engagement"]["id"]
    unknown = {**related, "client": r.client()}
    assert TARGET.items("milestone", r.milestone(eng), unknown) == []
    assert TARGET.items("milestone", r.milestone(eng, status="billed"), related) == []
    assert TARGET.items("milestone", r.milestone(eng, invoice_id=eng), related) == []
    assert TARGET.items("engagement", related["engagement"], related) == []
