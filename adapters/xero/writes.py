"""Delivering a FeedItem to Xero's Accounting API (`/api.xro/2.0/Contacts`, `/Invoices`).

A create is a PUT, an update (the payload names the ContactID or InvoiceID) a POST; both carry
the item's idempotency key as `Idempotency-Key`, so a repeated request returns the first answer
and Xero writes nothing twice. Every request names the organisation in `Xero-Tenant-Id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters import target_answers as answers
from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, TargetSettings

NUMBERS = frozenset({"Quantity", "UnitAmount", "LineAmount", "DiscountRate"})
# The feed's entity -> Xero's collection, the key of its id, and the xref type.
COLLECTIONS = {
    "contact": ("Contacts", "ContactID", "Contact"),
    "invoice": ("Invoices", "InvoiceID", "Invoice"),
}


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
        """PUTs a new record or POSTs an update to a known one; raises DeliveryFailed."""
        collection, id_key, kind = COLLECTIONS[item.entity]
        method = "POST" if item.payload.get(id_key) else "PUT"
        what = f"Xero {method} {collection}"
        response = answers.send(
            self.client,
            method,
            f"{self.base}/{collection}",
            headers={**self.headers, "Idempotency-Key": item.idempotency_key},
            content=answers.wire({collection: [dict(item.payload)]}, NUMBERS),
        )
        if response.status_code != 200:
            raise answers.failure(response, what, _explain)
        held = (answers.json_body(response, what).get(collection) or [{}])[0]
        if not held.get(id_key):
            raise DeliveryFailed(answers.TIMEOUT, f"{what} answered no {id_key}", retryable=True)
        details = {"Status": str(held.get("Status") or held.get("ContactStatus") or "")}
        return Delivered(kind, str(held[id_key]), tenant=self.tenant, details=details)


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
