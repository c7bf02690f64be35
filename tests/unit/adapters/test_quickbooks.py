"""QuickBooks Online adapter: key-only webhooks to fetches and deletions, invoices to changes."""

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

from adapters.quickbooks import ADAPTER
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

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "quickbooks"
REALM = "9341453215557834"
VERIFIER = "7f1d3c5b-2a4e-4c6d-8e9f-0a1b2c3d4e5f"
CONFIG = AdapterConfig(tenant=REALM, extra={"retries": "2", "backoff": "0"})


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def body(payload: Any) -> bytes:
    # Test edits write amounts as floats; the adapter reads every JSON number as a Decimal.
    return json.dumps(payload).encode()


def invoice(**changes: Any) -> dict[str, Any]:
    payload = load("invoice_open.json")
    payload["Invoice"].update(changes)
    return payload


def map_one(payload: Any, config: AdapterConfig = CONFIG) -> ChangeEnvelope:
    mapped = ADAPTER.map_payload(body(payload), config=config)
    [event] = own(mapped.events)  # after what it says of its customer
    return event


def refusal(payload: Any, config: AdapterConfig = CONFIG) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config)
    return caught.value


def sign(raw: bytes, key: str = VERIFIER) -> dict[str, str]:
    digest = hmac.new(key.encode(), raw, hashlib.sha256).digest()
    return {"intuit-signature": base64.b64encode(digest).decode()}


def test_adapter_satisfies_the_source_adapter_protocol() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "quickbooks"


def test_cloudevents_webhook_fetches_changed_invoices_and_deletes_deleted_ones() -> None:
    mapped = ADAPTER.map_payload(body(load("webhook_cloudevents.json")), config=AdapterConfig())
    assert [(f.kind, f.id, f.tenant) for f in mapped.fetches] == [
        ("Invoice", "1047", REALM),
        ("Invoice", "1039", REALM),
    ]
    assert mapped.fetches[0].hint["notification_ids"] == [
        message_id("quickbooks", "2f9a1c8e-5d34-4b7a-9e61-0c3f8b2d7a14")
    ]
    assert (mapped.fetches[0].hint["voided"], mapped.fetches[1].hint["voided"]) == (False, True)
    (deletion,) = mapped.events
    assert deletion.type == "pshub.invoice.deleted.v1"
    assert (deletion.subject, deletion.tenant, deletion.sourcetype) == ("1044", REALM, "Invoice")
    assert deletion.id == message_id("quickbooks", "e81d5b30-7c2a-4e96-b4f1-2a8d0c6e9b57")
    assert deletion.time.isoformat() == "2025-04-24T08:05:44.901000+00:00"


def test_legacy_webhook_maps_like_the_cloudevents_one() -> None:
    mapped = ADAPTER.map_payload(body(load("webhook_legacy.json")), config=AdapterConfig())
    assert [(f.id, f.hint["voided"]) for f in mapped.fetches] == [("1047", False), ("1039", True)]
    (deletion,) = mapped.events
    assert deletion.subject == "1044"
    assert deletion.id == message_id(
        "quickbooks", REALM, "Invoice", "1044", "Delete", "2025-04-24T08:05:44.000Z"
    )


def test_redelivered_notifications_get_the_same_ids() -> None:
    first = ADAPTER.map_payload(body(load("webhook_legacy.json")), config=CONFIG)
    again = ADAPTER.map_payload(body(load("webhook_legacy.json")), config=CONFIG)
    assert first.events[0].id == again.events[0].id
    assert first.fetches == again.fetches


def test_deletion_orders_after_every_version() -> None:
    mapped = ADAPTER.map_payload(body(load("webhook_cloudevents.json")), config=CONFIG)
    latest = map_one(invoice(SyncToken="999999"))
    assert latest.sequence < mapped.events[0].sequence


def test_invoice_created_and_deleted_in_one_batch_is_not_fetched() -> None:
    events = load("webhook_cloudevents.json")
    gone = copy.deepcopy(events[3])
    gone.update(id="0d7b9e1c-aaaa-4bbb-8ccc-123456789abc", intuitentityid="1047")
    mapped = ADAPTER.map_payload(body([events[0], gone]), config=CONFIG)
    assert mapped.fetches == []
    assert [e.subject for e in mapped.events] == ["1047"]


def test_webhook_about_other_entities_only_is_ignored() -> None:
    mapped = ADAPTER.map_payload(body([load("webhook_cloudevents.json")[1]]), config=CONFIG)
    assert (mapped.events, mapped.fetches) == ([], [])
    assert mapped.ignored


def test_cloudevent_without_an_entity_id_is_missing_required_id() -> None:
    events = load("webhook_cloudevents.json")
    del events[0]["intuitentityid"]
    error = refusal(events)
    assert (error.reason, error.field) == ("MISSING_REQUIRED_ID", "0.intuitentityid")


AMOUNT_KEYS = ("description", "quantity", "unit_price", "tax_rate", "net", "tax")


def test_posted_invoice_maps_with_qbo_lines_totals_and_derived_status() -> None:
    event = map_one(load("invoice_open.json"))
    assert (event.sourcetype, event.subject, event.tenant) == ("Invoice", "1047", REALM)
    assert event.time.isoformat() == "2025-04-23T16:30:02+00:00"
    assert event.sequence == "00000000000000000002"
    data = event.data
    assert data["status"] == "issued"
    assert data["number"] == "1047"
    assert data["currency"] == "USD"
    assert data["client"] == {"type": "Customer", "id": "58"}
    assert (data["issue_date"], data["due_date"]) == ("2025-04-23", "2025-05-23")
    assert data["total"] == {"amount": "4120.50", "currency": "USD"}
    assert data["amount_paid"] == {"amount": "0.00", "currency": "USD"}
    assert [{k: v for k, v in line.items() if k in AMOUNT_KEYS} for line in data["lines"]] == [
        {
            "description": "Quarterly compliance review (16 h)",
            "quantity": "16",
            "unit_price": "225",
            "tax_rate": "0.08",
            "net": {"amount": "3600.00", "currency": "USD"},
            "tax": {"amount": "288.00", "currency": "USD"},
        },
        {
            "description": "State filing fees (disbursement)",
            "quantity": "1",
            "unit_price": "412.5",
            "tax_rate": "0",
            "net": {"amount": "412.50", "currency": "USD"},
            "tax": {"amount": "0.00", "currency": "USD"},
        },
        {
            "description": "Discount",
            "quantity": "1",
            "unit_price": "-180",
            "tax_rate": "0",
            "net": {"amount": "-180.00", "currency": "USD"},
            "tax": {"amount": "0.00", "currency": "USD"},
        },
    ]


def test_subtotal_lines_are_not_invoice_lines_and_the_lines_add_up_to_the_total() -> None:
    data = map_one(load("invoice_open.json")).data
    summed = sum(
        Decimal(line["net"]["amount"]) + Decimal(line["tax"]["amount"]) for line in data["lines"]
    )
    assert summed == Decimal(data["total"]["amount"])


def test_document_tax_is_spread_over_taxable_lines_to_the_cent() -> None:
    lines = [
        {
            "Amount": 33.33,
            "DetailType": "SalesItemLineDetail",
            "Description": f"Call {n}",
            "SalesItemLineDetail": {"Qty": 1, "UnitPrice": 33.33, "TaxCodeRef": {"value": "TAX"}},
        }
        for n in (1, 2, 3)
    ]
    tax = {
        "TotalTax": 8.00,
        "TaxLine": [
            {
                "Amount": 8.00,
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {"PercentBased": True, "TaxPercent": 8, "NetAmountTaxable": 99.99},
            }
        ],
    }
    data = map_one(invoice(Line=lines, TxnTaxDetail=tax, TotalAmt=107.99, Balance=107.99)).data
    assert [line["tax"]["amount"] for line in data["lines"]] == ["2.67", "2.67", "2.66"]


def test_group_lines_are_opened_into_their_item_lines() -> None:
    group = {
        "Amount": 1500.00,
        "DetailType": "GroupLineDetail",
        "GroupLineDetail": {
            "GroupItemRef": {"value": "40", "name": "Onboarding bundle"},
            "Quantity": 1,
            "Line": [
                {
                    "Amount": 1000.00,
                    "DetailType": "SalesItemLineDetail",
                    "Description": "Kick-off workshop",
                    "SalesItemLineDetail": {
                        "Qty": 1,
                        "UnitPrice": 1000,
                        "TaxCodeRef": {"value": "NON"},
                    },
                },
                {
                    "Amount": 500.00,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": "41", "name": "Data room setup"},
                        "Qty": 2,
                        "UnitPrice": 250,
                        "TaxCodeRef": {"value": "NON"},
                    },
                },
            ],
        },
    }
    data = map_one(invoice(Line=[group], TxnTaxDetail=None, TotalAmt=1500.00, Balance=1500.00)).data
    assert [(x["description"], x["quantity"]) for x in data["lines"]] == [
        ("Kick-off workshop", "1"),
        ("Data room setup", "2"),
    ]


def test_engagement_code_comes_from_the_configured_custom_field() -> None:
    config = AdapterConfig(tenant=REALM, extra={"engagement_custom_field": "Engagement"})
    data = map_one(load("invoice_open.json"), config).data
    assert data["engagement"] == {"system": "hub", "type": "engagement_code", "id": "ENG-2025-0162"}
    assert "engagement" not in map_one(load("invoice_open.json")).data


@pytest.mark.parametrize(
    ("total", "balance", "status", "paid"),
    [
        (4120.50, 4120.50, "issued", "0.00"),
        (4120.50, 1120.50, "issued", "3000.00"),
        (4120.50, 0, "paid", "4120.50"),
    ],
)
def test_status_is_derived_from_balance_and_total(
    total: float, balance: float, status: str, paid: str
) -> None:
    data = map_one(invoice(TotalAmt=total, Balance=balance)).data
    assert (data["status"], data["amount_paid"]["amount"]) == (status, paid)


def test_zeroed_invoice_is_void_and_reports_no_amounts() -> None:
    zero_lines = [
        {
            "Amount": 0,
            "DetailType": "SalesItemLineDetail",
            "Description": "x",
            "SalesItemLineDetail": {"Qty": 0, "UnitPrice": 225},
        }
    ]
    data = map_one(
        invoice(Line=zero_lines, TotalAmt=0, Balance=0, PrivateNote="Voided", TxnTaxDetail=None)
    ).data
    assert data["status"] == "void"
    assert not {"lines", "total", "amount_paid"} & set(data)


def test_sync_token_orders_numerically() -> None:
    nine = map_one(invoice(SyncToken="9"))
    ten = map_one(invoice(SyncToken="10"))
    assert nine.sequence < ten.sequence


def test_message_id_comes_from_realm_invoice_and_sync_token() -> None:
    first = map_one(load("invoice_open.json"))
    assert first.id == map_one(load("invoice_open.json")).id
    assert first.id == message_id("quickbooks", REALM, "1047", "00000000000000000002")
    assert first.id != map_one(invoice(SyncToken="3")).id


def test_zero_decimal_yen_invoice_keeps_whole_yen() -> None:
    lines = [
        {
            "Amount": 150000,
            "DetailType": "SalesItemLineDetail",
            "Description": "Workshop",
            "SalesItemLineDetail": {"Qty": 2, "UnitPrice": 75000, "TaxCodeRef": {"value": "NON"}},
        }
    ]
    data = map_one(
        invoice(
            CurrencyRef={"value": "JPY"},
            Line=lines,
            TxnTaxDetail=None,
            TotalAmt=150000,
            Balance=150000,
        )
    ).data
    assert data["total"] == {"amount": "150000", "currency": "JPY"}
    assert data["lines"][0]["net"] == {"amount": "150000", "currency": "JPY"}


def test_yen_amount_with_a_fraction_is_refused() -> None:
    assert refusal(invoice(CurrencyRef={"value": "JPY"})).reason == "SCHEMA_VIOLATION"


def test_missing_currency_falls_back_to_the_home_currency_setting() -> None:
    payload = load("invoice_open.json")
    del payload["Invoice"]["CurrencyRef"]
    assert map_one(payload, AdapterConfig(default_currency="USD")).data["currency"] == "USD"
    assert refusal(payload).reason == "SCHEMA_VIOLATION"


def test_unknown_currency_is_refused_as_invalid_currency() -> None:
    error = refusal(invoice(CurrencyRef={"value": "US$"}))
    assert (error.reason, error.field) == ("INVALID_CURRENCY", "Invoice.CurrencyRef.value")


def test_negative_total_is_refused_as_negative_quantity() -> None:
    error = refusal(invoice(TotalAmt=-4120.50))
    assert (error.reason, error.field) == ("NEGATIVE_QUANTITY", "Invoice.TotalAmt")


def test_negative_balance_is_refused_as_negative_quantity() -> None:
    assert refusal(invoice(Balance=-1.00)).reason == "NEGATIVE_QUANTITY"


def test_invoice_without_an_id_is_missing_required_id() -> None:
    payload = load("invoice_open.json")
    del payload["Invoice"]["Id"]
    error = refusal(payload)
    assert (error.reason, error.field) == ("MISSING_REQUIRED_ID", "Invoice.Id")


def test_sync_token_that_is_not_a_number_is_a_schema_violation() -> None:
    error = refusal(invoice(SyncToken="v2"))
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "Invoice.SyncToken")


def test_unparseable_body_is_a_malformed_payload_with_status_400() -> None:
    error = refusal(b'[{"specversion": "1.0",')
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_body_of_another_shape_is_a_schema_violation() -> None:
    assert refusal({"QueryResponse": {}}).reason == "SCHEMA_VIOLATION"


def test_valid_signature_is_accepted() -> None:
    raw = body(load("webhook_cloudevents.json"))
    config = AdapterConfig(signing_secret=VERIFIER)
    assert ADAPTER.verify_signature(raw, sign(raw), config)
    assert ADAPTER.map_payload(raw, config=config, headers=sign(raw)).fetches


def test_invalid_signature_is_refused() -> None:
    raw = body(load("webhook_cloudevents.json"))
    config = AdapterConfig(signing_secret=VERIFIER)
    assert not ADAPTER.verify_signature(raw, sign(raw, key="other-verifier"), config)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config, headers=sign(raw, key="other-verifier"))
    assert (caught.value.reason, caught.value.status) == ("FORBIDDEN", 401)


def test_absent_signature_is_refused_when_a_verifier_token_is_configured() -> None:
    raw = body(load("webhook_cloudevents.json"))
    assert not ADAPTER.verify_signature(raw, {}, AdapterConfig(signing_secret=VERIFIER))
    assert ADAPTER.verify_signature(raw, {}, AdapterConfig())


def test_notified_invoice_is_fetched_from_its_realm_and_mapped() -> None:
    (request, _) = ADAPTER.map_payload(
        body(load("webhook_cloudevents.json")), config=CONFIG
    ).fetches
    path = f"/v3/company/{REALM}/invoice/1047"
    with serve({("GET", path): lambda _: Response(200, load("invoice_open.json"))}) as source:
        config = AdapterConfig(base_url=source.base_url, token="qbo-access-token")
        with httpx.Client() as client:
            mapped = ADAPTER.fetch(request, client=client, config=config)
    (seen,) = source.requests
    assert seen.headers["Authorization"] == "Bearer qbo-access-token"
    assert seen.query["minorversion"] == ["75"]
    (event,) = own(mapped.events)
    assert (event.subject, event.tenant, event.data["status"]) == ("1047", REALM, "issued")


def test_voided_invoice_is_fetched_and_reported_void() -> None:
    request = FetchRequest(kind="Invoice", id="1039", tenant=REALM, hint={"voided": True})

    def voided(_: Request) -> Response:
        payload = invoice(Id="1039", SyncToken="4", TotalAmt=0, Balance=0, PrivateNote="Voided")
        return Response(200, payload)

    path = f"/v3/company/{REALM}/invoice/1039"
    with serve({("GET", path): voided}) as source, httpx.Client() as client:
        mapped = ADAPTER.fetch(
            request, client=client, config=AdapterConfig(base_url=source.base_url)
        )
    assert own(mapped.events)[0].data["status"] == "void"


def test_fetch_that_keeps_failing_is_fetch_failed_after_bounded_retries() -> None:
    request = FetchRequest(kind="Invoice", id="1047", tenant=REALM)
    path = f"/v3/company/{REALM}/invoice/1047"
    with serve({("GET", path): lambda _: Response(500, {"Fault": {"type": "SystemFault"}})}) as src:
        config = AdapterConfig(base_url=src.base_url, extra={"retries": "2", "backoff": "0"})
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(src.requests) == 3


def test_fetch_of_a_deleted_invoice_fails_without_retrying() -> None:
    fault = {
        "Fault": {
            "Error": [{"Message": "Object Not Found", "code": "610"}],
            "type": "ValidationFault",
        }
    }
    request = FetchRequest(kind="Invoice", id="1044", tenant=REALM)
    with serve(
        {("GET", f"/v3/company/{REALM}/invoice/1044"): lambda _: Response(400, fault)}
    ) as src:
        config = AdapterConfig(base_url=src.base_url, extra={"retries": "2", "backoff": "0"})
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(src.requests) == 1


def test_out_of_range_numbers_are_refused_as_schema_violations() -> None:
    assert refusal(invoice(TotalAmt=1e300, Balance=1e300)).reason == "SCHEMA_VIOLATION"
    assert refusal(invoice(SyncToken="9" * 40)).reason == "SCHEMA_VIOLATION"
