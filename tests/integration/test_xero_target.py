"""The Xero writer against Xero's API shape on loopback, counting what it holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.xero.feed import XeroTarget
from hub.contracts.feeds import DeliveryFailed, FeedItem, TargetSettings
from hub.sandbox.xero import XeroApi
from tests.support import golden as r
from tests.support.golden import resolved, xref

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


def _draft(writer: Any, **engagement_fields: Any) -> tuple[str, str]:
    """Delivers a client and its engagement's draft; returns (engagement id, InvoiceID)."""
    client = r.client()
    [contact] = TARGET.items("client", client)
    contact_id = writer.deliver(contact).target_id
    engagement = r.engagement(client["id"], **engagement_fields)
    [draft] = TARGET.items("engagement", engagement)
    return engagement["id"], writer.deliver(resolved(draft, {client["id"]: contact_id})).target_id


def _lines(api: XeroApi, invoice_id: str) -> list[dict[str, Any]]:
    [invoice] = [i for i in api.held(TENANT, "Invoices") if i["InvoiceID"] == invoice_id]
    return invoice.get("LineItems") or []


def test_a_repeated_delivery_creates_one_contact(api: XeroApi, writer: Any) -> None:
    item = _contact()
    first, again = writer.deliver(item), writer.deliver(item)
    assert first.target_type == "Contact" and first.tenant == TENANT
    assert again.target_id == first.target_id
    assert len(api.held(TENANT, "Contacts")) == 1
    puts = [q for q in api.requests if q.method == "PUT"]
    assert len(puts) == 2
    assert {q.headers["Idempotency-Key"] for q in puts} == {item.idempotency_key}


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


def test_an_engagement_is_one_draft_sales_invoice(api: XeroApi, writer: Any) -> None:
    client = r.client()
    [contact] = TARGET.items("client", client)
    contact_id = writer.deliver(contact).target_id
    [draft] = TARGET.items("engagement", r.engagement(client["id"]))
    first = writer.deliver(resolved(draft, {client["id"]: contact_id}))
    again = writer.deliver(resolved(draft, {client["id"]: contact_id}))
    [invoice] = api.held(TENANT, "Invoices")
    assert first.target_id == again.target_id == invoice["InvoiceID"]
    assert first.target_type == "DraftInvoice"
    assert (invoice["Type"], invoice["Status"], invoice["Contact"]) == (
        "ACCREC",
        "DRAFT",
        {"ContactID": contact_id},
    )


def test_billable_items_are_lines_on_the_draft_once_each(api: XeroApi, writer: Any) -> None:
    engagement_id, invoice_id = _draft(writer)
    ids = {engagement_id: invoice_id}
    entry = r.time_entry(engagement_id, hours="2.25")
    items = [
        *TARGET.items("time_entry", entry),
        *TARGET.items("expense", r.expense(engagement_id)),
    ]
    delivered = [writer.deliver(resolved(item, ids)) for item in items + items]
    assert {d.target_type for d in delivered} == {"LineItem"}
    assert delivered[0].target_id == delivered[2].target_id
    lines = _lines(api, invoice_id)
    assert sorted(str(line["LineAmount"]) for line in lines) == ["337.50", "84.20"]
    [invoice] = api.held(TENANT, "Invoices")
    assert str(invoice["Total"]) == "421.70" and invoice["Status"] == "DRAFT"
    # A new version of the entry (more hours) replaces its own line, and only it.
    known = [xref("xero", "LineItem", delivered[0].target_id, TENANT)]
    later = {**entry, "version": 2, "hours": "3", "xrefs": known}
    [update] = TARGET.items("time_entry", later)
    assert writer.deliver(resolved(update, ids)).target_id == delivered[0].target_id
    lines = _lines(api, invoice_id)
    assert sorted(str(line["LineAmount"]) for line in lines) == ["450.00", "84.20"]


def test_a_line_delivered_again_before_its_acknowledgement_is_found_not_added(
    api: XeroApi, writer: Any
) -> None:
    engagement_id, invoice_id = _draft(writer)
    ids = {engagement_id: invoice_id}
    entry = r.time_entry(engagement_id)
    [item] = TARGET.items("time_entry", entry)
    first = writer.deliver(resolved(item, ids))
    # The hub crashed before recording the xref; the next version comes without it.
    [later] = TARGET.items("time_entry", {**entry, "version": 2, "hours": "8"})
    assert writer.deliver(resolved(later, ids)).target_id == first.target_id
    [line] = _lines(api, invoice_id)
    assert str(line["LineAmount"]) == "1200.00"


def test_a_line_in_another_currency_than_the_draft_is_refused(api: XeroApi, writer: Any) -> None:
    engagement_id, invoice_id = _draft(writer)
    usd = r.expense(engagement_id, amount={"amount": "40.00", "currency": "USD"})
    [item] = TARGET.items("expense", usd)
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(resolved(item, {engagement_id: invoice_id}))
    assert not failed.value.retryable and "USD line" in str(failed.value)
    assert _lines(api, invoice_id) == []


def test_an_approved_draft_takes_no_more_lines_and_is_left_alone(api: XeroApi, writer: Any) -> None:
    engagement_id, invoice_id = _draft(writer)
    [invoice] = api.held(TENANT, "Invoices")
    invoice["Status"] = "AUTHORISED"  # approved in Xero meanwhile
    [item] = TARGET.items("milestone", r.milestone(engagement_id))
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(resolved(item, {engagement_id: invoice_id}))
    assert not failed.value.retryable and "AUTHORISED" in str(failed.value)
    # The engagement changes; its draft, approved meanwhile, is left as Xero holds it.
    contact_id = invoice["Contact"]["ContactID"]
    client_id = r.client()["id"]
    known = [xref("xero", "DraftInvoice", invoice_id, TENANT)]
    changed = {**r.engagement(client_id, name="Renamed", xrefs=known), "id": engagement_id}
    [update] = TARGET.items("engagement", changed)
    delivered = writer.deliver(resolved(update, {client_id: contact_id}))
    assert delivered.target_id == invoice_id and delivered.details["Status"] == "AUTHORISED"
    assert api.seen("POST", r"/api\.xro/2\.0/Invoices") == 0


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


def test_a_draft_for_an_unknown_contact_is_refused(api: XeroApi, writer: Any) -> None:
    engagement = r.engagement(r.client()["id"])
    [item] = TARGET.items("engagement", engagement)
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(resolved(item, {engagement["client_id"]: "00000000-0000-4000-8000-0"}))
    assert not failed.value.retryable and "Contact ID provided is not valid" in str(failed.value)
    assert api.held(TENANT, "Invoices") == []


def test_another_tenant_is_forbidden(api: XeroApi) -> None:
    settings = TargetSettings(base_url=api.base_url, token=api.token, tenant="not-connected")
    with httpx.Client(timeout=5) as client, pytest.raises(DeliveryFailed) as failed:
        TARGET.writer(settings, client).deliver(_contact())
    assert failed.value.status == 403 and not failed.value.retryable
    assert "AuthenticationUnsuccessful" in str(failed.value)


def test_a_payment_into_the_old_system_is_one_payment_on_xeros_copy(
    api: XeroApi, writer: Any
) -> None:
    """Invoice 1047 carried to Xero (400.00 owed), then 30.00 paid into QuickBooks: Xero's
    copy is given one payment however often it is delivered, and owes 370.00; a payment
    beyond what is owed is refused as the payload's fault (not retried)."""
    target = XeroTarget(tenant=TENANT, payment_account="090")
    client = r.client()
    contact_id = writer.deliver(target.items("client", client)[0]).target_id
    record = r.golden(
        "invoice",
        kind="invoice",
        client_id=client["id"],
        number="1047",
        currency="GBP",
        status="issued",
        issue_date="2026-02-27",
        subtotal={"amount": "500.00", "currency": "GBP"},
        tax_total={"amount": "0.00", "currency": "GBP"},
        total={"amount": "500.00", "currency": "GBP"},
        open_balance={"amount": "370.00", "currency": "GBP"},
        carried_to="xero",
        carried_from="quickbooks",
        carried_balance={"amount": "400.00", "currency": "GBP"},
        carried_payments=1,
        payments=[
            r.payment("100.00", "GBP", "quickbooks", "m-1"),
            r.payment("30.00", "GBP", "quickbooks", "m-2"),
        ],
    )
    carried, paid = target.items("invoice", record)
    copy_id = writer.deliver(resolved(carried, {client["id"]: contact_id})).target_id
    payment = resolved(paid, {record["id"]: copy_id})
    first, again = writer.deliver(payment), writer.deliver(payment)
    assert (first.target_type, again.target_id) == ("Payment", first.target_id)
    [held] = api.held(TENANT, "Payments")
    assert (held["Reference"], str(held["Amount"])) == (
        "pshub: paid into quickbooks (m-2)",
        "30.00",
    )
    [copy] = api.held(TENANT, "Invoices")
    assert (copy["Status"], str(copy["AmountDue"]), str(copy["AmountPaid"])) == (
        "AUTHORISED",
        "370.00",
        "30.00",
    )
    assert [p["Reference"] for p in copy["Payments"]] == [held["Reference"]]
    too_much = replace(payment, payload={**payment.payload, "Amount": "500.00"}, request_key="x")
    with pytest.raises(DeliveryFailed) as refused:
        writer.deliver(too_much)
    assert (refused.value.reason, refused.value.retryable) == ("DOWNSTREAM_REJECTED", False)
    assert "exceeds the amount outstanding" in str(refused.value)
    assert len(api.held(TENANT, "Payments")) == 1
