"""QuickBooks target mapping: golden records -> Customer and draft invoice payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.quickbooks.feed import QuickBooksTarget, display_name
from tests.support.targets import records as r
from tests.support.targets.records import xref

TARGET = QuickBooksTarget(tenant="9130")


def _related(**client_fields: Any) -> dict[str, Any]:
    known = [xref("quickbooks", "Customer", "58", "9130")]
    client = r.client(xrefs=known, **client_fields)
    return {"client": client, "engagement": r.engagement(client["id"])}


def test_maps_a_client_to_a_customer_in_its_billing_currency() -> None:
    client = r.client(
        trading_name="Acme: Europe",
        email="ap@acme.example",
        billing_address={"street": "1 High St", "city": "Leeds", "country": "GB"},
    )
    [item] = TARGET.items("client", client)
    assert item.entity == "customer" and item.key == "customer" and item.target_id is None
    assert item.payload["DisplayName"] == "Acme- Europe"  # QuickBooks refuses a colon
    assert item.payload["CurrencyRef"] == {"value": "GBP"}
    assert item.payload["PrimaryEmailAddr"] == {"Address": "ap@acme.example"}
    assert item.payload["BillAddr"] == {"Line1": "1 High St", "City": "Leeds", "Country": "GB"}
    assert item.payload["Active"] is True


def test_a_client_without_optional_fields_leaves_them_out() -> None:
    [item] = TARGET.items("client", r.client(billing_currency="", status="inactive"))
    assert set(item.payload) == {"DisplayName", "CompanyName", "Active", "Notes"}
    assert item.payload["Active"] is False


def test_a_client_known_to_the_realm_updates_its_customer() -> None:
    client = r.client(
        xrefs=[
            xref("quickbooks", "Customer", "77", "other"),
            xref("quickbooks", "Customer", "58", "9130"),
        ]
    )
    [item] = TARGET.items("client", client)
    assert item.target_id == "58"  # the other realm's id 77 is another company's record


def test_idempotency_key_follows_the_version() -> None:
    client = r.client()
    [first] = TARGET.items("client", client)
    [again] = TARGET.items("client", client)
    [later] = TARGET.items("client", {**client, "version": 2})
    assert first.idempotency_key == again.idempotency_key != later.idempotency_key
    assert len(first.idempotency_key) <= 50


def test_an_approved_billable_unbilled_time_entry_is_a_draft_invoice_line() -> None:
    related = _related()
    entry = r.time_entry(related["engagement"]["id"], billing_hours="7.75")
    [item] = TARGET.items("time_entry", entry, related)
    assert item.entity == "invoice" and item.key == f"line:{entry['id']}"
    assert item.payload["CustomerRef"] == {"value": "58"}
    assert item.payload["CurrencyRef"] == {"value": "GBP"}
    [line] = item.payload["Line"]
    assert line["DetailType"] == "SalesItemLineDetail"
    detail = line["SalesItemLineDetail"]
    # The billing quantity (rounded hours), never the recorded one, at the entry's rate.
    assert (detail["Qty"], detail["UnitPrice"], line["Amount"]) == ("7.75", "150.00", "1162.50")
    assert detail["ServiceDate"] == "2026-03-02" and detail["ItemRef"] == {"value": "1"}


def test_a_time_entry_without_its_own_rate_uses_the_engagements() -> None:
    related = _related()
    related["engagement"] = {
        **related["engagement"],
        "hourly_rate": {"amount": "99.995", "currency": "GBP"},
    }
    entry = r.time_entry(related["engagement"]["id"], source_rate=None, hours="3")
    [item] = TARGET.items("time_entry", entry, related)
    assert item.payload["Line"][0]["Amount"] == "299.99"  # 299.985 rounded half up


def test_billable_items_follow_the_lifecycle_rules() -> None:
    related = _related()
    eng = related["engagement"]["id"]
    not_billable = [
        ("time_entry", r.time_entry(eng, status="submitted")),
        ("time_entry", r.time_entry(eng, billable=False)),
        ("time_entry", r.time_entry(eng, status="billed")),
        ("time_entry", r.time_entry(eng, invoice_id="6f1c1f0e-2d7e-4f55-9c55-2b8f3a1d0c11")),
        ("time_entry", r.time_entry(eng, is_running=True)),
        ("time_entry", r.time_entry(eng, deleted=True)),
        ("time_entry", r.time_entry(eng, source_rate=None)),  # no rate: cannot be priced
        ("expense", r.expense(eng, status="draft")),
        ("expense", r.expense(eng, billable=False)),
        ("milestone", r.milestone(eng, status="accepted")),
        ("milestone", r.milestone(eng, dispute="scope of phase 2")),
    ]
    for entity, record in not_billable:
        assert TARGET.items(entity, record, related) == [], (entity, record)


def test_an_expense_and_a_milestone_are_lines_of_their_amount() -> None:
    related = _related()
    eng = related["engagement"]["id"]
    [expense] = TARGET.items("expense", r.expense(eng), related)
    [milestone] = TARGET.items("milestone", r.milestone(eng), related)
    assert expense.payload["Line"][0]["Amount"] == "84.20"
    assert milestone.payload["Line"][0]["Amount"] == "12000.00"
    assert milestone.payload["Line"][0]["SalesItemLineDetail"]["ServiceDate"] == "2026-03-10"


def test_a_line_in_another_currency_than_the_customers_is_left_out() -> None:
    related = _related(billing_currency="EUR")
    eng = related["engagement"]["id"]
    assert TARGET.items("time_entry", r.time_entry(eng), related) == []  # GBP rate
    eur = r.time_entry(eng, source_rate={"amount": "180.00", "currency": "EUR"})
    [item] = TARGET.items("time_entry", eur, related)
    assert item.payload["CurrencyRef"] == {"value": "EUR"}
    assert Decimal(item.payload["Line"][0]["Amount"]) == Decimal("1350.00")


def test_a_zero_decimal_currency_rounds_to_whole_units() -> None:
    related = _related(billing_currency="JPY")
    rate = {"amount": "15000", "currency": "JPY"}
    entry = r.time_entry(related["engagement"]["id"], source_rate=rate, hours="0.33")
    [item] = TARGET.items("time_entry", entry, related)
    assert item.payload["Line"][0]["Amount"] == "4950"


def test_no_line_until_the_customer_is_known_in_this_realm() -> None:
    client = r.client(xrefs=[xref("quickbooks", "Customer", "58", "another-realm")])
    related = {"client": client, "engagement": r.engagement(client["id"])}
    entry = r.time_entry(related["engagement"]["id"])
    assert TARGET.items("time_entry", entry, related) == []
    assert TARGET.items("time_entry", entry) == []  # no related records given


def test_a_line_already_delivered_updates_its_invoice() -> None:
    related = _related()
    known = [xref("quickbooks", "Invoice", "1047", "9130")]
    entry = r.time_entry(related["engagement"]["id"], xrefs=known, version=3)
    [item] = TARGET.items("time_entry", entry, related)
    assert item.target_id == "1047" and item.version == 3


def test_display_name_prefers_the_trading_name_and_collapses_space() -> None:
    assert display_name(r.client(trading_name="  Acme\tEurope \n")) == "Acme Europe"
    assert display_name(r.client()) == "Acme Holdings Ltd"
