"""Golden records -> what QuickBooks Online must hold (pure).

- a client is a Customer;
- a won engagement is a sub-customer of it (`Job`, `ParentRef`, `BillWithParent`), which is how
  QuickBooks keeps projects, in the engagement's currency (QuickBooks requires a sub-customer's
  currency to be its parent's);
- each billable item (adapters/billable.py) is a one-line invoice to the engagement's
  sub-customer, in the item's currency; or, with PSHUB_BILLING_INVOICES=runs, each billing
  run's draft is one invoice of all its lines (a cap's write-down a negative line), and the
  items are not invoiced on their own (a run's draft the hub withdrew is deleted where
  QuickBooks holds it). QuickBooks has no draft state: an invoice stays unsent
  (EmailStatus NotSet) until a person sends it. It refuses a transaction whose currency is not
  its customer's, so a line is never converted nor added to one in another currency.

Another record's QuickBooks id is a placeholder (`ref`) the delivery resolves. Amounts are
exact decimal strings in the payload; the writer puts them on the wire as JSON numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx

from adapters.billable import (
    BILLABLE,
    BILLED_ENGAGEMENTS,
    CARRIED_ENTITY,
    DRAFT_ENTITY,
    READY_ENTITY,
    Line,
    billing_ready,
    canonical_id,
    carried,
    invoices_mode,
    line,
    paid_elsewhere,
    ref,
    run_draft_lines,
    withdrawal_notice,
    withdrawn_run_draft,
    xref_id,
)
from adapters.quickbooks.writes import QuickBooksWriter
from hub.contracts.feeds import FeedItem, TargetSettings

NAME = "quickbooks"
CUSTOMER = "Customer"
# The xref a sub-customer is acknowledged under on its engagement: not "Customer", which the
# hub's clients hold (an invoice QuickBooks sends back names its customer by that type, and
# must not be linked to an engagement as if it were a client).
JOB = "Job"
# The xref an item's invoice is acknowledged under: the invoice holding that item's line (not
# "Invoice", which names the invoice golden records ingest keeps).
ITEM_INVOICE = "InvoiceLine"
# A billing run's draft is acknowledged as the Invoice it is, so that the invoice QuickBooks
# reports back through ingest (issued, paid) is that same golden record.
RUN_INVOICE = "Invoice"
# QuickBooks refuses a DisplayName with a colon, a tab or a new line; 500 characters at most.
_NOT_IN_NAME = str.maketrans({":": "-", "\t": " ", "\n": " ", "\r": " "})


class QuickBooksTarget:
    """Billing in QuickBooks Online: customers, engagements as sub-customers, and an invoice
    per billable item."""

    name = NAME
    category = "billing"
    entities = frozenset({"client", "engagement", "invoice"}) | BILLABLE

    def __init__(
        self, *, tenant: str = "", item_id: str = "1", invoices: str = "", carry_item: str = ""
    ) -> None:
        # The realm, so that only this company's xrefs count; the Item invoice lines sell
        # (QuickBooks requires an ItemRef on a sales line; "1" is the default Services item);
        # what is invoiced: "items" or "runs" (adapters/billable.py; "" reads the setting);
        # the Item the balances of invoices carried over from another system sell ("": item_id).
        self.tenant = tenant
        self.item_id = item_id
        self.invoices = invoices
        self.carry_item = carry_item

    def items(self, entity: str, record: Mapping[str, Any]) -> list[FeedItem]:
        """What QuickBooks must hold for the record; [] when it holds nothing for it.

        A client or engagement deleted at its source becomes inactive where QuickBooks holds
        it (nothing is deleted downstream); one QuickBooks never held is not sent at all."""
        if entity == "client":
            item = self._item("customer", record, "customer", _customer(record), CUSTOMER)
            return [] if record.get("deleted") and item.target_id is None else [item]
        if entity == "engagement":
            job = _job(record)
            # Keyed as the placeholder that names it is typed, so the delivery finds it at once.
            item = self._item("customer", record, JOB.lower(), job, JOB) if job else None
            return [] if item is None or (record.get("deleted") and not item.target_id) else [item]
        if entity == "invoice" and record.get("carried_to") == NAME:
            return [] if record.get("deleted") else self._carried(record)
        if entity == "invoice":
            return self._run_draft(record)
        if invoices_mode(self.invoices) == "runs":
            # Items are billed by the runs' drafts; a billing-ready milestone is announced.
            return self._ready(record) if entity == "milestone" else []
        found = line(entity, record)
        if found is None:
            return []
        payload = {
            "CustomerRef": {"value": ref(record["engagement_id"], JOB)},
            "CurrencyRef": {"value": found.currency},
            "Line": [_sales_line(found, self.item_id)],
            "PrivateNote": f"pshub {entity} {record['id']}",
        }
        return [self._item("invoice", record, f"line:{record['id']}", payload, ITEM_INVOICE)]

    def _ready(self, record: Mapping[str, Any]) -> list[FeedItem]:
        notice = billing_ready(record)
        if notice is None:
            return []
        item = self._item(READY_ENTITY, record, READY_ENTITY, notice, RUN_INVOICE)
        return [replace(item, notice=True, target_id=None)]

    def _run_draft(self, record: Mapping[str, Any]) -> list[FeedItem]:
        if invoices_mode(self.invoices) != "runs":
            return []
        if withdrawn_run_draft(record):
            # A run's draft the hub withdrew: QuickBooks has no draft state, so the unsent
            # invoice it holds is deleted (its `operation=delete`; the writer refuses one
            # that was sent or paid). One it is not known to hold is a notice
            # (adapters/billable.py).
            item = self._item(DRAFT_ENTITY, record, "draft", {"operation": "delete"}, RUN_INVOICE)
            if item.target_id:
                return [item]
            return [replace(item, payload=withdrawal_notice(record), notice=True)]
        lines = run_draft_lines(record)
        if not lines or not record.get("engagement_id"):
            return []
        payload = {
            "CustomerRef": {"value": ref(record["engagement_id"], JOB)},
            "CurrencyRef": {"value": record["currency"]},
            "Line": [_sales_line(found, self.item_id) for found in lines],
            "PrivateNote": f"pshub billing run draft {record['id']}",
        }
        return [self._item(DRAFT_ENTITY, record, "draft", payload, RUN_INVOICE)]

    def _carried(self, record: Mapping[str, Any]) -> list[FeedItem]:
        """An open invoice a billing migration carried to QuickBooks (Invoice.carry_over): an
        invoice to the client's customer under the same number (DocNumber, 21 characters at
        most) for the balance left to collect, one line of the carry-over item
        (PSHUB_FEED_QUICKBOOKS_CARRY_ITEM, by default the item lines sell); see
        adapters/billable.py `carried`."""
        found = carried(record)
        if found is None:
            return []
        # Paid into the system it came from since: QuickBooks's copy asks for that much less
        # (a sparse update while QuickBooks holds it unpaid and unsent; the writer refuses to
        # edit one sent or paid, and a case says so). Not a Payment, as Xero is given: what
        # QuickBooks reports paid is TotalAmt less Balance, with nothing to tell the hub's
        # payments from the customer's, so the money would be counted twice.
        amount, description = found.amount, found.description
        less = sum((Decimal(p.amount) for p in paid_elsewhere(record)), Decimal(0))
        if less:
            left = Decimal(found.amount) - less
            if left <= 0:  # all of it paid there: QuickBooks is to hold no copy
                gone = {"operation": "delete"}
                item = self._item(CARRIED_ENTITY, record, "carried", gone, RUN_INVOICE)
                return [item] if item.target_id else []
            amount = str(left)
            description = f"{description}, less {less} paid into {found.source} since"
        payload = {
            "CustomerRef": {"value": ref(found.client_id, CUSTOMER)},
            "CurrencyRef": {"value": found.currency},
            "DocNumber": found.number[:21],
            "TxnDate": found.issued,
            "DueDate": found.due,
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "Description": description,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": self.carry_item or self.item_id},
                        "Qty": "1",
                        "UnitPrice": amount,
                    },
                }
            ],
            "PrivateNote": (
                f"pshub: carried from {found.source} invoice {found.number} {record['id']}"
            ),
        }
        return [self._item(CARRIED_ENTITY, record, "carried", payload, RUN_INVOICE)]

    def writer(self, settings: TargetSettings, client: httpx.Client) -> QuickBooksWriter:
        """The connector to the realm the settings name."""
        return QuickBooksWriter(settings, client)

    def reader(self, settings: TargetSettings, client: httpx.Client) -> Any:
        """What a reconcile pass reads the realm through (hub/contracts/reconcile.py)."""
        from adapters.quickbooks.reads import QuickBooksReader  # noqa: PLC0415

        return QuickBooksReader(settings, client)

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
            canonical_id=canonical_id(record),
            version=int(record["version"]),
            key=key,
            payload=payload,
            target_id=xref_id(record, NAME, target_type, self.tenant),
        )


def display_name(name: str) -> str:
    """A name as QuickBooks allows it in DisplayName."""
    return " ".join(name.translate(_NOT_IN_NAME).split())[:500]


def _customer(record: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "DisplayName": display_name(record.get("trading_name") or record["legal_name"]),
        "CompanyName": record["legal_name"][:100],
        "Active": record.get("status") == "active" and not record.get("deleted"),
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
    return payload


def _job(record: Mapping[str, Any]) -> dict[str, Any] | None:
    # Pipeline and lost deals bill nothing; an engagement whose client is not known yet waits
    # for the link (a new version of the record comes when it resolves).
    if record.get("status") not in BILLED_ENGAGEMENTS or not record.get("client_id"):
        return None
    if record.get("contract_type") == "non_billable":
        return None
    payload: dict[str, Any] = {
        "DisplayName": display_name(f"{record['code']} {record.get('name') or ''}"),
        "Job": True,
        "ParentRef": {"value": ref(record["client_id"], CUSTOMER)},
        "BillWithParent": True,
        "Active": record.get("status") != "closed" and not record.get("deleted"),
        "Notes": f"pshub engagement {record['id']}",
    }
    if record.get("currency"):
        payload["CurrencyRef"] = {"value": record["currency"]}
    return payload


def _sales_line(found: Line, item_id: str) -> dict[str, Any]:
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


# What the feeds register (hub/feeds/registry.py): the realm whose xrefs count is the
# connector's tenant, PSHUB_FEED_QUICKBOOKS_TENANT.
TARGET = QuickBooksTarget(
    tenant=os.environ.get("PSHUB_FEED_QUICKBOOKS_TENANT", "").strip(),
    carry_item=os.environ.get("PSHUB_FEED_QUICKBOOKS_CARRY_ITEM", "").strip(),
)
