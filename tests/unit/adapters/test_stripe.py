"""Stripe adapter: invoice and credit note events to canonical invoice changes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.stripe import ADAPTER, StripeAdapter
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    FetchRequest,
    SourceAdapter,
    message_id,
)
from hub.contracts.changes import ChangeEnvelope
from tests.support.http_source import Request, Response, serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe"
SECRET = "whsec_test_5f1e0d8c7b6a"
CONFIG = AdapterConfig(tenant="acct_northwind", extra={"retries": "2", "backoff": "0"})
INVOICE_ID = "in_1RGx9a2eZvKYlo2CkP7hQd3E"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def map_one(
    payload: dict[str, Any], config: AdapterConfig = CONFIG, **kwargs: Any
) -> ChangeEnvelope:
    mapped = ADAPTER.map_payload(body(payload), config=config, **kwargs)
    assert len(mapped.events) == 1, mapped
    return mapped.events[0]


def refusal(payload: dict[str, Any] | bytes, config: AdapterConfig = CONFIG) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config)
    return caught.value


def with_currency(payload: dict[str, Any], currency: str, minor: int) -> dict[str, Any]:
    """One untaxed line of `minor` units in `currency`."""
    changed = copy.deepcopy(payload)
    invoice = changed["data"]["object"]
    invoice["currency"] = currency
    line = invoice["lines"]["data"][0]
    line.update(amount=minor, quantity=1, taxes=[])
    line["pricing"]["unit_amount_decimal"] = str(minor)
    invoice["lines"]["data"] = [line]
    for key in ("total", "amount_due", "amount_remaining", "subtotal", "total_excluding_tax"):
        invoice[key] = minor
    invoice["subtotal_excluding_tax"] = minor
    invoice["total_taxes"] = []
    return changed


AMOUNT_KEYS = ("description", "quantity", "unit_price", "tax_rate", "net", "tax")


def amounts(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines' billed substance, without the codes and periods kept beside it."""
    return [{k: line[k] for k in AMOUNT_KEYS} for line in lines]


def sign(raw: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest},v0=6ffbb59b2300aae63f272406069a9788"}


def test_adapter_satisfies_the_source_adapter_protocol() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "stripe"


def test_finalized_invoice_maps_to_an_issued_invoice_with_stripe_lines_and_totals() -> None:
    event = map_one(load("invoice_finalized.json"))

    assert event.type == "pshub.invoice.changed.v1"
    assert event.source == "/stripe/acct_northwind"
    assert event.sourcetype == "invoice"
    assert event.subject == INVOICE_ID
    assert event.tenant == "acct_northwind"
    assert event.time.isoformat() == "2025-04-23T01:00:00+00:00"
    data = event.data
    assert data["kind"] == "invoice"
    assert data["status"] == "issued"
    assert data["number"] == "NWA-2025-0042"
    assert data["currency"] == "USD"
    assert data["client"] == {"type": "customer", "id": "cus_S3lP0qV9wYt2Xa"}
    assert data["issue_date"] == "2025-04-23"
    assert data["due_date"] == "2025-05-23"
    assert data["total"] == {"amount": "12540.90", "currency": "USD"}
    assert data["amount_paid"] == {"amount": "0.00", "currency": "USD"}
    assert amounts(data["lines"]) == [
        {
            "description": "Advisory services, April 2025 (40 h)",
            "quantity": "40",
            "unit_price": "250",
            "tax_rate": "0.2",
            "net": {"amount": "10000.00", "currency": "USD"},
            "tax": {"amount": "2000.00", "currency": "USD"},
        },
        {
            "description": "Travel expenses rebilled at cost",
            "quantity": "1",
            "unit_price": "450.75",
            "tax_rate": "0.2",
            "net": {"amount": "450.75", "currency": "USD"},
            "tax": {"amount": "90.15", "currency": "USD"},
        },
    ]


def test_line_nets_and_taxes_add_up_to_the_invoice_total() -> None:
    data = map_one(load("invoice_finalized.json")).data
    lines = data["lines"]
    summed = sum(Decimal(line["net"]["amount"]) + Decimal(line["tax"]["amount"]) for line in lines)
    assert summed == Decimal(data["total"]["amount"])


def test_engagement_code_in_metadata_becomes_a_hub_engagement_code_reference() -> None:
    data = map_one(load("invoice_finalized.json")).data
    assert data["engagement"] == {"system": "hub", "type": "engagement_code", "id": "ENG-2025-0147"}


def test_engagement_metadata_key_is_configurable() -> None:
    payload = load("invoice_finalized.json")
    payload["data"]["object"]["metadata"] = {"pshub_engagement": "ENG-9"}
    config = AdapterConfig(extra={"engagement_metadata_key": "pshub_engagement"})
    assert map_one(payload, config).data["engagement"]["id"] == "ENG-9"


def test_invoice_without_engagement_metadata_leaves_the_engagement_unreported() -> None:
    payload = load("invoice_finalized.json")
    payload["data"]["object"]["metadata"] = {}
    assert "engagement" not in map_one(payload).data


def test_paid_invoice_maps_to_paid_with_the_amount_paid() -> None:
    data = map_one(load("invoice_paid.json")).data
    assert data["status"] == "paid"
    assert data["amount_paid"] == {"amount": "12540.90", "currency": "USD"}


def test_partially_paid_open_invoice_stays_issued_with_the_amount_paid() -> None:
    payload = load("invoice_finalized.json")
    payload["data"]["object"].update(amount_paid=500000, amount_remaining=754090)
    data = map_one(payload).data
    assert data["status"] == "issued"
    assert data["amount_paid"] == {"amount": "5000.00", "currency": "USD"}


def test_uncollectible_invoice_stays_issued() -> None:
    payload = load("invoice_finalized.json")
    payload["type"] = "invoice.marked_uncollectible"
    invoice = payload["data"]["object"]
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = 1750000000
    assert map_one(payload).data["status"] == "issued"


def test_voided_invoice_maps_to_void() -> None:
    payload = load("invoice_finalized.json")
    payload["type"] = "invoice.voided"
    invoice = payload["data"]["object"]
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = 1745400000
    assert map_one(payload).data["status"] == "void"


def test_draft_invoice_maps_to_draft_without_number_or_issue_date() -> None:
    data = map_one(load("invoice_created.json")).data
    assert data["status"] == "draft"
    assert "number" not in data
    assert "issue_date" not in data


def test_unknown_invoice_status_is_a_schema_violation() -> None:
    payload = load("invoice_finalized.json")
    payload["data"]["object"]["status"] = "archived"
    error = refusal(payload)
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "data.object.status")


def test_deleted_draft_becomes_a_deletion_event() -> None:
    event = map_one(load("invoice_deleted.json"))
    assert event.type == "pshub.invoice.deleted.v1"
    assert event.is_deletion
    assert event.subject == INVOICE_ID
    assert event.data == {"id": INVOICE_ID}


def test_deletion_orders_after_the_draft_it_deletes() -> None:
    created = map_one(load("invoice_created.json"))
    deleted = map_one(load("invoice_deleted.json"))
    assert created.sequence < deleted.sequence


def test_zero_decimal_jpy_amounts_are_whole_yen() -> None:
    data = map_one(load("invoice_jpy.json")).data
    assert data["currency"] == "JPY"
    assert data["total"] == {"amount": "1650000", "currency": "JPY"}
    assert data["lines"][0]["unit_price"] == "750000"
    assert data["lines"][0]["net"] == {"amount": "1500000", "currency": "JPY"}
    assert data["lines"][0]["tax"] == {"amount": "150000", "currency": "JPY"}


@pytest.mark.parametrize(
    ("currency", "minor", "amount"),
    [
        ("krw", 1500000, "1500000"),
        # ISK: zero-decimal in ISO 4217, two-decimal in Stripe's API (multiples of 100).
        ("isk", 5000000, "50000"),
        # UGX likewise; HUF and TWD are two-decimal in both.
        ("ugx", 370000000, "3700000"),
        ("huf", 15000000, "150000.00"),
        ("twd", 3250050, "32500.50"),
        # MGA: zero-decimal in Stripe's API, two-decimal in ISO 4217.
        ("mga", 450000, "450000.00"),
        ("kwd", 125250, "125.250"),
        ("gbp", 99, "0.99"),
    ],
)
def test_amounts_use_stripes_exponent_table_and_the_iso_exponent(
    currency: str, minor: int, amount: str
) -> None:
    data = map_one(with_currency(load("invoice_finalized.json"), currency, minor)).data
    assert data["total"] == {"amount": amount, "currency": currency.upper()}
    assert data["lines"][0]["net"]["amount"] == amount


def test_fractional_isk_amount_is_refused() -> None:
    error = refusal(with_currency(load("invoice_finalized.json"), "isk", 4010))
    assert error.reason == "SCHEMA_VIOLATION"
    assert error.field.startswith("data.object.")


def test_unknown_currency_is_refused_as_invalid_currency() -> None:
    error = refusal(with_currency(load("invoice_finalized.json"), "xyz", 1000))
    assert (error.reason, error.field) == ("INVALID_CURRENCY", "data.object.currency")
    assert error.status == 422


def test_negative_invoice_total_is_refused_as_negative_quantity() -> None:
    payload = load("invoice_finalized.json")
    payload["data"]["object"]["total"] = -100
    error = refusal(payload)
    assert (error.reason, error.field) == ("NEGATIVE_QUANTITY", "data.object.total")


def test_negative_line_quantity_is_refused_as_negative_quantity() -> None:
    payload = load("invoice_finalized.json")
    payload["data"]["object"]["lines"]["data"][0]["quantity"] = -40
    assert refusal(payload).reason == "NEGATIVE_QUANTITY"


def test_missing_invoice_id_is_refused_as_missing_required_id() -> None:
    payload = load("invoice_finalized.json")
    del payload["data"]["object"]["id"]
    error = refusal(payload)
    assert (error.reason, error.field) == ("MISSING_REQUIRED_ID", "data.object.id")


def test_missing_event_id_is_refused_as_missing_required_id() -> None:
    payload = load("invoice_finalized.json")
    del payload["id"]
    assert refusal(payload).reason == "MISSING_REQUIRED_ID"


def test_unparseable_body_is_a_malformed_payload_with_status_400() -> None:
    error = refusal(b'{"id": "evt_1", "object": "event",')
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_body_that_is_not_an_event_is_a_schema_violation() -> None:
    assert refusal(body(load("invoice_lines_page2.json"))).reason == "SCHEMA_VIOLATION"


def test_float_amount_is_a_schema_violation() -> None:
    payload = load("invoice_finalized.json")
    raw = body(payload).replace(b'"total": 1254090', b'"total": 12540.9')
    assert refusal(raw).reason == "SCHEMA_VIOLATION"


def test_event_types_that_are_not_invoices_or_credit_notes_are_ignored() -> None:
    payload = load("invoice_finalized.json")
    payload["type"] = "customer.updated"
    mapped = ADAPTER.map_payload(body(payload), config=CONFIG)
    assert mapped.events == []
    assert mapped.ignored


def test_legacy_inclusive_tax_is_taken_out_of_the_line_net() -> None:
    data = map_one(load("invoice_legacy_inclusive_tax.json")).data
    assert data["status"] == "paid"
    assert amounts(data["lines"]) == [
        {
            "description": "1 \u00d7 Knowledge-base retainer (at €120.00 / month)",
            "quantity": "1",
            "unit_price": "120",
            "tax_rate": "0.2",
            "net": {"amount": "100.00", "currency": "EUR"},
            "tax": {"amount": "20.00", "currency": "EUR"},
        }
    ]
    assert data["total"] == {"amount": "120.00", "currency": "EUR"}


def test_credit_note_maps_to_a_credit_note_against_the_original_invoice() -> None:
    event = map_one(load("credit_note_created.json"))
    assert event.sourcetype == "credit_note"
    assert event.subject == "cn_1RJ4Qm2eZvKYlo2CxV8sKp1D"
    data = event.data
    assert data["kind"] == "credit_note"
    assert data["status"] == "issued"
    assert data["original_invoice"] == {"type": "invoice", "id": INVOICE_ID}
    assert data["number"] == "NWA-2025-0042-CN-01"
    assert data["issue_date"] == "2025-05-01"
    assert data["total"] == {"amount": "240.00", "currency": "USD"}
    assert data["lines"][0]["net"] == {"amount": "200.00", "currency": "USD"}
    assert data["lines"][0]["tax"] == {"amount": "40.00", "currency": "USD"}


def test_voided_credit_note_maps_to_void_and_orders_after_its_issue() -> None:
    issued = map_one(load("credit_note_created.json"))
    payload = load("credit_note_created.json")
    payload.update(id="evt_1RJ9Vd2eZvKYlo2CVoidCn01", type="credit_note.voided", created=1746200000)
    payload["data"]["object"].update(status="void", voided_at=1746200000)
    voided = map_one(payload)
    assert voided.data["status"] == "void"
    assert issued.sequence < voided.sequence


def test_invoice_states_order_by_their_transitions_not_by_arrival() -> None:
    draft = map_one(load("invoice_created.json"))
    finalized = map_one(load("invoice_finalized.json"))
    paid = map_one(load("invoice_paid.json"))
    assert draft.sequence < finalized.sequence < paid.sequence


def test_two_edits_of_a_draft_order_by_the_event_creation_time() -> None:
    first = load("invoice_created.json")
    second = copy.deepcopy(first)
    second.update(id="evt_1RGxA02eZvKYlo2CUpd8te01", type="invoice.updated", created=1745366999)
    assert map_one(first).sequence < map_one(second).sequence


def test_a_redelivered_event_gets_the_same_message_id_and_sequence() -> None:
    once = map_one(load("invoice_paid.json"))
    again = map_one(load("invoice_paid.json"))
    assert (once.id, once.sequence) == (again.id, again.sequence)
    assert once.id != map_one(load("invoice_finalized.json")).id


def test_connect_account_in_the_event_is_the_tenant_before_the_settings() -> None:
    payload = load("invoice_finalized.json")
    payload["account"] = "acct_1ConnectedXyZ"
    assert map_one(payload).tenant == "acct_1ConnectedXyZ"
    assert map_one(load("invoice_finalized.json"), AdapterConfig(), tenant="t9").tenant == "t9"


def test_calendar_dates_are_taken_in_the_configured_time_zone() -> None:
    config = AdapterConfig(extra={"time_zone": "America/New_York"})
    data = map_one(load("invoice_finalized.json"), config).data
    assert data["issue_date"] == "2025-04-22"
    assert data["due_date"] == "2025-05-22"


def test_valid_signature_is_accepted() -> None:
    raw = body(load("invoice_finalized.json"))
    config = AdapterConfig(signing_secret=SECRET)
    assert ADAPTER.verify_signature(raw, sign(raw), config)
    assert ADAPTER.map_payload(raw, config=config, headers=sign(raw)).events


def test_signature_made_with_another_secret_is_refused() -> None:
    raw = body(load("invoice_finalized.json"))
    config = AdapterConfig(signing_secret=SECRET)
    assert not ADAPTER.verify_signature(raw, sign(raw, secret="whsec_other"), config)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config, headers=sign(raw, secret="whsec_other"))
    assert (caught.value.reason, caught.value.status) == ("FORBIDDEN", 401)


def test_signature_over_another_body_is_refused() -> None:
    raw = body(load("invoice_finalized.json"))
    headers = sign(raw)
    tampered = raw.replace(b"1254090", b"1254091")
    assert not ADAPTER.verify_signature(tampered, headers, AdapterConfig(signing_secret=SECRET))


def test_absent_signature_is_refused_when_a_secret_is_configured() -> None:
    raw = body(load("invoice_finalized.json"))
    config = AdapterConfig(signing_secret=SECRET)
    assert not ADAPTER.verify_signature(raw, {}, config)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config, headers={"Content-Type": "application/json"})
    assert caught.value.reason == "FORBIDDEN"


def test_signature_older_than_the_tolerance_is_refused() -> None:
    raw = body(load("invoice_finalized.json"))
    adapter = StripeAdapter(clock=lambda: 1_745_370_000.0)
    config = AdapterConfig(signing_secret=SECRET)
    assert adapter.verify_signature(raw, sign(raw, at=1_745_369_900), config)
    assert not adapter.verify_signature(raw, sign(raw, at=1_745_369_000), config)


@pytest.mark.parametrize("stamp", ["\u00b2", "\u0663", "", "12a", "-5"])
def test_a_signature_whose_timestamp_is_not_ascii_digits_is_refused_not_a_crash(
    stamp: str,
) -> None:
    raw = body(load("invoice_finalized.json"))
    headers = {"Stripe-Signature": f"t={stamp},v1=00"}  # a header arrives decoded as latin-1
    assert not ADAPTER.verify_signature(raw, headers, AdapterConfig(signing_secret=SECRET))


def test_no_signature_is_needed_without_a_secret() -> None:
    raw = body(load("invoice_finalized.json"))
    assert ADAPTER.verify_signature(raw, {}, AdapterConfig())


def test_event_with_paged_lines_waits_for_a_fetch_of_the_rest() -> None:
    mapped = ADAPTER.map_payload(body(load("invoice_lines_has_more.json")), config=CONFIG)
    assert mapped.events == []
    (request,) = mapped.fetches
    assert (request.kind, request.id) == ("invoice_lines", INVOICE_ID)
    assert request.tenant == "acct_northwind"
    assert request.hint["starting_after"] == "il_1RGx9b2eZvKYlo2C0mJ8dWqA"


def test_present_lines_of_a_paged_event_are_checked_at_once() -> None:
    payload = load("invoice_lines_has_more.json")
    payload["data"]["object"]["lines"]["data"][0]["quantity"] = -1
    assert refusal(payload).reason == "NEGATIVE_QUANTITY"


def lines_route(pages: dict[str | None, dict[str, Any]]) -> Any:
    def handle(request: Request) -> Response:
        after = request.query.get("starting_after", [None])[0]
        return Response(200, pages[after])

    return handle


def test_fetch_pages_through_the_remaining_lines_and_reports_the_whole_invoice() -> None:
    (request,) = ADAPTER.map_payload(
        body(load("invoice_lines_has_more.json")), config=CONFIG
    ).fetches
    pages = {
        "il_1RGx9b2eZvKYlo2C0mJ8dWqA": load("invoice_lines_page2.json"),
        "il_1RGx9c2eZvKYlo2Cq2Fh6TnB": load("invoice_lines_page3.json"),
    }
    path = f"/v1/invoices/{INVOICE_ID}/lines"
    with serve({("GET", path): lines_route(pages)}) as source:
        config = AdapterConfig(base_url=source.base_url, token="sk_test_123", extra=CONFIG.extra)
        with httpx.Client() as client:
            result = ADAPTER.fetch(request, client=client, config=config)

    assert [r.query["starting_after"] for r in source.requests] == [
        ["il_1RGx9b2eZvKYlo2C0mJ8dWqA"],
        ["il_1RGx9c2eZvKYlo2Cq2Fh6TnB"],
    ]
    assert source.requests[0].headers["Authorization"] == "Bearer sk_test_123"
    assert source.requests[0].headers["Stripe-Version"] == "2025-03-31.basil"
    (event,) = result.events
    lines = event.data["lines"]
    assert [line["description"] for line in lines] == [
        "Advisory services, April 2025 (40 h)",
        "Travel expenses rebilled at cost",
        "Contract document review",
    ]
    # The discount comes off the billing system's net; tax is on the discounted net.
    assert lines[2]["net"] == {"amount": "540.00", "currency": "USD"}
    assert lines[2]["tax"] == {"amount": "108.00", "currency": "USD"}
    summed = sum(Decimal(x["net"]["amount"]) + Decimal(x["tax"]["amount"]) for x in lines)
    assert summed == Decimal(event.data["total"]["amount"])
    # The one change of the webhook event: its id, ordered among the invoice's other events.
    assert event.id == message_id("stripe", "evt_1RH5Mn2eZvKYlo2CPaged001")
    assert event.sequence == map_one(load("invoice_finalized.json")).sequence
    assert event.sequence < map_one(load("invoice_paid.json")).sequence


def test_fetch_that_keeps_failing_is_fetch_failed_after_bounded_retries() -> None:
    request = FetchRequest(kind="invoice_lines", id=INVOICE_ID, tenant="acct_northwind")
    path = f"/v1/invoices/{INVOICE_ID}/lines"
    with serve({("GET", path): lambda _: Response(500, {"error": {"type": "api_error"}})}) as src:
        config = AdapterConfig(base_url=src.base_url, extra={"retries": "2", "backoff": "0"})
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(src.requests) == 3


def test_fetch_that_times_out_is_fetch_failed() -> None:
    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return Response(200, {"object": "list", "data": [], "has_more": False})

    request = FetchRequest(kind="invoice_lines", id=INVOICE_ID, tenant="acct_northwind")
    with serve({("GET", f"/v1/invoices/{INVOICE_ID}/lines"): slow}) as src:
        extra = {"retries": "1", "backoff": "0", "timeout": "0.1"}
        config = AdapterConfig(base_url=src.base_url, extra=extra)
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            ADAPTER.fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(src.requests) == 2


def test_fetch_of_an_unknown_kind_is_refused() -> None:
    with httpx.Client() as client, pytest.raises(AdapterError):
        ADAPTER.fetch(
            FetchRequest(kind="charge", id="ch_1", tenant=""), client=client, config=CONFIG
        )


def test_out_of_range_numbers_are_refused_as_schema_violations() -> None:
    far_future = load("invoice_finalized.json")
    far_future["data"]["object"]["due_date"] = 10**20
    assert refusal(far_future).reason == "SCHEMA_VIOLATION"
    huge = with_currency(load("invoice_finalized.json"), "usd", 10**40)
    assert refusal(huge).reason == "SCHEMA_VIOLATION"
