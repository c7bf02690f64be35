"""The QuickBooks writer against QuickBooks' API shape on loopback, counting what it holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.quickbooks.feed import QuickBooksTarget
from hub.contracts.feeds import DeliveryFailed, FeedItem, TargetSettings
from hub.sandbox.quickbooks import QuickBooksApi
from tests.support import golden as r
from tests.support.golden import resolved, xref

REALM = "9130"
TARGET = QuickBooksTarget(tenant=REALM)


@pytest.fixture
def api() -> Iterator[QuickBooksApi]:
    with QuickBooksApi() as served:
        yield served


@pytest.fixture
def writer(api: QuickBooksApi) -> Iterator[Any]:
    settings = TargetSettings(base_url=api.base_url, token=api.token, tenant=REALM)
    with httpx.Client(timeout=5) as client:
        yield TARGET.writer(settings, client)


def _customer_item(**fields: Any) -> FeedItem:
    [item] = TARGET.items("client", r.client(**fields))
    return item


def test_a_repeated_delivery_creates_one_customer(api: QuickBooksApi, writer: Any) -> None:
    item = _customer_item()
    first = writer.deliver(item)
    again = writer.deliver(item)
    assert (first.target_type, first.tenant) == ("Customer", REALM)
    assert again.target_id == first.target_id
    assert len(api.held(REALM, "customer")) == 1
    assert api.seen("POST", rf"/v3/company/{REALM}/customer") == 2


def test_an_update_goes_to_the_same_customer_with_its_sync_token(
    api: QuickBooksApi, writer: Any
) -> None:
    client = r.client()
    [created] = TARGET.items("client", client)
    known = writer.deliver(created)
    renamed = {
        **client,
        "version": 2,
        "trading_name": "Acme Group",
        "xrefs": [xref("quickbooks", "Customer", known.target_id, REALM)],
    }
    [update] = TARGET.items("client", renamed)
    updated = writer.deliver(update)
    [held] = api.held(REALM, "customer")
    assert updated.target_id == known.target_id == held["Id"]
    assert held["DisplayName"] == "Acme Group" and held["SyncToken"] == "1"
    assert held["CompanyName"] == "Acme Holdings Ltd"


def test_a_stale_sync_token_is_read_again_once(api: QuickBooksApi, writer: Any) -> None:
    known = writer.deliver(_customer_item())
    api.interfere("customer", known.target_id)  # someone edits right after our read
    update = replace(
        _customer_item(trading_name="Acme Group"), target_id=known.target_id, version=2
    )
    writer.deliver(update)
    [held] = api.held(REALM, "customer")
    assert held["DisplayName"] == "Acme Group" and held["SyncToken"] == "2"
    assert api.seen("GET", rf"/v3/company/{REALM}/customer/{known.target_id}") == 2


def _engagement_customer(writer: Any, **engagement_fields: Any) -> tuple[str, str]:
    """Delivers a client and its engagement; returns (engagement id, sub-customer id)."""
    client = r.client()
    [customer] = TARGET.items("client", client)
    parent = writer.deliver(customer).target_id
    engagement = r.engagement(client["id"], **engagement_fields)
    [job] = TARGET.items("engagement", engagement)
    delivered = writer.deliver(resolved(job, {client["id"]: parent}))
    assert delivered.target_type == "Job"  # never "Customer", which names clients
    return engagement["id"], delivered.target_id


def test_an_engagement_is_a_sub_customer_of_its_clients_customer(
    api: QuickBooksApi, writer: Any
) -> None:
    _, job_id = _engagement_customer(writer)
    customers = {c["Id"]: c for c in api.held(REALM, "customer")}
    assert len(customers) == 2
    job = customers[job_id]
    parent = customers[job["ParentRef"]["value"]]
    assert job["Job"] is True and "Job" not in parent and job["BillWithParent"] is True


def test_billable_items_become_invoices_once_each(api: QuickBooksApi, writer: Any) -> None:
    engagement_id, job_id = _engagement_customer(writer)
    ids = {engagement_id: job_id}
    items = [
        *TARGET.items("time_entry", r.time_entry(engagement_id, hours="2.5")),
        *TARGET.items("expense", r.expense(engagement_id)),
        *TARGET.items("milestone", r.milestone(engagement_id)),
    ]
    delivered = [writer.deliver(resolved(item, ids)) for item in items + items]
    invoices = api.held(REALM, "invoice")
    assert len(invoices) == 3 and len({d.target_id for d in delivered}) == 3
    assert {d.target_type for d in delivered} == {"InvoiceLine"}
    totals = sorted(str(invoice["TotalAmt"]) for invoice in invoices)
    assert totals == ["12000.00", "375.00", "84.20"]
    assert {invoice["CustomerRef"]["value"] for invoice in invoices} == {job_id}


def test_a_new_version_of_an_item_updates_its_invoice(api: QuickBooksApi, writer: Any) -> None:
    engagement_id, job_id = _engagement_customer(writer)
    entry = r.time_entry(engagement_id, hours="2")
    [first] = TARGET.items("time_entry", entry)
    invoice_id = writer.deliver(resolved(first, {engagement_id: job_id})).target_id
    known = [xref("quickbooks", "InvoiceLine", invoice_id, REALM)]
    later = {**entry, "version": 2, "hours": "3.5", "xrefs": known}
    [update] = TARGET.items("time_entry", later)
    assert writer.deliver(resolved(update, {engagement_id: job_id})).target_id == invoice_id
    [invoice] = api.held(REALM, "invoice")
    assert str(invoice["TotalAmt"]) == "525.00" and invoice["SyncToken"] == "1"


def test_an_engagement_in_another_currency_than_its_client_is_refused(
    api: QuickBooksApi, writer: Any
) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        _engagement_customer(writer, currency="EUR")  # the client bills in GBP
    assert not failed.value.retryable and "QuickBooks 6000" in str(failed.value)
    assert len(api.held(REALM, "customer")) == 1


def test_a_sent_invoice_is_not_edited(api: QuickBooksApi, writer: Any) -> None:
    engagement_id, job_id = _engagement_customer(writer)
    entry = r.time_entry(engagement_id, hours="2")
    [first] = TARGET.items("time_entry", entry)
    invoice_id = writer.deliver(resolved(first, {engagement_id: job_id})).target_id
    [invoice] = api.held(REALM, "invoice")
    invoice["EmailStatus"] = "EmailSent"  # a person sent it meanwhile
    known = [xref("quickbooks", "InvoiceLine", invoice_id, REALM)]
    [update] = TARGET.items("time_entry", {**entry, "version": 2, "hours": "9", "xrefs": known})
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(resolved(update, {engagement_id: job_id}))
    assert not failed.value.retryable and "sent or paid" in str(failed.value)
    assert str(api.held(REALM, "invoice")[0]["TotalAmt"]) == "300.00"


def test_a_line_in_another_currency_than_the_customers_is_refused(
    api: QuickBooksApi, writer: Any
) -> None:
    engagement_id, job_id = _engagement_customer(writer)
    usd = r.expense(engagement_id, amount={"amount": "40.00", "currency": "USD"})
    [item] = TARGET.items("expense", usd)
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(resolved(item, {engagement_id: job_id}))
    assert not failed.value.retryable and "QuickBooks 6000" in str(failed.value)
    assert api.held(REALM, "invoice") == []


def test_throttling_is_retryable_after_what_quickbooks_asked(
    api: QuickBooksApi, writer: Any
) -> None:
    api.throttle(retry_after="12")
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_customer_item())
    assert failed.value.retryable and failed.value.retry_after == 12.0
    assert failed.value.status == 429 and failed.value.reason == "DOWNSTREAM_TIMEOUT"
    assert api.held(REALM, "customer") == []


def test_a_server_fault_is_retryable(api: QuickBooksApi, writer: Any) -> None:
    api.throttle(status=503, retry_after="")
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_customer_item())
    assert failed.value.retryable and failed.value.retry_after is None


def test_a_duplicate_name_is_refused_for_good_with_quickbooks_reason(
    api: QuickBooksApi, writer: Any
) -> None:
    writer.deliver(_customer_item())
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_customer_item())  # another client, the same name
    assert not failed.value.retryable and failed.value.status == 400
    assert failed.value.reason == "DOWNSTREAM_REJECTED"
    assert "QuickBooks 6240 Duplicate Name Exists Error" in str(failed.value)
    assert len(api.held(REALM, "customer")) == 1


def test_an_invoice_for_an_unknown_customer_is_refused(api: QuickBooksApi, writer: Any) -> None:
    engagement_id = r.engagement(r.client()["id"])["id"]
    [item] = TARGET.items("expense", r.expense(engagement_id))
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(resolved(item, {engagement_id: "999"}))
    assert not failed.value.retryable and "2500 Invalid Reference Id" in str(failed.value)


def test_a_wrong_token_is_refused_with_quickbooks_authentication_fault(
    api: QuickBooksApi,
) -> None:
    settings = TargetSettings(base_url=api.base_url, token="expired", tenant=REALM)
    with httpx.Client(timeout=5) as client, pytest.raises(DeliveryFailed) as failed:
        TARGET.writer(settings, client).deliver(_customer_item())
    assert failed.value.status == 401 and not failed.value.retryable
    assert "3200" in str(failed.value)


def test_an_unreachable_realm_is_retryable() -> None:
    settings = TargetSettings(base_url="http://127.0.0.1:9", token="t", tenant=REALM)
    with httpx.Client(timeout=2) as client, pytest.raises(DeliveryFailed) as failed:
        TARGET.writer(settings, client).deliver(_customer_item())
    assert failed.value.retryable and failed.value.reason == "DOWNSTREAM_TIMEOUT"
