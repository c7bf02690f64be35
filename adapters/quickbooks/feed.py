"""Golden records -> what QuickBooks Online must hold (pure): a Customer per client, and a
draft invoice per billable item (adapters/billable.py), addressed to the client's Customer.

Amounts are exact decimal strings in the payload (the writer puts them on the wire as JSON
numbers). QuickBooks refuses a transaction whose currency is not its customer's, and the
billable rule only keeps lines in the customer's currency, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters import billable
from adapters.quickbooks.writes import QuickBooksWriter
from hub.contracts.feeds import FeedItem, TargetSettings

NAME = "quickbooks"
CUSTOMER = "Customer"
INVOICE = "Invoice"
# QuickBooks refuses a DisplayName with a colon, a tab or a new line; 500 characters at most.
_NOT_IN_NAME = str.maketrans({":": "-", "\t": " ", "\n": " ", "\r": " "})


class QuickBooksTarget:
    """Billing in QuickBooks Online: customers and draft invoices of billable items."""

    name = NAME
    category = "billing"
    entities = frozenset({"client"}) | billable.BILLABLE
    related = billable.RELATED

    def __init__(self, *, tenant: str = "", item_id: str = "1") -> None:
        # The realm, so that only this company's xrefs count; the Item invoice lines sell
        # (QuickBooks requires an ItemRef on a sales line; "1" is the default Services item).
        self.tenant = tenant
        self.item_id = item_id

    def items(
        self,
        entity: str,
        record: Mapping[str, Any],
        related: Mapping[str, Any] | None = None,
    ) -> list[FeedItem]:
        """What QuickBooks must hold for the record; [] when it holds nothing for it."""
        if entity == "client":
            return [] if record.get("deleted") else [self._customer(record)]
        if entity not in billable.BILLABLE or related is None:
            return []
        customer = billable.xref_id(related.get("client") or {}, NAME, CUSTOMER, self.tenant)
        found = billable.line(entity, record, related)
        if customer is None or found is None:
            return []
        payload = {
            "CustomerRef": {"value": customer},
            "CurrencyRef": {"value": found.currency},
            "Line": [_sales_line(found, self.item_id)],
            "PrivateNote": f"pshub {entity} {record['id']}",
        }
        return [self._item(INVOICE.lower(), record, f"line:{record['id']}", payload, INVOICE)]

    def writer(self, settings: TargetSettings, client: httpx.Client) -> QuickBooksWriter:
        """The connector to the realm the settings name."""
        return QuickBooksWriter(settings, client)

    def _customer(self, record: Mapping[str, Any]) -> FeedItem:
        payload: dict[str, Any] = {
            "DisplayName": display_name(record),
            "CompanyName": record["legal_name"][:100],
            "Active": record.get("status") == "active",
            "Notes": f"pshub client {record['id']}",
        }
        if record.get("billing_currency"):
            payload["CurrencyRef"] = {"value": record["billing_currency"]}
        if record.get("email"):
            payload["PrimaryEmailAddr"] = {"Address": record["email"]}
        if record.get("phone"):
            payload["PrimaryPhone"] = {"FreeFormNumber": record["phone"]}
        if record.get("website"):
            payload["WebAddr"] = {"URI": record["website"]}
        if record.get("billing_address"):
            payload["BillAddr"] = _address(record["billing_address"])
        return self._item("customer", record, "customer", payload, CUSTOMER)

    def _item(
        self,
        entity: str,
        record: Mapping[str, Any],
        key: str,
        payload: Mapping[str, Any],
        target_type: str,
    ) -> FeedItem:
        return FeedItem(
            target=NAME,
            entity=entity,
            canonical_id=billable.canonical_id(record),
            version=int(record["version"]),
            key=key,
            payload=payload,
            target_id=billable.xref_id(record, NAME, target_type, self.tenant),
        )


def display_name(record: Mapping[str, Any]) -> str:
    """The client's name as QuickBooks allows it (the trading name where there is one)."""
    name = (record.get("trading_name") or record["legal_name"]).translate(_NOT_IN_NAME)
    return " ".join(name.split())[:500]


def _sales_line(found: billable.Line, item_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "ItemRef": {"value": item_id},
        "Qty": str(found.quantity),
        "UnitPrice": str(found.unit_price),
    }
    if found.service_date:
        detail["ServiceDate"] = found.service_date.isoformat()
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": str(found.amount),
        "Description": found.description,
        "SalesItemLineDetail": detail,
    }


def _address(address: Mapping[str, Any]) -> dict[str, str]:
    fields = {
        "Line1": address.get("street", ""),
        "City": address.get("city", ""),
        "CountrySubDivisionCode": address.get("region", ""),
        "PostalCode": address.get("postal_code", ""),
        "Country": address.get("country", ""),
    }
    return {name: value for name, value in fields.items() if value}
