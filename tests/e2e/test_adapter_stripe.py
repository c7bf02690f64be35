"""Stripe end to end: a signed webhook event in, an invoice golden record and its xref out,
through NATS JetStream and the hub's ingest."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest

from tests.e2e.adapter_support import (
    accepted,
    applied,
    fixture,
    known_engagement,
    money,
    problem,
    raw,
    record,
    redeliver_outside_window,
    stream_messages,
)
from tests.support.running import Running

SECRET = "whsec_e2e_7d0c1b2a"
INVOICE = "in_1RGx9a2eZvKYlo2CkP7hQd3E"
JPY_INVOICE = "in_1RH2Kw2eZvKYlo2CJpyInv01"
CUSTOMER = "cus_S3lP0qV9wYt2Xa"


@pytest.fixture(autouse=True)
def signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_STRIPE_SIGNING_SECRET", SECRET)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}"}


def deliver(running: Running, payload: dict[str, Any]) -> list[str]:
    body = raw(payload)
    return accepted(running.webhook("stripe", body, headers=signed(body)))


def test_a_finalized_then_paid_invoice_becomes_an_issued_then_paid_golden_record(
    running: Running,
) -> None:
    client_id, engagement_id = known_engagement(
        running, code="ENG-2025-0147", currency="USD", client="HC-147"
    )

    [finalized] = deliver(running, fixture("stripe", "invoice_finalized.json"))
    [invoice_id] = applied(running, [finalized])
    issued = record(running, "stripe", "invoice", INVOICE)
    assert issued["id"] == invoice_id
    assert issued["xrefs"] == [{"system": "stripe", "tenant": "", "type": "invoice", "id": INVOICE}]
    assert issued["status"] == "issued"
    assert issued["kind"] == "invoice"
    assert issued["number"] == "NWA-2025-0042"
    assert issued["currency"] == "USD"
    # The engagement code in metadata names the engagement; its client is the invoice's.
    assert issued["engagement_id"] == engagement_id
    assert issued["client_id"] == client_id
    assert (issued["issue_date"], issued["due_date"]) == ("2025-04-23", "2025-05-23")
    assert [
        (line["description"], line["quantity"], line["unit_price"], line["tax_rate"])
        for line in issued["lines"]
    ] == [
        ("Advisory services, April 2025 (40 h)", "40", "250", "0.2"),
        ("Travel expenses rebilled at cost", "1", "450.75", "0.2"),
    ]
    assert [(line["net"], line["tax"]) for line in issued["lines"]] == [
        (money("10000.00", "USD"), money("2000.00", "USD")),
        (money("450.75", "USD"), money("90.15", "USD")),
    ]
    assert issued["subtotal"] == money("10450.75", "USD")
    assert issued["tax_total"] == money("2090.15", "USD")
    assert issued["total"] == money("12540.90", "USD")
    assert issued["open_balance"] == money("12540.90", "USD")
    assert issued["payments"] == []

    [paid_message] = deliver(running, fixture("stripe", "invoice_paid.json"))
    assert applied(running, [paid_message]) == [invoice_id]
    paid = record(running, "stripe", "invoice", INVOICE)
    assert paid["status"] == "paid"
    assert paid["open_balance"] == money("0.00", "USD")
    assert [(p["amount"], p["paid_on"]) for p in paid["payments"]] == [
        (money("12540.90", "USD"), "2025-04-30")
    ]
    assert paid["total"] == issued["total"]
    assert paid["lines"] == issued["lines"]
    # The billing system's customer reference has learned the engagement's client.
    assert record(running, "stripe", "customer", CUSTOMER)["id"] == client_id


def test_a_zero_decimal_currency_invoice_keeps_yen_amounts_without_minor_units(
    running: Running,
) -> None:
    client_id, engagement_id = known_engagement(
        running,
        code="ENG-2025-0150",
        currency="JPY",
        client="HC-150",
        legal_name="Kabushiki Kaisha Contoso",
        country="JP",
    )

    [message] = deliver(running, fixture("stripe", "invoice_jpy.json"))
    [invoice_id] = applied(running, [message])
    invoice = record(running, "stripe", "invoice", JPY_INVOICE)
    assert invoice["id"] == invoice_id
    assert (invoice["client_id"], invoice["engagement_id"]) == (client_id, engagement_id)
    assert (invoice["status"], invoice["currency"]) == ("issued", "JPY")
    # ¥1,500,000 is sent as 1500000 (no x100) and written with no fraction digits.
    [line] = invoice["lines"]
    assert (line["quantity"], line["unit_price"], line["tax_rate"]) == ("2", "750000", "0.1")
    assert (line["net"], line["tax"]) == (money("1500000", "JPY"), money("150000", "JPY"))
    assert invoice["subtotal"] == money("1500000", "JPY")
    assert invoice["tax_total"] == money("150000", "JPY")
    assert invoice["total"] == money("1650000", "JPY")


def test_a_wrong_stripe_signature_is_refused_as_forbidden_and_nothing_is_published(
    running: Running,
) -> None:
    body = raw(fixture("stripe", "invoice_finalized.json"))
    before = stream_messages(running)

    response = running.webhook("stripe", body, headers=signed(body, secret="whsec_someone_else"))
    problem(response, 401, "FORBIDDEN")
    unsigned = running.webhook("stripe", body)
    problem(unsigned, 401, "FORBIDDEN")

    assert stream_messages(running) == before
    assert running.xref("stripe", "invoice", INVOICE).status_code == 404


def test_a_redelivered_event_is_a_duplicate_with_a_single_effect(running: Running) -> None:
    known_engagement(running, code="ENG-2025-0147", currency="USD", client="HC-147")
    finalized = fixture("stripe", "invoice_finalized.json")
    paid = fixture("stripe", "invoice_paid.json")
    [first] = deliver(running, finalized)
    [payment] = deliver(running, paid)
    applied(running, [first, payment])
    once = record(running, "stripe", "invoice", INVOICE)
    stored = stream_messages(running)

    # Stripe delivers at least once: the same event ids again, in the opposite order.
    assert deliver(running, paid) == [payment]
    assert deliver(running, finalized) == [first]

    assert stream_messages(running) == stored
    for message in (first, payment):
        outcome = running.outcome(message)
        assert (outcome["status"], outcome["deliveries"]) == ("applied", 1)
    again = record(running, "stripe", "invoice", INVOICE)
    assert again["version"] == once["version"]
    assert [p["amount"] for p in again["payments"]] == [money("12540.90", "USD")]

    # Past JetStream's duplicate window (no Nats-Msg-Id): the hub's message table drops it.
    assert redeliver_outside_window(running, payment)["deliveries"] == 2
    later = record(running, "stripe", "invoice", INVOICE)
    assert later["version"] == once["version"]
    assert len(later["payments"]) == 1


def test_a_body_that_is_not_json_is_refused_as_malformed_and_nothing_is_published(
    running: Running,
) -> None:
    body = b'{"id": "evt_1", "type": "invoice.paid", '
    before = stream_messages(running)

    response = running.webhook("stripe", body, headers=signed(body))

    problem(response, 400, "MALFORMED_PAYLOAD")
    assert stream_messages(running) == before
