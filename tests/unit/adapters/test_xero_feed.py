"""Xero target mapping: clients, engagements and billable items -> Xero JSON."""

from __future__ import annotations

from adapters.billable import ref
from adapters.xero.feed import XeroTarget
from tests.support import golden as r
from tests.support.golden import xref

TENANT = "8c6a9d1e-5f5b-4c1a-9a51-0d1e2f3a4b5c"
TARGET = XeroTarget(tenant=TENANT)
ENGAGEMENT = "5b0c3537-f3f5-439a-9396-7c3812444dd0"


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


def test_a_client_without_optional_fields_leaves_them_out() -> None:
    [item] = TARGET.items("client", r.client(billing_currency="", status="closed"))
    assert set(item.payload) == {"Name", "ContactNumber", "ContactStatus"}
    assert item.payload["ContactStatus"] == "ARCHIVED"


def test_a_contact_known_to_this_tenant_is_updated() -> None:
    known = [
        xref("xero", "Contact", "not-this-one", "another-tenant"),
        xref("xero", "Contact", "bd2270c3", TENANT),
    ]
    [item] = TARGET.items("client", r.client(xrefs=known))
    assert item.target_id == "bd2270c3"


def test_a_won_engagement_is_a_draft_sales_invoice_to_its_clients_contact() -> None:
    client_id = r.client()["id"]
    engagement = r.engagement(client_id, currency="NZD")
    [item] = TARGET.items("engagement", engagement)
    assert item.entity == "invoice" and item.key == "draftinvoice"
    assert item.payload == {
        "Type": "ACCREC",
        "Status": "DRAFT",
        "LineAmountTypes": "Exclusive",
        "Contact": {"ContactID": {"$target_id": client_id, "type": "Contact"}},
        "CurrencyCode": "NZD",
        "Reference": "ACME-2026-01 Finance transformation",
    }


def test_no_draft_for_a_deal_not_won_or_a_client_not_known_yet() -> None:
    client_id = r.client()["id"]
    for fields in ({"status": "pipeline"}, {"status": "lost"}, {"contract_type": "non_billable"}):
        assert TARGET.items("engagement", r.engagement(client_id, **fields)) == [], fields
    assert TARGET.items("engagement", r.engagement(None)) == []


def test_a_billable_time_entry_is_a_line_on_its_engagements_draft() -> None:
    entry = r.time_entry(ENGAGEMENT)
    [item] = TARGET.items("time_entry", entry)
    assert item.entity == "line" and item.key == f"line:{entry['id']}"
    assert item.payload == {
        "InvoiceID": {"$target_id": ENGAGEMENT, "type": "DraftInvoice"},
        "CurrencyCode": "GBP",
        "LineItem": {
            "Description": f"Design 2026-03-02, 7.50 h (ref {entry['id'][:8]})",
            "Quantity": "7.50",
            "UnitAmount": "150.00",
            "AccountCode": "200",
        },
    }


def test_a_delivered_line_is_updated_by_its_line_item_id() -> None:
    known = [xref("xero", "LineItem", "52208ff9", TENANT)]
    [item] = TARGET.items("expense", r.expense(ENGAGEMENT, xrefs=known))
    assert item.target_id == "52208ff9"


def test_each_line_keeps_its_own_currency() -> None:
    usd = r.expense(ENGAGEMENT, amount={"amount": "12.5", "currency": "USD"})
    [item] = TARGET.items("expense", usd)
    assert item.payload["CurrencyCode"] == "USD"
    assert item.payload["LineItem"]["UnitAmount"] == "12.5"


def test_unbillable_items_are_not_lines() -> None:
    assert TARGET.items("milestone", r.milestone(ENGAGEMENT, status="billed")) == []
    assert TARGET.items("milestone", r.milestone(ENGAGEMENT, invoice_id=ENGAGEMENT)) == []
    assert TARGET.items("expense", r.expense(ENGAGEMENT, status="submitted")) == []
    assert TARGET.items("time_entry", r.time_entry(ENGAGEMENT, billable=False)) == []
    assert TARGET.items("contract", {"id": ENGAGEMENT}) == []


def test_a_deleted_client_is_archived_where_xero_holds_it() -> None:
    known = [xref("xero", "Contact", "bd2270c3", TENANT)]
    [contact] = TARGET.items("client", r.client(deleted=True, xrefs=known))
    assert contact.target_id == "bd2270c3" and contact.payload["ContactStatus"] == "ARCHIVED"
    assert TARGET.items("client", r.client(deleted=True)) == []
    assert TARGET.items("engagement", r.engagement(r.client()["id"], deleted=True)) == []


def _open_invoice(**fields: object) -> dict:
    """QuickBooks's invoice 1047 (500.00, 100.00 paid), open when billing moved to Xero."""
    gbp = {"amount": "500.00", "currency": "GBP"}
    values = {
        "kind": "invoice",
        "client_id": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
        "number": "1047",
        "currency": "GBP",
        "status": "issued",
        "issue_date": "2026-02-27",
        "due_date": "2026-03-29",
        "subtotal": gbp,
        "tax_total": {"amount": "0.00", "currency": "GBP"},
        "total": gbp,
        "open_balance": {"amount": "400.00", "currency": "GBP"},
        "xrefs": [xref("quickbooks", "Invoice", "1047", "9130")],
        **fields,
    }
    return r.golden("invoice", **values)


def test_an_invoice_carried_to_xero_is_an_approved_invoice_of_its_balance() -> None:
    record = _open_invoice(
        carried_to="xero",
        carried_from="quickbooks",
        carried_balance={"amount": "400.00", "currency": "GBP"},
    )
    [item] = TARGET.items("invoice", record)
    assert (item.entity, item.key, item.target_id) == ("invoice_carried", "carried", None)
    assert item.payload == {
        "Type": "ACCREC",
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "Contact": {"ContactID": ref(record["client_id"], "Contact")},
        "CurrencyCode": "GBP",
        "InvoiceNumber": "1047",
        "Reference": "quickbooks invoice 1047",
        "Date": "2026-02-27",
        "DueDate": "2026-03-29",
        "LineItems": [
            {
                "Description": "Open balance of quickbooks invoice 1047 of 2026-02-27",
                "Quantity": "1",
                "UnitAmount": "400.00",
                "AccountCode": "840",
            }
        ],
    }
    # Paid afterwards (in Xero, reported back): the same item, so nothing is written again.
    paid = {**record, "status": "paid", "open_balance": {"amount": "0.00", "currency": "GBP"}}
    assert TARGET.items("invoice", paid)[0].payload == item.payload
    # Acknowledged: Xero's id for it, as the Invoice ingest will report back.
    acked = {**record, "xrefs": [*record["xrefs"], xref("xero", "Invoice", "X-1", TENANT)]}
    assert TARGET.items("invoice", acked)[0].target_id == "X-1"


def test_an_open_invoice_not_carried_to_xero_is_not_given_to_it() -> None:
    assert TARGET.items("invoice", _open_invoice()) == []
    carried_elsewhere = _open_invoice(
        carried_to="quickbooks",
        carried_from="stripe",
        carried_balance={"amount": "400.00", "currency": "GBP"},
    )
    assert TARGET.items("invoice", carried_elsewhere) == []
    deleted = _open_invoice(
        carried_to="xero",
        carried_from="quickbooks",
        carried_balance={"amount": "400.00", "currency": "GBP"},
        deleted=True,
    )
    assert TARGET.items("invoice", deleted) == []


def _carried_with(*since: dict) -> dict:
    """1047 carried to Xero with 100.00 paid into QuickBooks before, and `since` after."""
    return _open_invoice(
        carried_to="xero",
        carried_from="quickbooks",
        carried_balance={"amount": "400.00", "currency": "GBP"},
        carried_payments=1,
        payments=[r.payment("100.00", "GBP", "quickbooks", "m-1"), *since],
    )


def test_a_payment_into_quickbooks_after_the_carry_over_is_a_payment_on_xeros_copy() -> None:
    """Paid into QuickBooks before the move (in the balance carried), into Xero (Xero's own)
    and into QuickBooks after it: only the last is given to Xero, on the account the firm
    named, marked as the hub's (what Xero reports paid, less these, is Xero's own)."""
    record = _carried_with(
        r.payment("20.00", "GBP", "xero", "m-2"), r.payment("30.00", "GBP", "quickbooks", "m-3")
    )
    target = XeroTarget(tenant=TENANT, payment_account="090")
    carried, paid = target.items("invoice", record)
    assert carried.entity == "invoice_carried"
    assert carried.payload == TARGET.items("invoice", record)[0].payload, "the balance carried"
    assert (paid.entity, paid.key, paid.target_id, paid.hold) == (
        "payment_carried",
        "payment:2",
        None,
        None,
    )
    assert paid.payload == {
        "Invoice": {"InvoiceID": ref(record["id"], "Invoice")},
        "Account": {"Code": "090"},
        "Date": "2026-03-10",
        "Amount": "30.00",
        "Reference": "pshub: paid into quickbooks (m-3)",
    }
    # Acknowledged (Xero's PaymentID an xref of type Payment): the same item, not re-keyed.
    acked = {**record, "xrefs": [*record["xrefs"], xref("xero", "Payment", "P-1", TENANT)]}
    assert target.items("invoice", acked)[1] == paid


def test_a_payment_to_give_xero_waits_for_the_account_to_record_it_against() -> None:
    record = _carried_with(r.payment("30.00", "GBP", "quickbooks"))
    _, paid = TARGET.items("invoice", record)  # PSHUB_FEED_XERO_PAYMENT_ACCOUNT unset
    assert paid.hold is not None
    reason, detail = paid.hold
    assert reason == "RULE_VIOLATION" and detail.startswith("payment_account: 30.00 GBP")
    assert "PSHUB_FEED_XERO_PAYMENT_ACCOUNT" in detail
    assert paid.payload["Reference"] == "pshub: paid into quickbooks (1)"  # no reference: its place
