"""Xero adapter: key-only webhooks to fetches, invoices and credit notes to invoice changes."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.xero import ADAPTER
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    FetchRequest,
    SourceAdapter,
    message_id,
)
from hub.contracts.changes import ChangeEnvelope
from tests.support.embedded import own
from tests.support.http_source import Request, Response, serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "xero"
WEBHOOK_KEY = "Xk0Fq9y1C3m0bW4Rk2mHr9R8pT6JzA1eQ7uV5sN3hL0dG8fY2cB4xW6vZ1nM3kP5"
TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
INVOICE_ID = "4f7a5d6e-2b1c-4e8f-9a3d-6c5b4a392817"
CREDIT_NOTE_ID = "7b2e9c14-8d3a-4f6b-a1c2-3e4d5f6a7b8c"
CONFIG = AdapterConfig(tenant=TENANT, extra={"retries": "2", "backoff": "0"})
TRACKED = AdapterConfig(tenant=TENANT, extra={"engagement_tracking_category": "Engagement"})


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(payload: dict[str, Any]) -> bytes:
    # Test edits write amounts as floats; the adapter reads every JSON number as a Decimal.
    return json.dumps(payload).encode()


def sign(raw: bytes, key: str = WEBHOOK_KEY) -> dict[str, str]:
    digest = hmac.new(key.encode(), raw, hashlib.sha256).digest()
    return {"x-xero-signature": base64.b64encode(digest).decode()}


def invoice(**changes: Any) -> dict[str, Any]:
    payload = load("invoice_authorised.json")
    payload["Invoices"][0].update(changes)
    return payload


def map_one(payload: dict[str, Any], config: AdapterConfig = CONFIG) -> ChangeEnvelope:
    mapped = ADAPTER.map_payload(body(payload), config=config)
    [event] = own(mapped.events)  # after what it says of its customer
    return event


def refusal(payload: dict[str, Any] | bytes, config: AdapterConfig = CONFIG) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config)
    return caught.value


def test_adapter_satisfies_the_source_adapter_protocol() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "xero"


def test_webhook_asks_to_fetch_each_invoice_and_credit_note_it_names() -> None:
    mapped = ADAPTER.map_payload(body(load("webhook_invoice_events.json")), config=AdapterConfig())
    assert mapped.events == []
    assert [(r.kind, r.id, r.tenant) for r in mapped.fetches] == [
        ("Invoice", INVOICE_ID, TENANT),
        ("CreditNote", CREDIT_NOTE_ID, TENANT),
    ]


def test_webhook_notification_ids_follow_the_xero_dedupe_key() -> None:
    first = ADAPTER.map_payload(body(load("webhook_invoice_events.json")), config=CONFIG)
    again = ADAPTER.map_payload(body(load("webhook_invoice_events.json")), config=CONFIG)
    expected = message_id(
        "xero", TENANT, "INVOICE", INVOICE_ID, "UPDATE", "2025-04-23T01:00:12.347"
    )
    assert first.fetches[0].hint["notification_ids"] == [expected]
    assert first.fetches == again.fetches
    later = load("webhook_invoice_events.json")
    later["events"][0]["eventDateUtc"] = "2025-04-23T02:00:00.000"
    changed = ADAPTER.map_payload(body(later), config=CONFIG)
    assert changed.fetches[0].hint["notification_ids"] != [expected]


def test_several_events_for_one_invoice_fetch_it_once() -> None:
    payload = load("webhook_invoice_events.json")
    repeat = copy.deepcopy(payload["events"][0])
    repeat.update(eventType="CREATE", eventDateUtc="2025-04-23T00:59:58.001")
    payload["events"].append(repeat)
    fetches = ADAPTER.map_payload(body(payload), config=CONFIG).fetches
    assert [f.id for f in fetches] == [INVOICE_ID, CREDIT_NOTE_ID]
    assert fetches[0].hint["event_types"] == ["UPDATE", "CREATE"]


def test_webhook_with_only_contact_events_is_ignored() -> None:
    payload = load("webhook_invoice_events.json")
    payload["events"] = [payload["events"][1]]
    mapped = ADAPTER.map_payload(body(payload), config=CONFIG)
    assert (mapped.events, mapped.fetches) == ([], [])
    assert mapped.ignored


def test_intent_to_receive_is_ignored() -> None:
    mapped = ADAPTER.map_payload(body(load("webhook_intent_to_receive.json")), config=CONFIG)
    assert mapped.ignored
    assert (mapped.events, mapped.fetches) == ([], [])


def test_webhook_event_without_a_resource_id_is_missing_required_id() -> None:
    payload = load("webhook_invoice_events.json")
    del payload["events"][0]["resourceId"]
    error = refusal(payload)
    assert (error.reason, error.field) == ("MISSING_REQUIRED_ID", "events.0.resourceId")


AMOUNT_KEYS = ("description", "quantity", "unit_price", "tax_rate", "net", "tax")


def test_posted_invoice_maps_to_an_issued_invoice_with_xero_lines_and_totals() -> None:
    event = map_one(load("invoice_authorised.json"))
    assert event.type == "pshub.invoice.changed.v1"
    assert (event.sourcetype, event.subject, event.tenant) == ("Invoice", INVOICE_ID, TENANT)
    assert event.time.isoformat() == "2025-04-23T01:00:12.347000+00:00"
    data = event.data
    assert data["kind"] == "invoice"
    assert data["status"] == "issued"
    assert data["number"] == "INV-0042"
    assert data["currency"] == "GBP"
    assert data["client"] == {"type": "Contact", "id": "9d3f0a8e-5c41-4b2a-8e77-1f0e2d3c4b5a"}
    assert (data["issue_date"], data["due_date"]) == ("2025-04-23", "2025-05-23")
    assert data["total"] == {"amount": "6180.44", "currency": "GBP"}
    assert data["amount_paid"] == {"amount": "0.00", "currency": "GBP"}
    assert {k: v for k, v in data["lines"][0].items() if k in AMOUNT_KEYS} == {
        "description": "Strategy workshop facilitation (2 days)",
        "quantity": "2",
        "unit_price": "1850",
        "tax_rate": "0.2",
        "net": {"amount": "3700.00", "currency": "GBP"},
        "tax": {"amount": "740.00", "currency": "GBP"},
    }
    assert "engagement" not in data


def test_discounted_line_keeps_xeros_line_amount_and_the_discounted_unit_price() -> None:
    line = map_one(load("invoice_authorised.json")).data["lines"][1]
    assert line["quantity"] == "12.5"
    assert line["unit_price"] == "108"
    assert line["net"] == {"amount": "1350.00", "currency": "GBP"}


def test_per_line_tax_rounding_is_kept_as_xero_computed_it() -> None:
    line = map_one(load("invoice_authorised.json")).data["lines"][2]
    assert line["net"]["amount"] == "100.37"
    assert line["tax"]["amount"] == "20.07"
    assert line["tax_rate"] == "0.2"


def test_line_nets_and_taxes_add_up_to_the_invoice_total() -> None:
    data = map_one(load("invoice_authorised.json")).data
    summed = sum(
        Decimal(line["net"]["amount"]) + Decimal(line["tax"]["amount"]) for line in data["lines"]
    )
    assert summed == Decimal(data["total"]["amount"])


def test_tax_inclusive_line_amounts_have_the_tax_taken_out_of_the_net() -> None:
    payload = load("invoice_authorised.json")
    document = payload["Invoices"][0]
    document["LineAmountTypes"] = "Inclusive"
    document["LineItems"] = [
        {
            "Description": "Retainer, May",
            "Quantity": 1.0,
            "UnitAmount": 1200.00,
            "TaxAmount": 200.00,
            "LineAmount": 1200.00,
            "AccountCode": "200",
        }
    ]
    document.update(SubTotal=1000.00, TotalTax=200.00, Total=1200.00)
    (line,) = map_one(payload).data["lines"]
    assert line["net"] == {"amount": "1000.00", "currency": "GBP"}
    assert line["tax"] == {"amount": "200.00", "currency": "GBP"}


def test_engagement_code_comes_from_the_configured_tracking_category() -> None:
    data = map_one(load("invoice_authorised.json"), TRACKED).data
    assert data["engagement"] == {"system": "hub", "type": "engagement_code", "id": "ENG-2025-0147"}


def test_lines_tracked_to_two_engagements_name_no_engagement() -> None:
    payload = load("invoice_authorised.json")
    payload["Invoices"][0]["LineItems"][1]["Tracking"][0]["Option"] = "ENG-2025-0199"
    assert "engagement" not in map_one(payload, TRACKED).data


@pytest.mark.parametrize(
    ("xero", "canonical"),
    [
        ("DRAFT", "draft"),
        ("SUBMITTED", "draft"),
        ("AUTHORISED", "issued"),
        ("PAID", "paid"),
        ("VOIDED", "void"),
    ],
)
def test_xero_status_maps_to_the_canonical_status(xero: str, canonical: str) -> None:
    assert map_one(invoice(Status=xero)).data["status"] == canonical


def test_partly_paid_authorised_invoice_stays_issued_with_the_amount_paid() -> None:
    data = map_one(invoice(AmountPaid=1000.00, AmountDue=5180.44)).data
    assert data["status"] == "issued"
    assert data["amount_paid"] == {"amount": "1000.00", "currency": "GBP"}


def test_a_payment_the_hub_gave_xero_is_not_counted_as_paid_into_xero() -> None:
    """A carried invoice's copy lists, among its payments (as Xero shows them), one the hub
    recorded for money paid into the system it came from (Reference marked "pshub:"): that
    money is counted where it was paid, so Xero reports only what it was paid itself."""
    listed = [
        {
            "PaymentID": "b3f0c8a2-1111-4c5e-9a7b-2c3d4e5f6a7b",
            "Date": "/Date(1773100800000+0000)/",
            "Amount": 50.00,
            "Reference": "pshub: paid into quickbooks (m-3)",
            "CurrencyRate": 1.000000,
            "HasAccount": False,
            "HasValidationErrors": False,
        },
        {
            "PaymentID": "d9e8f7a6-2222-4b5c-8d7e-6f5a4b3c2d1e",
            "Date": "/Date(1773187200000+0000)/",
            "Amount": 950.00,
            "Reference": "BACS 0042",
            "CurrencyRate": 1.000000,
        },
    ]
    data = map_one(invoice(AmountPaid=1000.00, AmountDue=5180.44, Payments=listed)).data
    assert data["amount_paid"] == {"amount": "950.00", "currency": "GBP"}
    # Payments without a reference, or none listed: AmountPaid as it stands.
    unmarked = [{**listed[1], "Reference": None, "Amount": 1000.00}]
    data = map_one(invoice(AmountPaid=1000.00, AmountDue=5180.44, Payments=unmarked)).data
    assert data["amount_paid"] == {"amount": "1000.00", "currency": "GBP"}
    # In euros, the customer's payment listed with no Reference key at all (Xero leaves out
    # what is empty), beside the hub's: only the customer's counts.
    bare = {
        "PaymentID": "0a1b2c3d-3333-4e5f-8a9b-0c1d2e3f4a5b",
        "Date": "/Date(1773273600000+0000)/",
    }
    euros = [{**listed[0], "Amount": 50.00}, {**bare, "Amount": 25.00}]
    data = map_one(
        invoice(CurrencyCode="EUR", AmountPaid=75.00, AmountDue=5105.44, Payments=euros)
    ).data
    assert data["amount_paid"] == {"amount": "25.00", "currency": "EUR"}


def test_unknown_status_is_a_schema_violation() -> None:
    error = refusal(invoice(Status="ARCHIVED"))
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "Invoices.0.Status")


def test_deleted_invoice_becomes_a_deletion_event() -> None:
    event = map_one(invoice(Status="DELETED"))
    assert event.type == "pshub.invoice.deleted.v1"
    assert event.data == {"id": INVOICE_ID}


def test_bills_are_ignored() -> None:
    mapped = ADAPTER.map_payload(body(invoice(Type="ACCPAY")), config=CONFIG)
    assert mapped.events == []
    assert "ACCPAY" in (mapped.ignored or "")


def test_credit_note_maps_to_a_credit_note_against_its_allocated_invoice() -> None:
    event = map_one(load("credit_note_authorised.json"))
    assert (event.sourcetype, event.subject) == ("CreditNote", CREDIT_NOTE_ID)
    data = event.data
    assert data["kind"] == "credit_note"
    assert data["original_invoice"] == {"type": "Invoice", "id": INVOICE_ID}
    assert data["number"] == "CN-0007"
    # PAID on a credit note: fully allocated or refunded.
    assert data["status"] == "paid"
    assert data["total"] == {"amount": "120.44", "currency": "GBP"}


def test_newer_updated_date_orders_after_the_older_one() -> None:
    older = map_one(load("invoice_authorised.json"))
    newer = map_one(invoice(Status="PAID", UpdatedDateUTC="/Date(1746000000000+0000)/"))
    assert older.sequence < newer.sequence
    assert older.id != newer.id


def test_message_id_comes_from_the_invoice_id_and_updated_date() -> None:
    first = map_one(load("invoice_authorised.json"))
    again = map_one(load("invoice_authorised.json"))
    assert (
        first.id == again.id == message_id("xero", INVOICE_ID, "2025-04-23T01:00:12.347000+00:00")
    )


def test_zero_decimal_yen_amounts_are_whole_yen() -> None:
    payload = load("invoice_authorised.json")
    document = payload["Invoices"][0]
    document["CurrencyCode"] = "JPY"
    document["LineItems"] = [
        {
            "Description": "Tokyo workshop",
            "Quantity": 2.0,
            "UnitAmount": 750000.00,
            "TaxAmount": 150000.00,
            "LineAmount": 1500000.00,
        }
    ]
    document.update(
        SubTotal=1500000.00, TotalTax=150000.00, Total=1650000.00, AmountPaid=0, AmountDue=1650000
    )
    data = map_one(payload).data
    assert data["total"] == {"amount": "1650000", "currency": "JPY"}
    assert data["lines"][0]["net"] == {"amount": "1500000", "currency": "JPY"}


def test_yen_amount_with_a_fraction_is_refused() -> None:
    error = refusal(invoice(CurrencyCode="JPY", Total=6180.44))
    assert error.reason == "SCHEMA_VIOLATION"


def test_unknown_currency_is_refused_as_invalid_currency() -> None:
    error = refusal(invoice(CurrencyCode="GBR"))
    assert (error.reason, error.field) == ("INVALID_CURRENCY", "Invoices.0.CurrencyCode")


def test_negative_total_is_refused_as_negative_quantity() -> None:
    error = refusal(invoice(Total=-10.00))
    assert (error.reason, error.field) == ("NEGATIVE_QUANTITY", "Invoices.0.Total")


def test_negative_line_quantity_is_refused_as_negative_quantity() -> None:
    payload = load("invoice_authorised.json")
    payload["Invoices"][0]["LineItems"][0]["Quantity"] = -2
    assert refusal(payload).reason == "NEGATIVE_QUANTITY"


def test_invoice_without_an_id_is_missing_required_id() -> None:
    payload = load("invoice_authorised.json")
    del payload["Invoices"][0]["InvoiceID"]
    error = refusal(payload)
    assert (error.reason, error.field) == ("MISSING_REQUIRED_ID", "Invoices.0.InvoiceID")


def test_unreadable_date_is_a_schema_violation() -> None:
    error = refusal(invoice(UpdatedDateUTC="yesterday"))
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "Invoices.0.UpdatedDateUTC")


def test_unparseable_body_is_a_malformed_payload_with_status_400() -> None:
    error = refusal(b"<Invoices><Invoice>")
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_body_of_another_shape_is_a_schema_violation() -> None:
    assert refusal({"Contacts": []}).reason == "SCHEMA_VIOLATION"


def test_valid_signature_is_accepted() -> None:
    raw = body(load("webhook_invoice_events.json"))
    config = AdapterConfig(signing_secret=WEBHOOK_KEY)
    assert ADAPTER.verify_signature(raw, sign(raw), config)
    assert ADAPTER.map_payload(raw, config=config, headers=sign(raw)).fetches


def test_invalid_signature_is_refused_even_for_the_intent_to_receive() -> None:
    raw = body(load("webhook_intent_to_receive.json"))
    config = AdapterConfig(signing_secret=WEBHOOK_KEY)
    bad = sign(raw, key="another-webhook-key")
    assert not ADAPTER.verify_signature(raw, bad, config)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config, headers=bad)
    assert (caught.value.reason, caught.value.status) == ("FORBIDDEN", 401)
    assert ADAPTER.map_payload(raw, config=config, headers=sign(raw)).ignored


def test_absent_signature_is_refused_when_a_key_is_configured() -> None:
    raw = body(load("webhook_invoice_events.json"))
    assert not ADAPTER.verify_signature(raw, {}, AdapterConfig(signing_secret=WEBHOOK_KEY))
    assert ADAPTER.verify_signature(raw, {}, AdapterConfig())


def invoice_route(payload: dict[str, Any]) -> Any:
    def handle(request: Request) -> Response:
        return Response(200, payload)

    return handle


def test_notification_is_fetched_with_the_tenant_header_and_mapped() -> None:
    (request,) = [
        r
        for r in ADAPTER.map_payload(
            body(load("webhook_invoice_events.json")), config=CONFIG
        ).fetches
        if r.kind == "Invoice"
    ]
    path = f"/api.xro/2.0/Invoices/{INVOICE_ID}"
    with serve({("GET", path): invoice_route(load("invoice_authorised.json"))}) as source:
        config = AdapterConfig(base_url=source.base_url, token="xero-access-token")
        with httpx.Client() as client:
            mapped = ADAPTER.fetch(request, client=client, config=config)
    (seen,) = source.requests
    assert seen.headers["Xero-tenant-id"] == TENANT
    assert seen.headers["Authorization"] == "Bearer xero-access-token"
    (event,) = own(mapped.events)
    assert (event.subject, event.tenant, event.data["status"]) == (INVOICE_ID, TENANT, "issued")


def test_credit_note_notification_fetches_the_credit_note() -> None:
    request = FetchRequest(kind="CreditNote", id=CREDIT_NOTE_ID, tenant=TENANT)
    path = f"/api.xro/2.0/CreditNotes/{CREDIT_NOTE_ID}"
    route = invoice_route(load("credit_note_authorised.json"))
    with serve({("GET", path): route}) as source, httpx.Client() as client:
        mapped = ADAPTER.fetch(
            request, client=client, config=AdapterConfig(base_url=source.base_url)
        )
    assert own(mapped.events)[0].data["kind"] == "credit_note"


def test_fetched_bill_is_ignored() -> None:
    request = FetchRequest(kind="Invoice", id=INVOICE_ID, tenant=TENANT)
    path = f"/api.xro/2.0/Invoices/{INVOICE_ID}"
    with (
        serve({("GET", path): invoice_route(invoice(Type="ACCPAY"))}) as source,
        httpx.Client() as client,
    ):
        mapped = ADAPTER.fetch(
            request, client=client, config=AdapterConfig(base_url=source.base_url)
        )
    assert mapped.events == []
    assert mapped.ignored


def test_fetch_that_keeps_failing_is_fetch_failed_after_bounded_retries() -> None:
    request = FetchRequest(kind="Invoice", id=INVOICE_ID, tenant=TENANT)
    path = f"/api.xro/2.0/Invoices/{INVOICE_ID}"
    with serve({("GET", path): lambda _: Response(503, {"Title": "Service Unavailable"})}) as src:
        config = AdapterConfig(base_url=src.base_url, extra={"retries": "2", "backoff": "0"})
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(src.requests) == 3


def test_fetch_of_a_missing_document_fails_without_retrying() -> None:
    request = FetchRequest(kind="Invoice", id=INVOICE_ID, tenant=TENANT)
    with serve({}) as src:
        config = AdapterConfig(base_url=src.base_url, extra={"retries": "2", "backoff": "0"})
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(src.requests) == 1


def test_fetch_from_an_unreachable_source_is_fetch_failed() -> None:
    request = FetchRequest(kind="Invoice", id=INVOICE_ID, tenant=TENANT)
    with serve({}) as src:
        base_url = src.base_url
    config = AdapterConfig(base_url=base_url, extra={"retries": "1", "backoff": "0"})
    with httpx.Client() as client, pytest.raises(AdapterError) as caught:
        ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"


def test_out_of_range_numbers_are_refused_as_schema_violations() -> None:
    error = refusal(invoice(UpdatedDateUTC="/Date(99999999999999999999+0000)/"))
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "Invoices.0.UpdatedDateUTC")
    assert refusal(invoice(Total=1e300)).reason == "SCHEMA_VIOLATION"
