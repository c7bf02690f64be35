"""Stripe: what an invoice and a credit note report beyond their lines, kept in canonical
fields (payloads written from DOMAIN.md 2.8: epoch seconds, minor units in Stripe's own
exponent, basil and older API shapes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.stripe import ADAPTER
from hub.contracts.adapters import AdapterConfig, AdapterError

CONFIG = AdapterConfig(tenant="acct_1Qz", extra={"time_zone": "Asia/Kuwait"})


def event(kind: str, obj: dict[str, Any], *, api: str = "2025-03-31.basil") -> bytes:
    return json.dumps(
        {
            "id": f"evt_{obj['id'][-6:]}{kind[-4:]}",
            "object": "event",
            "api_version": api,
            "created": 1767420000,
            "type": kind,
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


def kwd_invoice() -> dict[str, Any]:
    # Keys in an order of their own; KWD has three decimals (Stripe sends a final 0).
    return {
        "status_transitions": {
            "voided_at": None,
            "paid_at": 1767690000,
            "marked_uncollectible_at": None,
            "finalized_at": 1767430800,
        },
        "total": 1160250,
        "object": "invoice",
        "id": "in_1SkW7nQz0kwd",
        "currency": "kwd",
        "status": "paid",
        "number": "GFA-2026-0003",
        "customer": "cus_Tq8Gulf",
        "customer_name": "Gulf Freight W.L.L.",
        "customer_email": "accounts@gulf-freight.example",
        "collection_method": "send_invoice",
        "billing_reason": "manual",
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Qz/live_kwd3",
        "invoice_pdf": None,
        "description": "Customs advisory retainer, December 2025",
        "created": 1767420000,
        "effective_at": 1767430800,
        "due_date": None,
        "period_start": 1767225600,
        "period_end": 1767398400,
        "amount_due": 1160250,
        "amount_paid": 1160250,
        "amount_remaining": 0,
        "amount_overpaid": 0,
        "subtotal": 1105000,
        "total_excluding_tax": 1105000,
        "total_taxes": [{"amount": 55250, "tax_behavior": "exclusive", "taxable_amount": 1105000}],
        "starting_balance": -25000,
        "ending_balance": 0,
        "metadata": {},
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": "il_1SkW7oQzKW01",
                    "amount": 1105000,
                    "description": "Customs advisory, December",
                    "quantity": 1,
                    "period": {"start": 1764547200, "end": 1767225600},
                    "pricing": {
                        "price_details": {"price": "price_1Skadv", "product": "prod_Customs"},
                        "unit_amount_decimal": "1105000",
                    },
                    "taxes": [
                        {"amount": 55250, "tax_behavior": "exclusive", "taxable_amount": 1105000}
                    ],
                }
            ],
        },
    }


def mapped(payload: bytes) -> dict[str, Any]:
    [change] = ADAPTER.map_payload(payload, config=CONFIG).events
    return change.data


def test_a_paid_kwd_invoice_keeps_balances_taxes_transitions_and_customer() -> None:
    data = mapped(event("invoice.paid", kwd_invoice()))
    assert data["source_status"] == "paid"
    kwd = lambda amount: {"amount": amount, "currency": "KWD"}  # noqa: E731
    assert (data["amount_due"], data["amount_remaining"]) == (kwd("1160.250"), kwd("0.000"))
    assert (data["reported_subtotal"], data["reported_tax"]) == (kwd("1105.000"), kwd("55.250"))
    assert data["total_excluding_tax"] == kwd("1105.000")
    assert (data["starting_balance"], data["ending_balance"]) == (kwd("-25.000"), kwd("0.000"))
    assert data["finalized_at"] == "2026-01-03T09:00:00Z"
    assert data["paid_at"] == "2026-01-06T09:00:00Z"
    assert data["voided_at"] is None
    assert (data["customer_name"], data["customer_email"]) == (
        "Gulf Freight W.L.L.",
        "accounts@gulf-freight.example",
    )
    assert (data["collection_method"], data["billing_reason"]) == ("send_invoice", "manual")
    assert data["hosted_url"] == "https://invoice.stripe.com/i/acct_1Qz/live_kwd3"
    assert data["pdf_url"] is None
    assert data["memo"] == "Customs advisory retainer, December 2025"
    # Stripe's usage period, taken as dates in the account's zone (Kuwait, UTC+3).
    assert (data["period_start"], data["period_end"]) == ("2026-01-01", "2026-01-03")
    # A whole object: a null due date (nothing to chase) is reported, and clears.
    assert data["due_date"] is None
    [line] = data["lines"]
    assert (line["source_line_id"], line["item_code"]) == ("il_1SkW7oQzKW01", "prod_Customs")
    assert (line["period_start"], line["period_end"]) == ("2025-12-01", "2026-01-01")


def test_an_uncollectible_yen_invoice_of_an_older_api_keeps_stripes_own_status() -> None:
    invoice = {
        "id": "in_1Jp0yenOld",
        "object": "invoice",
        "currency": "jpy",
        "status": "uncollectible",
        "created": 1767420000,
        "total": 330000,
        "amount_paid": 0,
        "amount_due": 330000,
        "amount_remaining": 330000,
        "subtotal": 300000,
        "tax": 30000,
        "status_transitions": {"finalized_at": 1767430800, "marked_uncollectible_at": 1770000000},
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": "il_1Jp0yen",
                    "amount": 300000,
                    "quantity": 2,
                    "price": {"id": "price_1Jpday", "product": "prod_Workshop"},
                    "tax_amounts": [{"amount": 30000, "inclusive": False}],
                }
            ],
        },
    }
    data = mapped(event("invoice.marked_uncollectible", invoice, api="2022-11-15"))
    # The canonical status cannot say "written off": it is issued, and Stripe's word is kept.
    assert (data["status"], data["source_status"]) == ("issued", "uncollectible")
    assert data["reported_tax"] == {"amount": "30000", "currency": "JPY"}
    assert data["marked_uncollectible_at"] == "2026-02-02T02:40:00Z"
    # Keys this API version does not send are not reported (they stay as the hub has them).
    for absent in ("amount_overpaid", "total_excluding_tax", "customer_email", "due_date"):
        assert absent not in data
    assert data["lines"][0]["item_code"] == "prod_Workshop"


def test_a_credit_note_keeps_its_reason_memo_and_type() -> None:
    note = {
        "id": "cn_1SkZ0credit",
        "object": "credit_note",
        "invoice": "in_1SkW7nQz0kwd",
        "currency": "kwd",
        "status": "issued",
        "type": "post_payment",
        "reason": "order_change",
        "memo": "Two customs filings were not needed.",
        "created": 1767800000,
        "total": 110500,
        "subtotal": 110500,
        "total_excluding_tax": 110500,
        "pdf": "https://pay.stripe.com/credit_notes/acct_1Qz/cn_1SkZ0credit/pdf",
        "lines": {"object": "list", "data": []},
    }
    data = mapped(event("credit_note.created", note))
    assert (data["credit_reason"], data["credit_type"]) == ("order_change", "post_payment")
    assert data["memo"] == "Two customs filings were not needed."
    assert data["reported_subtotal"] == {"amount": "110.500", "currency": "KWD"}
    assert data["pdf_url"].endswith("/pdf")


def test_a_negative_amount_remaining_is_refused_naming_the_field() -> None:
    invoice = kwd_invoice()
    invoice["amount_remaining"] = -10
    with pytest.raises(AdapterError) as refused:
        ADAPTER.map_payload(event("invoice.paid", invoice), config=CONFIG)
    assert refused.value.reason == "NEGATIVE_QUANTITY"
    assert "amount_remaining" in refused.value.field
