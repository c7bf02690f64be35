"""What the readers make of a target's records before they are compared (pure parts): only
the kinds the feed writes, and the money a record carries."""

from __future__ import annotations

from decimal import Decimal

from adapters.quickbooks.reads import QuickBooksReader
from adapters.xero.reads import XeroReader, _as_fed
from domain.reconciliation import Money, differences
from hub.contracts.feeds import TargetSettings

SETTINGS = TargetSettings(base_url="http://127.0.0.1:1", token="t", tenant="x")


def test_a_xero_contact_keeps_only_the_address_and_phone_kinds_the_feed_writes() -> None:
    sent = {
        "Name": "Acme",
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "+44 20 7946 0000"}],
        "Addresses": [{"AddressType": "POBOX", "City": "London"}],
    }
    shown = {
        "Name": "Acme",
        "Phones": [
            {"PhoneType": "DDI", "PhoneNumber": ""},
            {"PhoneType": "DEFAULT", "PhoneNumber": "+44 20 7946 0000"},
            {"PhoneType": "MOBILE", "PhoneNumber": ""},
        ],
        "Addresses": [
            {"AddressType": "STREET"},
            {"AddressType": "POBOX", "City": "London", "PostalCode": ""},
        ],
    }
    assert len(differences(sent, shown)) == 2  # as Xero shows it, both lists differ
    assert differences(sent, _as_fed(shown)) == []


def test_a_xero_line_is_worth_its_quantity_times_unit_amount_to_the_cent() -> None:
    reader = XeroReader(SETTINGS, client=None)  # type: ignore[arg-type]
    line = {"Quantity": "2.5", "UnitAmount": "133.333"}
    found = reader.money("line", {"CurrencyCode": "EUR", "LineItem": line})
    assert found == Money("EUR", Decimal("333.33"))
    assert reader.money("contact", {"Name": "Acme"}) is None


def test_a_quickbooks_invoice_is_worth_its_sales_lines_in_its_currency() -> None:
    reader = QuickBooksReader(SETTINGS, client=None)  # type: ignore[arg-type]
    invoice = {
        "CurrencyRef": {"value": "GBP"},
        "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": Decimal("375.00")},
            {"DetailType": "SalesItemLineDetail", "Amount": "84.20"},
            {"DetailType": "SubTotalLineDetail", "Amount": Decimal("459.20")},
        ],
    }
    assert reader.money("invoice", invoice) == Money("GBP", Decimal("459.20"))
    assert reader.money("customer", {"DisplayName": "Acme"}) is None
