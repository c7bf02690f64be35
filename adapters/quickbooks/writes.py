"""Delivering a FeedItem to QuickBooks Online (`/v3/company/{realm}/{entity}`).

A create is a POST with `?requestid=` set to the item's idempotency key: QuickBooks answers a
repeat with the first answer and writes nothing twice. An update (the record is known there)
is a sparse update carrying the current SyncToken, read just before; when someone else changed
the record between the read and the write, QuickBooks refuses the stale token (error 5010), and
the writer reads again once and writes under a derived request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapters.billable import CARRIED_ENTITY, DRAFT_ENTITY
from adapters.target_answers import REJECTED, TIMEOUT, failure, json_body, send, wire
from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, TargetSettings

MINOR_VERSION = "75"
# A feed item whose payload is {"operation": "delete"} deletes the record the target holds.
DELETE = "delete"
STALE_OBJECT = "5010"
NUMBERS = frozenset({"Amount", "Qty", "UnitPrice"})
# The entity in the URL -> the key QuickBooks wraps the object in.
TYPES = {"customer": "Customer", "invoice": "Invoice"}
# Feed entities written to another entity's URL: a billing run's draft is an invoice, and so
# is an open invoice a billing migration carried to QuickBooks.
URL_ENTITY = {DRAFT_ENTITY: "invoice", CARRIED_ENTITY: "invoice"}
# The xref type an acknowledgement records (adapters/quickbooks/feed.py): a sub-customer (Job)
# is recorded on its engagement as a Job, and an invoice the feed makes holds one billable
# item's line, recorded on that item as an InvoiceLine.
# A billing run's draft is recorded on its golden invoice as the Invoice it is.
ACKNOWLEDGED_AS = {
    "customer": "Customer",
    "invoice": "InvoiceLine",
    DRAFT_ENTITY: "Invoice",
    CARRIED_ENTITY: "Invoice",
}


class QuickBooksWriter:
    """Writes items to one realm; one attempt (the feed worker retries)."""

    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.base = f"{settings.base_url.rstrip('/')}/v3/company/{quote(settings.tenant)}"
        self.realm = settings.tenant
        self.client = client
        self.headers = {
            "Authorization": f"Bearer {settings.token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }

    def deliver(self, item: FeedItem) -> Delivered:
        """Creates or sparsely updates the item's record; raises DeliveryFailed."""
        entity = URL_ENTITY.get(item.entity, item.entity)
        if item.payload.get("operation") == DELETE:
            return self._delete(entity, item)
        if item.target_id is None:
            body = self._post(entity, dict(item.payload), item.idempotency_key)
            return self._delivered(item, body)
        payload = {**item.payload, "Id": item.target_id, "sparse": True}
        payload["SyncToken"] = self._sync_token(entity, item.target_id)
        try:
            body = self._post(entity, payload, item.idempotency_key)
        except _Stale:
            # Someone changed it between our read and our write: read again and write anew,
            # under a request id of its own (the first one is spent on the refused attempt).
            payload["SyncToken"] = self._sync_token(entity, item.target_id)
            try:
                body = self._post(entity, payload, f"{item.idempotency_key}-2")
            except _Stale as stale:
                raise stale.failed from None
        return self._delivered(item, body)

    def _delete(self, entity: str, item: FeedItem) -> Delivered:
        # The body QuickBooks deletes by: the record's Id and current SyncToken, with
        # `operation=delete` in the query (a sent or paid invoice is refused by _sync_token).
        if item.target_id is None:
            raise DeliveryFailed(
                REJECTED, "QuickBooks holds no record of it to delete", retryable=False
            )
        body = {"Id": item.target_id, "SyncToken": self._sync_token(entity, item.target_id)}
        answer = self._post(entity, body, item.idempotency_key, operation=DELETE)
        return self._delivered(item, answer)

    def _sync_token(self, entity: str, target_id: str) -> str:
        url = f"{self.base}/{entity}/{quote(target_id)}"
        response = send(
            self.client, "GET", url, headers=self.headers, params={"minorversion": MINOR_VERSION}
        )
        if response.status_code != 200:
            raise failure(response, f"QuickBooks GET {entity} {target_id}", _explain)
        found = json_body(response, f"QuickBooks GET {entity}").get(TYPES[entity]) or {}
        if entity == "invoice" and (
            found.get("EmailStatus") == "EmailSent" or found.get("LinkedTxn")
        ):
            # Sent or paid: the hub never edits an issued invoice (a credit note corrects it).
            raise DeliveryFailed(
                REJECTED,
                f"QuickBooks invoice {target_id} has been sent or paid: it is not edited",
                retryable=False,
            )
        return str(found.get("SyncToken", "0"))

    def _post(
        self, entity: str, payload: Mapping[str, Any], request_id: str, operation: str = ""
    ) -> Any:
        params = {"requestid": request_id, "minorversion": MINOR_VERSION}
        if operation:
            params["operation"] = operation
        response = send(
            self.client,
            "POST",
            f"{self.base}/{entity}",
            params=params,
            headers=self.headers,
            content=wire(payload, NUMBERS),
        )
        if response.status_code != 200:
            failed = failure(response, f"QuickBooks POST {entity}", _explain)
            if _code(response) == STALE_OBJECT:
                raise _Stale(failed)
            raise failed
        return json_body(response, f"QuickBooks POST {entity}")

    def _delivered(self, item: FeedItem, body: Any) -> Delivered:
        kind = TYPES[URL_ENTITY.get(item.entity, item.entity)]
        held = body.get(kind) if isinstance(body, Mapping) else None
        if not isinstance(held, Mapping) or not held.get("Id"):
            raise DeliveryFailed(TIMEOUT, f"QuickBooks answered no {kind} Id", retryable=True)
        details = {"SyncToken": str(held.get("SyncToken", ""))}
        return Delivered(
            "Job" if item.payload.get("Job") else ACKNOWLEDGED_AS[item.entity],
            str(held["Id"]),
            tenant=self.realm,
            details=details,
        )


class _Stale(Exception):
    """QuickBooks refused the SyncToken as stale (the record changed since it was read)."""

    def __init__(self, failed: DeliveryFailed) -> None:
        super().__init__(str(failed))
        self.failed = failed


def _errors(body: Any) -> list[Mapping[str, Any]]:
    # A Fault is {"Fault": {"Error": [...], "type": ...}}; authentication faults come in
    # lower case ({"fault": {"error": [...]}}).
    if not isinstance(body, Mapping):
        return []
    fault = body.get("Fault") or body.get("fault") or {}
    if not isinstance(fault, Mapping):
        return []
    errors = fault.get("Error") or fault.get("error") or []
    return [e for e in errors if isinstance(e, Mapping)]


def _explain(body: Any) -> str | None:
    said = []
    for error in _errors(body):
        code = error.get("code", "")
        message = error.get("Message") or error.get("message") or ""
        detail = error.get("Detail") or error.get("detail") or ""
        said.append(f"QuickBooks {code} {message}" + (f" ({detail})" if detail else ""))
    return "; ".join(said) or None


def _code(response: httpx.Response) -> str | None:
    try:
        errors = _errors(response.json())
    except ValueError:
        return None
    return str(errors[0].get("code")) if errors else None
