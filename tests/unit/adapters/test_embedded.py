"""What a source record says of a record it embeds becomes a change of that record, after it,
ranked below any change of the record itself, and with only what the source says."""

from __future__ import annotations

import json
from typing import Any

from adapters.netsuite import ADAPTER as NETSUITE
from adapters.odoo import ADAPTER as ODOO
from hub.contracts.adapters import EMBEDDED_PREFIX, AdapterConfig


def _map(adapter: Any, payload: Any, config: AdapterConfig, **kw: Any) -> list[Any]:
    return adapter.map_payload(json.dumps(payload).encode(), config=config, **kw).events


def _job(**fields: Any) -> dict[str, Any]:
    # GET /services/rest/record/v1/job/{id}: references are {links, id, refName}, ids strings.
    job = {
        "links": [{"rel": "self", "href": "https://7654321.suitetalk.api.netsuite.com/x/job/812"}],
        "id": "812",
        "entityId": "PRJ-2026-044",
        "companyName": "Warehouse automation roll-out",
        "parent": {"links": [], "id": "3307", "refName": "Nordlicht Handels AG"},
        "currency": {"links": [], "id": "4", "refName": "CHF"},
        "startDate": "2026-02-02",
        "lastModifiedDate": "2026-11-18T13:05:00Z",
        "isInactive": False,
    }
    job.update(fields)
    return job


NS = AdapterConfig(tenant="7654321")


def test_a_netsuite_job_sends_its_customer_as_the_parent_names_it() -> None:
    job, customer = _map(NETSUITE, _job(), NS, event="job")
    assert (customer.type, customer.sourcetype, customer.subject) == (
        "pshub.client.changed.v1",
        "customer",
        "3307",
    )
    assert customer.data == {"id": "3307", "legal_name": "Nordlicht Handels AG"}
    assert customer.sequence.startswith(EMBEDDED_PREFIX)
    assert customer.sequence < job.sequence
    assert job.data["client"] == {"type": "customer", "id": "3307"}


def test_a_netsuite_parent_without_a_name_or_that_is_a_job_sends_no_customer() -> None:
    unnamed = _job(parent={"links": [], "id": "3307"})
    assert [e.entity for e in _map(NETSUITE, unnamed, NS, event="job")] == ["engagement"]


def test_the_same_embed_twice_has_one_message_id_and_a_later_one_another() -> None:
    first = _map(NETSUITE, _job(), NS, event="job")[1]
    again = _map(NETSUITE, _job(), NS, event="job")[1]
    later = _map(NETSUITE, _job(lastModifiedDate="2026-11-20T08:00:00Z"), NS, event="job")[1]
    assert first.id == again.id != later.id
    assert first.sequence < later.sequence


ODOO_CONFIG = AdapterConfig(tenant="odoo-prod")


def test_an_odoo_project_sends_its_partner_as_the_many2one_names_it() -> None:
    project = {
        "id": 57,
        "name": "ERP migration",
        "partner_id": [211, "Gemini Furniture"],
        "company_id": [1, "Northwind Advisory SARL"],
        "currency_id": [1, "EUR"],
        "user_id": False,
        "date_start": "2026-03-01",
        "date": False,
        "active": True,
        "write_date": "2026-11-21 10:00:00",
    }
    events = _map(
        ODOO, {"jsonrpc": "2.0", "id": 3, "result": [project]}, ODOO_CONFIG, event="project.project"
    )
    engagement, partner = events
    assert (partner.sourcetype, partner.subject) == ("res.partner", "211")
    assert partner.data == {"id": "211", "legal_name": "Gemini Furniture"}
    assert partner.sequence < engagement.sequence
    assert engagement.data["client"] == {"type": "res.partner", "id": "211"}
    # No partner (Odoo's false): nothing embedded.
    alone = _map(
        ODOO,
        {"jsonrpc": "2.0", "id": 4, "result": [{**project, "partner_id": False}]},
        ODOO_CONFIG,
        event="project.project",
    )
    assert [e.entity for e in alone] == ["engagement"]


def test_a_xero_invoice_sends_its_contact_as_named_and_a_quickbooks_one_its_customer_ref() -> None:
    from adapters.quickbooks import ADAPTER as QUICKBOOKS
    from adapters.xero import ADAPTER as XERO

    # GET /api.xro/2.0/Invoices/{id}: the Contact is embedded with its ContactID and Name.
    xero = {
        "Id": "5e3c1f0a-9b6a-4d8e-8f00-1a2b3c4d5e6f",
        "Status": "OK",
        "ProviderName": "pshub",
        "DateTimeUTC": "/Date(1764500000000)/",
        "Invoices": [
            {
                "Type": "ACCREC",
                "InvoiceID": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
                "InvoiceNumber": "INV-0412",
                "Contact": {
                    "ContactID": "c0ffee00-1111-2222-3333-444455556666",
                    "Name": "Tui Orchards Ltd",
                },
                "Date": "/Date(1764460800000+0000)/",
                "Status": "AUTHORISED",
                "LineAmountTypes": "Exclusive",
                "LineItems": [
                    {
                        "Description": "Review",
                        "Quantity": 1.0,
                        "UnitAmount": 500.0,
                        "LineAmount": 500.0,
                        "TaxAmount": 75.0,
                    }
                ],
                "SubTotal": 500.0,
                "TotalTax": 75.0,
                "Total": 575.0,
                "AmountDue": 575.0,
                "AmountPaid": 0.0,
                "CurrencyCode": "NZD",
                "UpdatedDateUTC": "/Date(1764500000000+0000)/",
            }
        ],
    }
    invoice, contact = _map(XERO, xero, AdapterConfig(tenant="xero-org-1"))
    assert (contact.sourcetype, contact.subject) == (
        "Contact",
        "c0ffee00-1111-2222-3333-444455556666",
    )
    assert contact.data == {
        "id": "c0ffee00-1111-2222-3333-444455556666",
        "legal_name": "Tui Orchards Ltd",
    }
    assert contact.sequence < invoice.sequence
    # GET /v3/company/<realm>/invoice/<id>: CustomerRef {value, name}.
    qbo = {
        "Invoice": {
            "Id": "1047",
            "SyncToken": "3",
            "MetaData": {
                "CreateTime": "2026-11-02T09:00:00-08:00",
                "LastUpdatedTime": "2026-11-03T10:12:44-08:00",
            },
            "DocNumber": "1047",
            "TxnDate": "2026-11-02",
            "CustomerRef": {"value": "58", "name": "Prairie Grain Co-op"},
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
            "Line": [
                {
                    "Id": "1",
                    "LineNum": 1,
                    "Amount": 1200.0,
                    "DetailType": "SalesItemLineDetail",
                    "Description": "Advisory",
                    "SalesItemLineDetail": {
                        "Qty": 8,
                        "UnitPrice": 150.0,
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            ],
            "TotalAmt": 1200.0,
            "Balance": 1200.0,
        },
        "time": "2026-11-03T10:12:45.000-08:00",
    }
    invoice, customer = _map(QUICKBOOKS, qbo, AdapterConfig(tenant="9130355112"))
    assert (customer.sourcetype, customer.subject) == ("Customer", "58")
    assert customer.data == {"id": "58", "legal_name": "Prairie Grain Co-op"}
    assert customer.sequence < invoice.sequence
    # A CustomerRef without a name: a link only, nothing invented.
    qbo["Invoice"]["CustomerRef"] = {"value": "58"}
    assert [e.entity for e in _map(QUICKBOOKS, qbo, AdapterConfig(tenant="9130355112"))] == [
        "invoice"
    ]
