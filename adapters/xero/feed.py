"""Golden records -> what Xero must hold (pure): a Contact per client, and a draft sales
invoice (ACCREC, DRAFT, amounts exclusive of tax) per billable item (adapters/billable.py),
addressed to the client's Contact by ContactID.

The Contact carries the hub's client id as its ContactNumber, the field Xero keeps for
identifying a contact in another system. Amounts are exact decimal strings in the payload (the
writer puts them on the wire as JSON numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters import billable
from adapters.xero.writes import XeroWriter
from hub.contracts.feeds import FeedItem, TargetSettings

NAME = "xero"
CONTACT = "Contact"
INVOICE = "Invoice"


class XeroTarget:
    """Billing in Xero: contacts and draft sales invoices of billable items."""

    name = NAME
    category = "billing"
    entities = frozenset({"client"}) | billable.BILLABLE
    related = billable.RELATED

    def __init__(self, *, tenant: str = "", account_code: str = "200") -> None:
        # The Xero tenant, so that only its xrefs count; the revenue account lines book to
        # (200 is Sales in Xero's default chart of accounts).
        self.tenant = tenant
        self.account_code = account_code

    def items(
        self,
        entity: str,
        record: Mapping[str, Any],
        related: Mapping[str, Any] | None = None,
    ) -> list[FeedItem]:
        """What Xero must hold for the record; [] when it holds nothing for it."""
        if entity == "client":
            return [] if record.get("deleted") else [self._contact(record)]
        if entity not in billable.BILLABLE or related is None:
            return []
        contact = billable.xref_id(related.get("client") or {}, NAME, CONTACT, self.tenant)
        found = billable.line(entity, record, related)
        if contact is None or found is None:
            return []
        target_id = billable.xref_id(record, NAME, INVOICE, self.tenant)
        payload: dict[str, Any] = {
            "Type": "ACCREC",
            "Status": "DRAFT",
            "LineAmountTypes": "Exclusive",
            "Contact": {"ContactID": contact},
            "CurrencyCode": found.currency,
            "Reference": str((related.get("engagement") or {}).get("code") or "")[:255],
            "LineItems": [
                {
                    "Description": found.description,
                    "Quantity": str(found.quantity),
                    "UnitAmount": str(found.unit_price),
                    "AccountCode": self.account_code,
                }
            ],
        }
        if found.service_date:
            payload["Date"] = found.service_date.isoformat()
        if target_id:
            payload["InvoiceID"] = target_id
        return [self._item("invoice", record, f"line:{record['id']}", payload, target_id)]

    def writer(self, settings: TargetSettings, client: httpx.Client) -> XeroWriter:
        """The connector to the tenant the settings name."""
        return XeroWriter(settings, client)

    def _contact(self, record: Mapping[str, Any]) -> FeedItem:
        target_id = billable.xref_id(record, NAME, CONTACT, self.tenant)
        payload: dict[str, Any] = {
            "Name": " ".join((record.get("trading_name") or record["legal_name"]).split())[:255],
            "ContactNumber": str(record["id"]),
            "ContactStatus": "ARCHIVED" if record.get("status") == "closed" else "ACTIVE",
        }
        optional = {
            "DefaultCurrency": record.get("billing_currency"),
            "EmailAddress": record.get("email"),
            "TaxNumber": record.get("tax_id"),
            "Website": record.get("website"),
        }
        payload.update({name: value for name, value in optional.items() if value})
        if record.get("phone"):
            payload["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": record["phone"]}]
        if record.get("billing_address"):
            payload["Addresses"] = [_address(record["billing_address"])]
        if target_id:
            payload["ContactID"] = target_id
        return self._item("contact", record, "contact", payload, target_id)

    def _item(
        self,
        entity: str,
        record: Mapping[str, Any],
        key: str,
        payload: Mapping[str, Any],
        target_id: str | None,
    ) -> FeedItem:
        return FeedItem(
            target=NAME,
            entity=entity,
            canonical_id=billable.canonical_id(record),
            version=int(record["version"]),
            key=key,
            payload=payload,
            target_id=target_id,
        )


def _address(address: Mapping[str, Any]) -> dict[str, str]:
    fields = {
        "AddressType": "POBOX",  # Xero's billing address
        "AddressLine1": address.get("street", ""),
        "City": address.get("city", ""),
        "Region": address.get("region", ""),
        "PostalCode": address.get("postal_code", ""),
        "Country": address.get("country", ""),
    }
    return {name: value for name, value in fields.items() if value}
