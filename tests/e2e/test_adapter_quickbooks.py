"""QuickBooks Online end to end: a signed key-only webhook in (CloudEvents, or the legacy
eventNotifications body), the hub fetches the invoice from a loopback QBO API, and the invoice
golden record and its xref come out of ingest; a Delete operation tombstones it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest

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
from tests.support.http_source import Request, Response, SourceServer, serve
from tests.support.running import Running

SECRET = "intuit-verifier-token-51c2"
REALM = "9341453215557834"
INVOICE = "1047"
CUSTOMER = "58"
INVOICE_PATH = f"/v3/company/{REALM}/invoice/{INVOICE}"


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    return {"intuit-signature": base64.b64encode(digest).decode()}


def deliver(running: Running, payload: Any) -> Any:
    body = raw(payload)
    return running.webhook("quickbooks", body, headers=signed(body))


def cloud_events(*types: str) -> list[dict[str, Any]]:
    """The captured CloudEvents of these types (invoice 1047's, and the customer's)."""
    events = fixture("quickbooks", "webhook_cloudevents.json")
    chosen = [event for event in events if event["type"] in types]
    for event in chosen:
        if event["type"].startswith("qbo.invoice."):
            event["intuitentityid"] = INVOICE
    return chosen


def legacy_update(*types: str) -> dict[str, Any]:
    """The captured legacy body, with its Update of invoice 1047 and the customer's."""
    body = fixture("quickbooks", "webhook_legacy.json")
    [notification] = body["eventNotifications"]
    entities = notification["dataChangeEvent"]["entities"]
    notification["dataChangeEvent"]["entities"] = [
        e for e in entities if e["operation"] == "Update"
    ]
    return body


@pytest.fixture
def qbo_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceServer]:
    """A loopback QBO API serving invoice 1047 of the realm."""
    invoice = fixture("quickbooks", "invoice_open.json")
    with serve({("GET", INVOICE_PATH): lambda request: Response(200, invoice)}) as server:
        monkeypatch.setenv("PSHUB_ADAPTER_QUICKBOOKS_BASE_URL", server.base_url)
        monkeypatch.setenv("PSHUB_ADAPTER_QUICKBOOKS_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("PSHUB_ADAPTER_QUICKBOOKS_TOKEN", "qbo-access-token")
        monkeypatch.setenv("PSHUB_ADAPTER_QUICKBOOKS_ENGAGEMENT_CUSTOM_FIELD", "Engagement")
        monkeypatch.setenv("PSHUB_ADAPTER_QUICKBOOKS_BACKOFF", "0")
        yield server


@pytest.fixture
def engagement(running: Running) -> tuple[str, str]:
    return known_engagement(
        running,
        code="ENG-2025-0162",
        currency="USD",
        client="HC-162",
        legal_name="Fabrikam Legal LLP",
    )


def fetched(requests: list[Request]) -> list[tuple[str, str, str]]:
    return [(r.path, r.query["minorversion"][0], r.headers["Authorization"]) for r in requests]


@pytest.mark.parametrize("webhook", [cloud_events, legacy_update], ids=["cloudevents", "legacy"])
def test_a_key_only_webhook_is_fetched_from_quickbooks_and_becomes_an_invoice(
    running: Running, qbo_api: SourceServer, engagement: tuple[str, str], webhook: Any
) -> None:
    client_id, engagement_id = engagement
    payload = webhook("qbo.invoice.created.v1", "qbo.customer.updated.v1")

    [message] = documents(running, accepted(deliver(running, payload)))

    # Only the invoice is fetched (the customer notification is not mapped).
    [(path, _, authorization)] = fetched(qbo_api.requests)
    assert (path, authorization) == (INVOICE_PATH, "Bearer qbo-access-token")
    [invoice_id] = applied(running, [message])
    invoice = record(running, "quickbooks", "Invoice", INVOICE)
    assert invoice["id"] == invoice_id
    assert invoice["xrefs"] == [
        {"system": "quickbooks", "tenant": REALM, "type": "Invoice", "id": INVOICE}
    ]
    # QBO has no status: an invoice with its whole balance open is issued.
    assert (invoice["kind"], invoice["status"], invoice["number"]) == ("invoice", "issued", "1047")
    assert (invoice["client_id"], invoice["engagement_id"]) == (client_id, engagement_id)
    assert (invoice["issue_date"], invoice["due_date"]) == ("2025-04-23", "2025-05-23")
    assert invoice["currency"] == "USD"
    # Sales lines and the discount; the subtotal line is computed, not billed.
    assert [
        (line["description"], line["quantity"], line["unit_price"], line["tax_rate"])
        for line in invoice["lines"]
    ] == [
        ("Quarterly compliance review (16 h)", "16", "225", "0.08"),
        ("State filing fees (disbursement)", "1", "412.5", "0"),
        ("Discount", "1", "-180", "0"),
    ]
    assert [(line["net"], line["tax"]) for line in invoice["lines"]] == [
        (money("3600.00", "USD"), money("288.00", "USD")),
        (money("412.50", "USD"), money("0.00", "USD")),
        (money("-180.00", "USD"), money("0.00", "USD")),
    ]
    assert invoice["subtotal"] == money("3832.50", "USD")
    assert invoice["tax_total"] == money("288.00", "USD")
    assert invoice["total"] == money("4120.50", "USD")
    assert invoice["open_balance"] == money("4120.50", "USD")
    # QBO's customer now resolves to the engagement's client.
    assert record(running, "quickbooks", "Customer", CUSTOMER)["id"] == client_id


def test_a_delete_operation_tombstones_the_invoice(
    running: Running, qbo_api: SourceServer, engagement: tuple[str, str]
) -> None:
    [created] = documents(
        running, accepted(deliver(running, cloud_events("qbo.invoice.created.v1")))
    )
    [invoice_id] = applied(running, [created])

    [deleted] = accepted(deliver(running, cloud_events("qbo.invoice.deleted.v1")))

    # A deleted invoice cannot be fetched: the notification itself is the deletion.
    assert len(qbo_api.requests) == 1
    assert applied(running, [deleted]) == [invoice_id]
    gone = running.xref("quickbooks", "Invoice", INVOICE)
    problem(gone, 410, "UNKNOWN_AGGREGATE")
    tombstone = gone.json()["record"]
    assert (tombstone["id"], tombstone["deleted"]) == (invoice_id, True)
    assert tombstone["total"] == money("4120.50", "USD")
    assert running.api.get(f"/v1/invoices/{invoice_id}", headers=running.auth).status_code == 410


def test_a_body_that_is_not_json_is_refused_as_malformed_and_nothing_is_published(
    running: Running, qbo_api: SourceServer
) -> None:
    body = b'[{"specversion": "1.0", "type": "qbo.invoice.created.v1",'
    before = stream_messages(running)

    problem(running.webhook("quickbooks", body, headers=signed(body)), 400, "MALFORMED_PAYLOAD")

    assert stream_messages(running) == before
    assert qbo_api.requests == []
