"""Golden records -> what Xero must hold (pure).

- a client is a Contact, numbered (ContactNumber, the field Xero keeps for another system's
  id) with the hub's client id;
- a won engagement is a draft sales invoice to its client's Contact (ACCREC, DRAFT, amounts
  exclusive of tax, Contact by ContactID), in the engagement's currency and referenced by
  the engagement code: the document its billable items gather on;
- each billable item (adapters/billable.py) is one line on its engagement's draft; the writer
  refuses a line whose currency is not the draft's, so nothing is added across currencies;
- or, with PSHUB_BILLING_INVOICES=runs, each billing run's draft is a draft sales invoice of
  its own with all its lines (a cap's write-down a negative line), in the draft's currency,
  and neither engagements nor items make invoices of their own; a run's draft the hub
  withdrew (deleted) is set to DELETED where Xero holds it.

Another record's Xero id is a placeholder (`ref`) the delivery resolves. Amounts are
exact decimal strings in the payload; the writer puts them on the wire as JSON numbers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from adapters.billable import (
    BILLABLE,
    BILLED_ENGAGEMENTS,
    CARRIED_ENTITY,
    CARRIED_PAYMENT_ENTITY,
    DRAFT_ENTITY,
    READY_ENTITY,
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
from adapters.xero.writes import XeroWriter
from hub.contracts.feeds import FeedItem, TargetSettings

NAME = "xero"
CONTACT = "Contact"
# The xrefs acknowledgements record: an engagement's draft, and an item's line on it (not
# "Invoice", which names the invoice golden records ingest keeps).
DRAFT = "DraftInvoice"
LINE = "LineItem"
# A billing run's draft is acknowledged as the Invoice it is, so that the invoice Xero reports
# back through ingest (AUTHORISED, PAID) is that same golden record.
RUN_INVOICE = "Invoice"
# A payment into the system a carried invoice came from (adapters/billable.py PaidElsewhere).
PAYMENT = "Payment"


class XeroTarget:
    """Billing in Xero: contacts, a draft sales invoice per engagement, its billable lines."""

    name = NAME
    category = "billing"
    entities = frozenset({"client", "engagement", "invoice"}) | BILLABLE

    def __init__(
        self,
        *,
        tenant: str = "",
        account_code: str = "200",
        invoices: str = "",
        carry_account: str = "840",
        payment_account: str = "",
    ) -> None:
        # The Xero tenant, so that only its xrefs count; the revenue account lines book to
        # (200 is Sales in Xero's default chart of accounts); what is invoiced: "items" or
        # "runs" (adapters/billable.py; "" reads the setting); the account the balances of
        # invoices carried over from another system book to (840, Historical Adjustment); the
        # account payments made into that system after the move are recorded against (a
        # clearing or bank account of the firm's chart: no default, see `_carried`).
        self.tenant = tenant
        self.account_code = account_code
        self.invoices = invoices
        self.carry_account = carry_account
        self.payment_account = payment_account

    def items(self, entity: str, record: Mapping[str, Any]) -> list[FeedItem]:
        """What Xero must hold for the record; [] when it holds nothing for it.

        A client deleted at its source is archived where Xero holds it (nothing is deleted
        downstream); an engagement deleted at its source leaves its draft as it is."""
        if entity == "client":
            item = self._item("contact", record, "contact", _contact(record), CONTACT)
            return [] if record.get("deleted") and item.target_id is None else [item]
        runs = invoices_mode(self.invoices) == "runs"
        if record.get("deleted"):
            return self._withdrawn(record) if runs and entity == "invoice" else []
        if entity == "invoice" and record.get("carried_to") == NAME:
            return self._carried(record)
        if entity == "invoice":
            return self._run_draft(record) if runs else []
        if runs:
            # Engagements and items are billed by the runs' drafts; a billing-ready milestone
            # is announced.
            if entity != "milestone" or (notice := billing_ready(record)) is None:
                return []
            item = self._item(READY_ENTITY, record, READY_ENTITY, notice, RUN_INVOICE)
            return [replace(item, notice=True, target_id=None)]
        if entity == "engagement":
            draft = _draft(record)
            # Keyed as the placeholder that names it is typed, so the delivery finds it at once.
            return [self._item("invoice", record, DRAFT.lower(), draft, DRAFT)] if draft else []
        found = line(entity, record)
        if found is None:
            return []
        payload = {
            "InvoiceID": ref(record["engagement_id"], DRAFT),
            "CurrencyCode": found.currency,
            "LineItem": {
                "Description": found.description,
                "Quantity": str(found.quantity),
                "UnitAmount": str(found.unit_price),
                "AccountCode": self.account_code,
            },
        }
        return [self._item("line", record, f"line:{record['id']}", payload, LINE)]

    def _run_draft(self, record: Mapping[str, Any]) -> list[FeedItem]:
        lines = run_draft_lines(record)
        if not lines or not record.get("client_id"):
            return []
        payload = {
            "Type": "ACCREC",
            "Status": "DRAFT",
            "LineAmountTypes": "Exclusive",
            "Contact": {"ContactID": ref(record["client_id"], CONTACT)},
            "CurrencyCode": record["currency"],
            "Reference": str(record.get("reference") or "")[:255],
            "LineItems": [
                {
                    "Description": found.description,
                    "Quantity": str(found.quantity),
                    "UnitAmount": str(found.unit_price),
                    "AccountCode": self.account_code,
                }
                for found in lines
            ],
        }
        return [self._item(DRAFT_ENTITY, record, "draft", payload, RUN_INVOICE)]

    def _carried(self, record: Mapping[str, Any]) -> list[FeedItem]:
        """An open invoice a billing migration carried to Xero (Invoice.carry_over): an
        approved sales invoice under the same number for the balance left to collect, its
        line booked to the carry-over account (by default 840, Historical Adjustment: the
        revenue was booked where the invoice was issued); see adapters/billable.py `carried`."""
        found = carried(record)
        if found is None:
            return []
        payload = {
            "Type": "ACCREC",
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",  # the balance is what is owed, tax included
            "Contact": {"ContactID": ref(found.client_id, CONTACT)},
            "CurrencyCode": found.currency,
            "InvoiceNumber": found.number[:255],
            "Reference": f"{found.source} invoice {found.number}"[:255],
            "Date": found.issued,
            "DueDate": found.due,
            "LineItems": [
                {
                    "Description": found.description,
                    "Quantity": "1",
                    "UnitAmount": found.amount,
                    "AccountCode": self.carry_account,
                }
            ],
        }
        carried_item = self._item(CARRIED_ENTITY, record, "carried", payload, RUN_INVOICE)
        return [carried_item, *self._paid_elsewhere(record)]

    def _paid_elsewhere(self, record: Mapping[str, Any]) -> list[FeedItem]:
        """Each payment into the system the invoice came from since the carry-over, as a
        payment on Xero's copy (PUT Payments), so that Xero stops asking for that money. Its
        Reference starts with the hub's mark: what Xero reports paid, less these, is what
        Xero was paid itself (adapters/xero/mapping.py). The account it is recorded against
        is the firm's to name (PSHUB_FEED_XERO_PAYMENT_ACCOUNT, a bank or clearing account
        taking payments): until it is set, the payment is held, with a case saying so."""
        items = []
        for paid in paid_elsewhere(record):
            payload = {
                "Invoice": {"InvoiceID": ref(record["id"], RUN_INVOICE)},
                "Account": {"Code": self.payment_account},
                "Date": paid.paid_on,
                "Amount": paid.amount,
                "Reference": paid.reference,
            }
            hold = None
            if not self.payment_account:
                hold = (
                    "RULE_VIOLATION",
                    f"payment_account: {paid.amount} {paid.currency} was paid into "
                    f"{record.get('carried_from')} for invoice {record.get('number')} after "
                    "it was carried to Xero; set PSHUB_FEED_XERO_PAYMENT_ACCOUNT to the Xero "
                    "account to record it against",
                )
            item = self._item(
                CARRIED_PAYMENT_ENTITY, record, f"payment:{paid.index}", payload, PAYMENT
            )
            # Not the payment's own id: every payment on the invoice has the same xref type.
            items.append(replace(item, target_id=None, hold=hold))
        return items

    def serial_key(self, item: FeedItem) -> str | None:
        """A line is read, changed and written back with its draft's other lines."""
        if "LineItem" not in item.payload:
            return None
        return f"xero:{self.tenant}:invoice:{item.payload['InvoiceID']}"

    def _withdrawn(self, record: Mapping[str, Any]) -> list[FeedItem]:
        # A run's draft the hub withdrew: Xero deletes a draft by its status (DRAFT ->
        # DELETED); one Xero is not known to hold is a notice (adapters/billable.py).
        if not withdrawn_run_draft(record):
            return []
        item = self._item(DRAFT_ENTITY, record, "draft", {"Status": "DELETED"}, RUN_INVOICE)
        if item.target_id:
            return [item]
        return [replace(item, payload=withdrawal_notice(record), notice=True)]

    def writer(self, settings: TargetSettings, client: httpx.Client) -> XeroWriter:
        """The connector to the tenant the settings name."""
        return XeroWriter(settings, client)

    def reader(self, settings: TargetSettings, client: httpx.Client) -> Any:
        """What a reconcile pass reads the organisation through (hub/contracts/reconcile.py)."""
        from adapters.xero.reads import XeroReader  # noqa: PLC0415

        return XeroReader(settings, client)

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


def _contact(record: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "Name": " ".join((record.get("trading_name") or record["legal_name"]).split())[:255],
        "ContactNumber": str(record["id"]),
        "ContactStatus": (
            "ARCHIVED" if record.get("status") == "closed" or record.get("deleted") else "ACTIVE"
        ),
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
    return payload


def _draft(record: Mapping[str, Any]) -> dict[str, Any] | None:
    # Pipeline and lost deals bill nothing; an engagement whose client is not known yet waits
    # for the link (a new version of the record comes when it resolves).
    if record.get("status") not in BILLED_ENGAGEMENTS or not record.get("client_id"):
        return None
    if record.get("contract_type") == "non_billable" or not record.get("currency"):
        return None
    return {
        "Type": "ACCREC",
        "Status": "DRAFT",
        "LineAmountTypes": "Exclusive",
        "Contact": {"ContactID": ref(record["client_id"], CONTACT)},
        "CurrencyCode": record["currency"],
        "Reference": f"{record['code']} {record.get('name') or ''}".strip()[:255],
    }


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


# What the feeds register (hub/feeds/registry.py): the organisation whose xrefs count is the
# connector's tenant, PSHUB_FEED_XERO_TENANT.
TARGET = XeroTarget(
    tenant=os.environ.get("PSHUB_FEED_XERO_TENANT", "").strip(),
    carry_account=os.environ.get("PSHUB_FEED_XERO_CARRY_ACCOUNT", "").strip() or "840",
    payment_account=os.environ.get("PSHUB_FEED_XERO_PAYMENT_ACCOUNT", "").strip(),
)
