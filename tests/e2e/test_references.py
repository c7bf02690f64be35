"""References that may never arrive, end to end over HTTP, NATS and PostgreSQL, with vendor
payloads as DOMAIN.md section 2 describes them: a partial update of a record never seen waits
for (and fetches) the whole record; an invoice whose customer is never fed is recorded at once,
becomes an overdue case, and resolves when a steward maps it; a record deleted before it was
seen is a tombstone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from hub.settings import Settings
from tests.e2e.adapter_support import accepted, problem
from tests.support.http_source import Response, SourceServer, serve
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub

ORG = "00D7Q000004Lm1kUAC"
OPPORTUNITY = "0067Q00000QzA1bQAF"
ACCOUNT = "0017Q00000RtX9cQAF"
REST = "/services/data/v60.0/sobjects"


def _cometd_update(**fields: Any) -> dict[str, Any]:
    """An Opportunity UPDATE as CometD delivers it: only what changed, plus LastModifiedDate."""
    return {
        "schema": "hWd9Ja5M2dXJq7Yz3Kp_9Q",
        "payload": {
            "LastModifiedDate": "2026-11-30T10:15:02.000Z",
            **fields,
            "ChangeEventHeader": {
                "entityName": "Opportunity",
                "recordIds": [OPPORTUNITY],
                "changeType": "UPDATE",
                "changeOrigin": "com/salesforce/api/soap/60.0;client=SfdcInternalAPI/",
                "transactionKey": "0003c2a1-77e4-b1f2-2f0e-1c3b5d7e9a11",
                "sequenceNumber": 1,
                "commitTimestamp": 1764497702000,
                "commitNumber": 11861254401862,
                "commitUser": "0057Q000003Ftd2QAC",
                "changedFields": [*fields, "LastModifiedDate"],
                "nulledFields": [],
                "diffFields": [],
            },
        },
        "event": {"replayId": 48213},
    }


def _rest_opportunity() -> dict[str, Any]:
    return {
        "attributes": {
            "type": "Opportunity",
            "url": f"{REST}/Opportunity/{OPPORTUNITY}",
        },
        "Id": OPPORTUNITY,
        "AccountId": ACCOUNT,
        "Name": "Hanse Logistik - ERP selection",
        "StageName": "Negotiation/Review",
        "Amount": 180000.0,
        "CurrencyIsoCode": "EUR",
        "Probability": 70.0,
        "CloseDate": "2027-01-29",
        "IsClosed": False,
        "IsWon": False,
        "LastModifiedDate": "2026-11-30T10:15:02.000+0000",
    }


@pytest.fixture
def salesforce(running: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_TENANT", ORG)
    monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_RETRIES", "1")
    monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_MULTI_CURRENCY", "true")
    return running


@pytest.fixture
def org_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceServer]:
    routes = {
        ("GET", f"{REST}/Opportunity/{OPPORTUNITY}"): lambda r: Response(200, _rest_opportunity())
    }
    with serve(routes) as server:
        monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_BASE_URL", server.base_url)
        monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_TOKEN", "00D-session")
        yield server


def _update_naming_everything() -> dict[str, Any]:
    # Enough fields to create an engagement from, but it is still only what changed.
    return _cometd_update(
        Name="Hanse Logistik - ERP selection",
        AccountId=ACCOUNT,
        CurrencyIsoCode="EUR",
        StageName="Negotiation/Review",
    )


def test_an_update_of_an_opportunity_never_seen_waits_for_the_whole_record(
    salesforce: Running,
) -> None:
    [message_id] = accepted(
        salesforce.webhook("salesforce", json.dumps(_update_naming_everything()).encode())
    )
    [outcome] = salesforce.settle([message_id])
    assert (outcome["status"], outcome["reason"]) == ("parked", "UNKNOWN_AGGREGATE")
    assert salesforce.xref("salesforce", "Opportunity", OPPORTUNITY).status_code == 404


def test_an_update_of_an_opportunity_never_seen_is_fetched_whole_and_applied(
    salesforce: Running, org_api: SourceServer
) -> None:
    [message_id] = accepted(
        salesforce.webhook("salesforce", json.dumps(_update_naming_everything()).encode())
    )
    salesforce.settle([message_id])
    deadline = time.monotonic() + 30
    while (found := salesforce.xref("salesforce", "Opportunity", OPPORTUNITY)).status_code != 200:
        assert time.monotonic() < deadline, "the whole record was never applied"
        time.sleep(0.1)
    record = found.json()
    assert record["name"] == "Hanse Logistik - ERP selection"
    assert record["currency"] == "EUR"
    assert record["client_id"] is None  # the Account was never sent: a link, kept
    assert record["pending_links"][0]["ref"]["id"] == ACCOUNT
    assert [r.path for r in org_api.requests] == [f"{REST}/Opportunity/{OPPORTUNITY}"]
    # The parked update was the same version as the record read: nothing more to apply.
    deadline = time.monotonic() + 30
    while salesforce.outcome(message_id)["status"] == "parked":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert salesforce.outcome(message_id)["status"] in ("duplicate", "applied")


def _stripe_invoice(invoice_id: str, customer: str) -> dict[str, Any]:
    """invoice.finalized as Stripe sends it (amounts in minor units, lowercase currency)."""
    return {
        "id": f"evt_1Q{invoice_id[-6:]}Xy",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": 1764500000,
        "type": "invoice.finalized",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {
            "object": {
                "id": invoice_id,
                "object": "invoice",
                "status": "open",
                "number": f"A1B2C3-{invoice_id[-4:]}",
                "currency": "chf",
                "customer": customer,
                "customer_name": None,
                "amount_due": 1250050,
                "amount_paid": 0,
                "amount_remaining": 1250050,
                "subtotal": 1250050,
                "total": 1250050,
                "created": 1764499000,
                "due_date": 1767091000,
                "collection_method": "send_invoice",
                "status_transitions": {
                    "finalized_at": 1764500000,
                    "paid_at": None,
                    "voided_at": None,
                    "marked_uncollectible_at": None,
                },
                "metadata": {},
                "lines": {
                    "object": "list",
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/invoices/{invoice_id}/lines",
                    "data": [
                        {
                            "id": "il_1QabcXYZ",
                            "object": "line_item",
                            "amount": 1250050,
                            "currency": "chf",
                            "description": "Strategy retainer, November",
                            "quantity": 1,
                            "period": {"start": 1761955200, "end": 1764547200},
                        }
                    ],
                },
            }
        },
    }


@pytest.fixture
def quick_grace(settings: Settings, make_database: Databases, nats_url: str) -> Iterator[Running]:
    with running_hub(
        settings, make_database, nats_url, unresolved_grace=timedelta(seconds=1)
    ) as hub:
        yield hub


def _cases(hub: Running, reason: str) -> list[dict[str, Any]]:
    resp = hub.api.get(f"/v1/exceptions?reason={reason}", headers=hub.token("read"))
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def test_an_invoice_whose_customer_is_never_fed_is_recorded_then_mapped_by_a_steward(
    quick_grace: Running,
) -> None:
    hub = quick_grace
    [message_id] = accepted(
        hub.webhook("stripe", json.dumps(_stripe_invoice("in_1QzX9sAbC4", "cus_R2d2C3po")).encode())
    )
    [outcome] = hub.settle([message_id])
    assert outcome["status"] == "applied", outcome
    [invoice_id] = outcome["canonical_ids"]
    invoice = hub.api.get(f"/v1/invoices/{invoice_id}", headers=hub.token("read")).json()
    assert invoice["status"] == "issued"
    assert invoice["total"] == {"amount": "12500.50", "currency": "CHF"}
    assert invoice["client_id"] is None
    assert invoice["pending_links"][0]["ref"]["id"] == "cus_R2d2C3po"
    # After the grace period the wait becomes a case for data stewardship.
    deadline = time.monotonic() + 30
    while not (cases := _cases(hub, "UNRESOLVED_LINK")):
        assert time.monotonic() < deadline, "no UNRESOLVED_LINK case was opened"
        time.sleep(0.2)
    [case] = cases
    assert case["owner"] == "data-stewardship"
    assert "cus_R2d2C3po" in case["detail"]
    # A steward maps the Stripe customer to a client: the invoice resolves, the case closes.
    client = hub.api.post(
        "/v1/commands/register-client",
        json={"legal_name": "Alpenblick Treuhand AG", "country": "CH", "billing_currency": "CHF"},
        headers=hub.token("write:hub"),
    ).json()
    links = hub.api.get("/v1/unresolved-links?system=stripe", headers=hub.token("read")).json()
    [waiting] = links["items"]
    mapped = hub.api.post(
        "/v1/commands/map-xref",
        json={
            "system": "stripe",
            "tenant": waiting["tenant"],
            "type": waiting["type"],
            "id": "cus_R2d2C3po",
            "canonical_id": client["id"],
        },
        headers=hub.token("operate"),
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["resolved"] == [invoice_id]
    invoice = hub.api.get(
        f"/v1/invoices/{invoice_id}?min_position={mapped.json()['position']}",
        headers=hub.token("read"),
    ).json()
    assert invoice["client_id"] == client["id"]
    deadline = time.monotonic() + 30
    while _cases(hub, "UNRESOLVED_LINK")[0]["status"] != "resolved":
        assert time.monotonic() < deadline, "the case did not close by itself"
        time.sleep(0.2)


def test_a_graph_item_deleted_before_it_was_seen_is_a_tombstone(running: Running) -> None:
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",
        "value": [
            {
                "id": "01BYE5RZ5MYLM2SMX75ZBIPQZIHT6OAYPB",
                "parentReference": {
                    "driveId": "b!-RIj2DuyvEyV1T4NlOaMHk8XkS_I8MdFlUCq1BlcjgmhRfAj3-Z8RY2VpuvV",
                    "driveType": "business",
                },
                "deleted": {"state": "deleted"},
                "file": {},
            }
        ],
        "@odata.deltaLink": "https://graph.microsoft.com/v1.0/drives/b!x/root/delta?token=aTE09",
    }
    ids = accepted(running.webhook("sharepoint", json.dumps(page).encode()))
    [outcome] = running.settle(ids)
    assert outcome["status"] == "applied", outcome
    gone = running.xref("sharepoint", "driveItem", "01BYE5RZ5MYLM2SMX75ZBIPQZIHT6OAYPB")
    body = problem(gone, 410, gone.json().get("reason", ""))
    assert body["entity"] == "knowledge_asset"
