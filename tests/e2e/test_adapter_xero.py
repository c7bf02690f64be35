"""Xero end to end: a signed key-only webhook in, the hub fetches each document it names from
a loopback Xero API, and invoice golden records and xrefs come out of ingest."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest

from hub.exceptions import ExceptionCase
from tests.e2e.adapter_support import (
    accepted,
    applied,
    documents,
    fixture,
    known_engagement,
    money,
    problem,
    raw,
    record,
    stream_messages,
)
from tests.support.feeding import until
from tests.support.http_source import Request, Response, SourceServer, serve
from tests.support.running import Running

SECRET = "xero-webhook-key-3f9a"
TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
INVOICE = "4f7a5d6e-2b1c-4e8f-9a3d-6c5b4a392817"
CREDIT_NOTE = "7b2e9c14-8d3a-4f6b-a1c2-3e4d5f6a7b8c"
CONTACT = "9d3f0a8e-5c41-4b2a-8e77-1f0e2d3c4b5a"
INVOICE_PATH = f"/api.xro/2.0/Invoices/{INVOICE}"
CREDIT_NOTE_PATH = f"/api.xro/2.0/CreditNotes/{CREDIT_NOTE}"


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"x-xero-signature": base64.b64encode(digest).decode()}


def deliver(running: Running, payload: dict[str, Any]) -> Any:
    body = raw(payload)
    return running.webhook("xero", body, headers=signed(body))


def answer(payload: dict[str, Any]) -> Callable[[Request], Response]:
    return lambda request: Response(200, payload)


def failing(request: Request) -> Response:
    return Response(500, {"Type": "InternalError", "Message": "An error occurred in Xero"})


@pytest.fixture
def xero_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceServer]:
    """A loopback Xero API serving the invoice and credit note the webhook names."""
    routes = {
        ("GET", INVOICE_PATH): answer(fixture("xero", "invoice_authorised.json")),
        ("GET", CREDIT_NOTE_PATH): answer(fixture("xero", "credit_note_authorised.json")),
    }
    with serve(routes) as server:
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_BASE_URL", server.base_url)
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_TOKEN", "xero-access-token")
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_ENGAGEMENT_TRACKING_CATEGORY", "Engagement")
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_RETRIES", "2")
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_BACKOFF", "0")
        yield server


def test_a_key_only_webhook_is_fetched_from_xero_and_becomes_an_invoice_and_its_credit_note(
    running: Running, xero_api: SourceServer
) -> None:
    client_id, engagement_id = known_engagement(
        running, code="ENG-2025-0147", currency="GBP", client="HC-147", country="GB"
    )

    messages = documents(
        running, accepted(deliver(running, fixture("xero", "webhook_invoice_events.json")))
    )

    # The contact event is not fetched; each document is fetched for its tenant.
    fetched = [(r.path, r.headers["Xero-tenant-id"]) for r in xero_api.requests]
    assert fetched == [(INVOICE_PATH, TENANT), (CREDIT_NOTE_PATH, TENANT)]
    assert {r.headers["Authorization"] for r in xero_api.requests} == {"Bearer xero-access-token"}
    invoice_message, note_message = messages
    [invoice_id] = applied(running, [invoice_message])
    [note_id] = applied(running, [note_message])

    invoice = record(running, "xero", "Invoice", INVOICE)
    assert invoice["id"] == invoice_id
    assert invoice["xrefs"] == [
        {"system": "xero", "tenant": TENANT, "type": "Invoice", "id": INVOICE}
    ]
    assert (invoice["kind"], invoice["status"], invoice["number"]) == (
        "invoice",
        "issued",
        "INV-0042",
    )
    assert (invoice["client_id"], invoice["engagement_id"]) == (client_id, engagement_id)
    assert (invoice["issue_date"], invoice["due_date"]) == ("2025-04-23", "2025-05-23")
    assert invoice["currency"] == "GBP"
    assert [
        (line["description"], line["quantity"], line["unit_price"], line["tax_rate"])
        for line in invoice["lines"]
    ] == [
        ("Strategy workshop facilitation (2 days)", "2", "1850", "0.2"),
        # 12.5 h at 120.00 less 10 %: the discounted unit price.
        ("Market research hours", "12.5", "108", "0.2"),
        ("Printed workshop packs", "1", "100.37", "0.2"),
    ]
    assert [(line["net"], line["tax"]) for line in invoice["lines"]] == [
        (money("3700.00", "GBP"), money("740.00", "GBP")),
        (money("1350.00", "GBP"), money("270.00", "GBP")),
        (money("100.37", "GBP"), money("20.07", "GBP")),
    ]
    assert invoice["subtotal"] == money("5150.37", "GBP")
    assert invoice["tax_total"] == money("1030.07", "GBP")
    assert invoice["total"] == money("6180.44", "GBP")
    # The credit note, allocated to it, leaves the rest open.
    assert invoice["open_balance"] == money("6060.00", "GBP")

    note = record(running, "xero", "CreditNote", CREDIT_NOTE)
    assert note["id"] == note_id
    # PAID on a Xero credit note: fully allocated, nothing left of it.
    assert (note["status"], note["open_balance"]) == ("paid", money("0.00", "GBP"))
    assert (note["kind"], note["number"], note["issue_date"]) == (
        "credit_note",
        "CN-0007",
        "2025-05-02",
    )
    assert note["original_invoice_id"] == invoice_id
    assert note["client_id"] == client_id
    assert note["total"] == money("120.44", "GBP")
    # Xero's contact now resolves to the engagement's client.
    assert record(running, "xero", "Contact", CONTACT)["id"] == client_id


def test_a_fetch_that_fails_every_time_opens_a_fetch_failed_case_and_applies_nothing_half_way(
    running: Running, xero_api: SourceServer
) -> None:
    known_engagement(running, code="ENG-2025-0147", currency="GBP", client="HC-147", country="GB")
    xero_api.routes[("GET", INVOICE_PATH)] = failing
    webhook = fixture("xero", "webhook_invoice_events.json")

    response = deliver(running, webhook)

    assert response.status_code == 202, response.text
    body = response.json()
    # Two retries after the first attempt, then a case for a person instead of an invoice.
    assert [r.path for r in xero_api.requests].count(INVOICE_PATH) == 3
    assert body["fetch_failed"] == [f"Invoice:{INVOICE}"]
    [case_id] = body["exceptions"]
    case = running.hub.app.find(UUID(case_id), ExceptionCase)
    assert case is not None
    assert (case.reason, case.system, case.owner) == ("FETCH_FAILED", "xero", "integration")
    assert case.subject == f"xero:Invoice:{INVOICE}"
    assert "HTTP 500" in case.detail
    # The credit note that was fetched waits for its invoice instead of applying without it.
    [note_message] = documents(running, body["message_ids"])
    outcome = running.outcome(note_message)
    assert (outcome["status"], outcome["reason"]) == ("parked", "UNKNOWN_AGGREGATE")
    # A credit note is checked against its invoice (a parent): it waits for it.
    assert outcome["waiting_for"] == f"xref:xero|{TENANT}|invoice|{INVOICE}"
    assert running.xref("xero", "Invoice", INVOICE).status_code == 404
    assert running.xref("xero", "CreditNote", CREDIT_NOTE).status_code == 404

    # Xero answers again and the webhook comes again: the invoice, then its credit note.
    xero_api.routes[("GET", INVOICE_PATH)] = answer(fixture("xero", "invoice_authorised.json"))
    again = deliver(running, webhook)
    assert "exceptions" not in again.json()
    invoice_message, repeated = documents(running, accepted(again))
    assert repeated == note_message
    [invoice_id] = applied(running, [invoice_message])
    # Ingest applies the parked credit note after the invoice's batch is settled: wait for it.
    until(
        lambda: running.outcome(note_message)["status"] == "applied",
        what="the credit note applied once its invoice is",
    )
    assert applied(running, [note_message]) == [
        record(running, "xero", "CreditNote", CREDIT_NOTE)["id"]
    ]
    assert record(running, "xero", "Invoice", INVOICE)["id"] == invoice_id
    assert record(running, "xero", "Invoice", INVOICE)["open_balance"] == money("6060.00", "GBP")


def test_the_intent_to_receive_request_answers_200_and_publishes_nothing(
    running: Running, xero_api: SourceServer
) -> None:
    intent = raw(fixture("xero", "webhook_intent_to_receive.json"))
    before = stream_messages(running)

    response = running.webhook("xero", intent, headers=signed(intent))

    assert response.status_code == 200, response.text
    assert response.json()["message_ids"] == []
    # Xero also sends the check badly signed, and expects 401 for it.
    badly_signed = running.webhook("xero", intent, headers=signed(intent, "not-the-key"))
    problem(badly_signed, 401, "FORBIDDEN")
    assert stream_messages(running) == before
    assert xero_api.requests == []


def test_a_body_that_is_not_json_is_refused_as_malformed_and_nothing_is_published(
    running: Running, xero_api: SourceServer
) -> None:
    body = b'{"events": [{"resourceId": "4f7a5d6e"'
    before = stream_messages(running)

    problem(running.webhook("xero", body, headers=signed(body)), 400, "MALFORMED_PAYLOAD")

    assert stream_messages(running) == before
    assert xero_api.requests == []


def test_a_fetch_failed_case_retried_from_the_queue_fetches_again_and_closes(
    running: Running, xero_api: SourceServer
) -> None:
    known_engagement(running, code="ENG-2025-0147", currency="GBP", client="HC-147", country="GB")
    xero_api.routes[("GET", INVOICE_PATH)] = failing
    response = deliver(running, fixture("xero", "webhook_invoice_events.json"))
    [case_id] = response.json()["exceptions"]
    url, operator = f"/v1/exceptions/{case_id}/retry", running.token("operate")

    # Xero still fails: the fetch ran again (three more attempts), and the case stays open.
    before = [r.path for r in xero_api.requests].count(INVOICE_PATH)
    still = running.api.post(url, headers=operator)
    assert still.status_code == 202, still.text
    assert (still.json()["outcome"], still.json()["status"]) == ("fetch_failed", "open")
    assert still.json()["reason"] == "FETCH_FAILED"
    assert [r.path for r in xero_api.requests].count(INVOICE_PATH) == before + 3

    # Xero answers: the invoice is fetched, published, applied; the case is resolved.
    xero_api.routes[("GET", INVOICE_PATH)] = answer(fixture("xero", "invoice_authorised.json"))
    done = running.api.post(url, headers=operator)
    assert (done.json()["outcome"], done.json()["status"]) == ("published", "resolved")
    [invoice_id] = applied(running, documents(running, done.json()["message_ids"]))
    assert record(running, "xero", "Invoice", INVOICE)["id"] == invoice_id
    case = running.hub.app.find(UUID(case_id), ExceptionCase)
    assert case is not None
    assert [(h["action"], h.get("outcome")) for h in case.history] == [
        ("raised", None),
        ("retried", "fetch_failed"),
        ("retried", "published"),
        ("resolved", None),
    ]
    assert running.api.post(url, headers=operator).status_code == 409  # closed now
