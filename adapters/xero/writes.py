"""Delivering a FeedItem to Xero's Accounting API (`/api.xro/2.0/Contacts`, `/Invoices`,
`/Payments`).

A create is a PUT, an update a POST naming the ContactID or InvoiceID; both carry the item's
idempotency key as `Idempotency-Key`, so a repeated request returns the first answer and Xero
writes nothing twice. Every request names the organisation in `Xero-Tenant-Id`.

A billable line goes onto its engagement's draft: the writer reads the draft, refuses a line
in another currency or on a draft that has been approved meanwhile, replaces its own line
(found by LineItemID, or by the reference its text ends with, after a crash before the
acknowledgement) or adds it, and writes the lines back. The hub never edits an issued invoice:
an engagement whose draft was approved meanwhile leaves it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.billable import CARRIED_ENTITY, CARRIED_PAYMENT_ENTITY, DRAFT_ENTITY
from adapters.target_answers import REJECTED, TIMEOUT, failure, json_body, send, wire
from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, TargetSettings

NUMBERS = frozenset({"Quantity", "UnitAmount", "LineAmount", "DiscountRate", "Amount"})
EDITABLE = frozenset({"DRAFT", "SUBMITTED"})
_REF = re.compile(r"\(ref [0-9a-f]{8}\)$")


class XeroWriter:
    """Writes items to one Xero organisation; one attempt (the feed worker retries)."""

    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.base = f"{settings.base_url.rstrip('/')}/api.xro/2.0"
        self.tenant = settings.tenant
        self.client = client
        self.headers = {
            "Authorization": f"Bearer {settings.token}",
            "Xero-Tenant-Id": settings.tenant,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def deliver(self, item: FeedItem) -> Delivered:
        """Creates or updates the item's contact, draft or line; raises DeliveryFailed."""
        if item.entity == "contact":
            held = self._write("Contacts", "ContactID", item)
            return self._delivered("Contact", held["ContactID"], held.get("ContactStatus"))
        if item.entity == "invoice":
            return self._draft(item)
        if item.entity in (DRAFT_ENTITY, CARRIED_ENTITY):
            # (A carried invoice is approved when written: once Xero holds it, it is not
            # written again, as a run's draft past DRAFT is not.)
            return self._draft(item, kind="Invoice")
        if item.entity == CARRIED_PAYMENT_ENTITY:
            return self._payment(item)
        return self._line(item)

    def _payment(self, item: FeedItem) -> Delivered:
        # A payment made into the system a carried invoice came from, applied to Xero's copy
        # (PUT Payments: Invoice, Account, Date, Amount, Reference). Once Xero holds it, it
        # is not written again: a payment is not edited, and its figures never change.
        if item.target_id:
            return self._delivered("Payment", item.target_id, "AUTHORISED")
        held = self._write("Payments", "PaymentID", item)
        return self._delivered("Payment", held["PaymentID"], held.get("Status"))

    def _draft(self, item: FeedItem, kind: str = "DraftInvoice") -> Delivered:
        # An engagement's draft (lines gather on it), or a billing run's draft (lines and
        # all, acknowledged as the Invoice ingest will report back).
        if item.target_id:
            current = self._invoice(item.target_id)
            if current.get("Status") not in EDITABLE:
                return self._delivered(kind, item.target_id, current.get("Status"))
        held = self._write("Invoices", "InvoiceID", item)
        return self._delivered(kind, held["InvoiceID"], held.get("Status"))

    def _line(self, item: FeedItem) -> Delivered:
        invoice_id = str(item.payload["InvoiceID"])
        ours = dict(item.payload["LineItem"])
        mark = _REF.search(str(ours.get("Description", "")))
        current = self._invoice(invoice_id)
        status, currency = current.get("Status"), current.get("CurrencyCode")
        if status not in EDITABLE:
            raise _refused(f"Xero invoice {invoice_id} is {status}: it takes no more lines")
        if currency != item.payload["CurrencyCode"]:
            raise _refused(
                f"a {item.payload['CurrencyCode']} line cannot go on Xero invoice {invoice_id} "
                f"in {currency}"
            )
        lines, found = [], False
        for line in current.get("LineItems") or ():
            if _is_ours(line, item.target_id, mark):
                lines.append({**ours, "LineItemID": line["LineItemID"]})
                found = True
            else:
                lines.append(_kept(line))
        if not found:
            lines.append(ours)
        update = FeedItem(**{**item.__dict__, "payload": {"LineItems": lines}})
        held = self._write("Invoices", "InvoiceID", update, known=invoice_id)
        written = [x for x in held.get("LineItems") or () if _is_ours(x, item.target_id, mark)]
        if not written:
            raise DeliveryFailed(
                TIMEOUT,
                f"Xero invoice {invoice_id} answered without our line",
                retryable=True,
            )
        return Delivered(
            "LineItem",
            str(written[-1]["LineItemID"]),
            tenant=self.tenant,
            details={"InvoiceID": invoice_id},
        )

    def _invoice(self, invoice_id: str) -> Mapping[str, Any]:
        what = f"Xero GET Invoices/{invoice_id}"
        response = send(
            self.client, "GET", f"{self.base}/Invoices/{invoice_id}", headers=self.headers
        )
        if response.status_code != 200:
            raise failure(response, what, _explain)
        found = (json_body(response, what).get("Invoices") or [None])[0]
        if not isinstance(found, Mapping):
            raise DeliveryFailed(TIMEOUT, f"{what} answered no invoice", retryable=True)
        return found

    def _write(
        self, collection: str, id_key: str, item: FeedItem, *, known: str | None = None
    ) -> Mapping[str, Any]:
        target_id = known or item.target_id
        body = {**item.payload, id_key: target_id} if target_id else dict(item.payload)
        method = "POST" if target_id else "PUT"
        what = f"Xero {method} {collection}"
        response = send(
            self.client,
            method,
            f"{self.base}/{collection}",
            headers={**self.headers, "Idempotency-Key": item.idempotency_key},
            content=wire({collection: [body]}, NUMBERS),
        )
        if response.status_code != 200:
            raise failure(response, what, _explain)
        held = (json_body(response, what).get(collection) or [{}])[0]
        if not held.get(id_key):
            raise DeliveryFailed(TIMEOUT, f"{what} answered no {id_key}", retryable=True)
        return held

    def _delivered(self, kind: str, target_id: Any, status: Any) -> Delivered:
        return Delivered(kind, str(target_id), tenant=self.tenant, details={"Status": status})


def _is_ours(line: Mapping[str, Any], line_id: str | None, mark: re.Match[str] | None) -> bool:
    if line_id and line.get("LineItemID") == line_id:
        return True
    return bool(mark) and str(line.get("Description", "")).endswith(mark.group(0))


def _kept(line: Mapping[str, Any]) -> dict[str, Any]:
    # Xero computes these; sending them back would make it check our copy of its arithmetic.
    return {k: v for k, v in line.items() if k not in ("LineAmount", "TaxAmount")}


def _refused(message: str) -> DeliveryFailed:
    return DeliveryFailed(REJECTED, message, retryable=False)


def _explain(body: Any) -> str | None:
    # A validation answer: {"ErrorNumber": 10, "Type": "ValidationException", "Message": ...,
    # "Elements": [{..., "ValidationErrors": [{"Message": ...}]}]}; other faults carry Title
    # and Detail (401, 403) or Type and Message only.
    if not isinstance(body, Mapping):
        return None
    messages = [
        str(error.get("Message"))
        for element in body.get("Elements") or ()
        if isinstance(element, Mapping)
        for error in element.get("ValidationErrors") or ()
        if isinstance(error, Mapping) and error.get("Message")
    ]
    kind = body.get("Type") or body.get("Title") or ""
    number = body.get("ErrorNumber")
    head = " ".join(str(part) for part in ("Xero", number, kind) if part)
    said = "; ".join(messages) or body.get("Message") or body.get("Detail") or ""
    return f"{head}: {said}" if said else (head if kind else None)
