"""The Xero writer against Xero's API shape on loopback, counting what it holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.xero.feed import XeroTarget
from hub.contracts.feeds import DeliveryFailed, FeedItem, TargetSettings
from tests.support.targets import records as r
from tests.support.targets.records import xref
from tests.support.targets.xero import XeroApi

TENANT = "8c6a9d1e-5f5b-4c1a-9a51-0d1e2f3a4b5c"
TARGET = XeroTarget(tenant=TENANT)


@pytest.fixture
def api() -> Iterator[XeroApi]:
    with XeroApi(TENANT) as served:
        yield served


@pytest.fixture
def writer(api: XeroApi) -> Iterator[Any]:
    settings = TargetSettings(base_url=api.base_url, token=api.token, tenant=TENANT)
    with httpx.Client(timeout=5) as client:
        yield TARGET.writer(settings, client)


def _contact(**fields: Any) -> FeedItem:
    [item] = TARGET.items("client", r.client(**fields))
    return item


def _related(contact_id: str) -> dict[str, Any]:
    client = r.client(xrefs=[xref("xero", "Contact", contact_id, TENANT)])
    return {"client": client, "engagement": r.engagement(client["id"])}


def test_a_repeated_delivery_creates_one_contact(api: XeroApi, writer: Any) -> None:
    item = _contact()
    first, again = writer.deliver(item), writer.deliver(item)
    assert first.target_type == "Contact" and first.tenant == TENANT
    assert again.target_id == first.target_id
    assert len(api.held(TENANT, "Contacts")) == 1
    puts = [q for q in api.requests if q.method == "PUT"]
    assert len(puts) == 2 and {q.headers["Idempotency-Key"] for q in puts} == {item.idempotency_key}


def test_an_update_goes_to_the_same_contact(api: XeroApi, writer: Any) -> None:
    client = r.client()
    [created] = TARGET.items("client", client)
    known = writer.deliver(created)
    moved = {
        **client,
        "version": 2,
        "email": "billing@acme.example",
        "xrefs": [xref("xero", "Contact", known.target_id, TENANT)],
    }
    [update] = TARGET.items("client", moved)
    assert writer.deliver(update).target_id == known.target_id
    [held] = api.held(TENANT, "Contacts")
    assert held["EmailAddress"] == "billing@acme.example"
    assert api.seen("POST", r"/api\.xro/2\.0/Contacts") == 1


def test_billable_items_become_one_draft_invoice_each(api: XeroApi, writer: Any) -> None:
    contact = writer.deliver(_contact())
    related = _related(contact.target_id)
    eng = related["engagement"]["id"]
    entry = r.time_entry(eng, hours="2.25")
    items = [
        *TARGET.items("time_entry", entry, related),
        *TARGET.items("expense", r.expense(eng), related),
    ]
    for item in items + items:
        writer.deliver(item)
    invoices = api.held(TENANT, "Invoices")
    assert len(invoices) == 2
    assert {i["Status"] for i in invoices} == {"DRAFT"}
    assert sorted(str(i["Total"]) for i in invoices) == ["337.50", "84.20"]
    # A new version of the entry (more hours) goes to the same draft invoice.
    [first] = TARGET.items("time_entry", entry, related)
    invoice_id = writer.deliver(first).target_id
    later = {
        **entry,
        "version": 2,
        "hours": "3",
        "xrefs": [xref("xero", "Invoice", invoice_id, TENANT)],
    }
    [update] = TARGET.items("time_entry", later, related)
    assert writer.deliver(update).target_id == invoice_id
    invoices = api.held(TENANT, "Invoices")
    assert len(invoices) == 2
    assert sorted(str(i["Total"]) for i in invoices) == ["450.00", "84.20"]


def test_throttling_is_retryable_after_what_xero_asked(api: XeroApi, writer: Any) -> None:
    api.throttle(retry_after="30")
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_contact())
    assert failed.value.retryable and failed.value.retry_after == 30.0
    assert failed.value.status == 429 and api.held(TENANT, "Contacts") == []
    writer.deliver(_contact())  # the same item, once the limit has passed
    assert len(api.held(TENANT, "Contacts")) == 1


def test_a_validation_error_is_refused_for_good_with_xeros_message(
    api: XeroApi, writer: Any
) -> None:
    writer.deliver(_contact())
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_contact())  # another client, the same name
    assert not failed.value.retryable and failed.value.status == 400
    assert "Xero 10 ValidationException" in str(failed.value)
    assert "must be unique across all active contacts" in str(failed.value)
    assert len(api.held(TENANT, "Contacts")) == 1


def test_an_invoice_for_an_unknown_contact_is_refused(api: XeroApi, writer: Any) -> None:
    related = _related("00000000-0000-4000-8000-000000000000")
    [item] = TARGET.items("milestone", r.milestone(related["engagement"]["id"]), related)
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(item)
    assert not failed.value.retryable and "Contact ID provided is not valid" in str(failed.value)
    assert api.held(TENANT, "Invoices") == []


def test_another_tenant_is_forbidden(api: XeroApi) -> None:
    settings = TargetSettings(base_url=api.base_url, token=api.token, tenant="not-connected")
    with httpx.Client(timeout=5) as client, pytest.raises(DeliveryFailed) as failed:
        TARGET.writer(settings, client).deliver(_contact())
    assert failed.value.status == 403 and not failed.value.retryable
    assert "AuthenticationUnsuccessful" in str(failed.value)
