"""Reading what a Xero organisation holds, for a reconcile pass: GET /Contacts and /Invoices
a page at a time (`page=1, 2, ...`, 100 records a page; archived contacts included), each
request naming the organisation in `Xero-Tenant-Id`. Every page is read, not only what changed
since a date (`If-Modified-Since`): a record deleted in Xero is found only by its absence.

Xero shows every address and phone kind on a contact; the reader keeps the kinds the feed
writes (POBOX, DEFAULT), so the others are not differences. The feed's items are contacts,
draft invoices and lines on them, so the reader lists lines
too, each with its invoice (a line on an invoice the hub did not make is not judged). A draft
someone deleted or voided in Xero is as good as gone: it and its lines are not listed. An
invoice approved in Xero has moved on as invoices do: its status is not compared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from adapters.target_answers import get_json
from hub.contracts.feeds import TargetSettings
from hub.contracts.reconcile import Held, Money

PAGE = 100  # Xero's page size
GONE = frozenset({"DELETED", "VOIDED"})
MOVED_ON = frozenset({"SUBMITTED", "AUTHORISED", "PAID"})
CENT = Decimal("0.01")


class XeroReader:
    entities = ("contact", "invoice", "line")
    confidential = frozenset({"UnitAmount", "LineAmount"})
    not_compared: frozenset[str] = frozenset()

    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.base = f"{settings.base_url.rstrip('/')}/api.xro/2.0"
        self.client = client
        self.headers = {
            "Authorization": f"Bearer {settings.token}",
            "Xero-Tenant-Id": settings.tenant,
            "Accept": "application/json",
        }
        self._invoices: list[dict[str, Any]] | None = None

    def held(self, entity: str) -> Iterator[Held]:
        if entity == "contact":
            for contact in self._all("Contacts", {"includeArchived": "true"}):
                yield Held("contact", str(contact["ContactID"]), _as_fed(contact))
            return
        for invoice in self._listed_invoices():
            invoice_id = str(invoice["InvoiceID"])
            if entity == "invoice":
                fields = {k: v for k, v in invoice.items() if k != "LineItems"}
                if fields.get("Status") in MOVED_ON:
                    fields.pop("Status")
                yield Held("invoice", invoice_id, fields)
                continue
            for line in invoice.get("LineItems") or ():
                fields = {
                    "InvoiceID": invoice_id,
                    "CurrencyCode": invoice.get("CurrencyCode"),
                    "LineItem": line,
                }
                yield Held(
                    "line",
                    str(line["LineItemID"]),
                    fields,
                    self.money("line", fields),
                    parent=("invoice", invoice_id),
                )

    def xref_types(self, entity: str) -> tuple[str, ...]:
        return {
            "contact": ("contact",),
            "invoice": ("draftinvoice", "invoice"),
            "line": ("lineitem",),
        }[entity]

    def money(self, entity: str, fields: Mapping[str, Any]) -> Money | None:
        """A line's amount (quantity x unit amount, to the cent) in its invoice's currency."""
        line = fields.get("LineItem") if entity == "line" else None
        if not isinstance(line, Mapping) or not fields.get("CurrencyCode"):
            return None
        amount = Decimal(str(line["Quantity"])) * Decimal(str(line["UnitAmount"]))
        return Money(str(fields["CurrencyCode"]), amount.quantize(CENT, ROUND_HALF_UP))

    def _listed_invoices(self) -> list[dict[str, Any]]:
        if self._invoices is None:  # read once for the invoices and their lines
            self._invoices = [i for i in self._all("Invoices", {}) if i.get("Status") not in GONE]
        return self._invoices

    def _all(self, collection: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = get_json(
                self.client,
                f"{self.base}/{collection}",
                what=f"Xero {collection} page {page}",
                params={**params, "page": page},
                headers=self.headers,
            )
            found = body.get(collection) or []
            yield from found
            if len(found) < PAGE:
                return
            page += 1


def _as_fed(contact: Mapping[str, Any]) -> dict[str, Any]:
    """A contact with only the address and phone kinds the feed writes: Xero shows every kind
    on every contact (a STREET address, DDI, MOBILE and FAX numbers, most of them empty)."""
    fields = dict(contact)
    if isinstance(fields.get("Addresses"), list):
        fields["Addresses"] = [a for a in fields["Addresses"] if a.get("AddressType") == "POBOX"]
    if isinstance(fields.get("Phones"), list):
        fields["Phones"] = [p for p in fields["Phones"] if p.get("PhoneType") == "DEFAULT"]
    return fields
