"""Reading what QuickBooks Online holds, for a reconcile pass: its query endpoint
(GET /v3/company/{realm}/query?query=select * from Customer ... STARTPOSITION n MAXRESULTS m),
page after page until a page comes back short. Customers are listed active and inactive alike
(QuickBooks lists only active ones unless asked), invoices whatever their state.

QuickBooks adds a subtotal line to every invoice it holds; the feed never sends one, so the
reader leaves it out before the lines are compared. An invoice's money is its sales lines'
amounts in its currency: rate-derived, so shown only to read:confidential.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from adapters.quickbooks.writes import MINOR_VERSION, TYPES
from adapters.target_answers import get_json
from hub.contracts.feeds import TargetSettings
from hub.contracts.reconcile import Held, Money

PAGE = 1000  # QuickBooks' largest MAXRESULTS
SALES = "SalesItemLineDetail"
QUERIES = {
    "customer": "select * from Customer where Active in (true, false)",
    "invoice": "select * from Invoice",
}


class QuickBooksReader:
    entities = ("customer", "invoice")
    confidential = frozenset({"Amount", "UnitPrice", "TotalAmt", "Balance"})
    not_compared: frozenset[str] = frozenset()

    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.url = f"{settings.base_url.rstrip('/')}/v3/company/{quote(settings.tenant)}/query"
        self.client = client
        self.headers = {"Authorization": f"Bearer {settings.token}", "Accept": "application/json"}

    def held(self, entity: str) -> Iterator[Held]:
        kind = TYPES[entity]
        start = 1
        while True:
            query = f"{QUERIES[entity]} STARTPOSITION {start} MAXRESULTS {PAGE}"
            body = get_json(
                self.client,
                self.url,
                what=f"QuickBooks query {kind}",
                params={"query": query, "minorversion": MINOR_VERSION},
                headers=self.headers,
            )
            found = (body.get("QueryResponse") or {}).get(kind) or []
            for record in found:
                fields = dict(record)
                if isinstance(fields.get("Line"), list):
                    fields["Line"] = [
                        line for line in fields["Line"]
                        if line.get("DetailType") != "SubTotalLineDetail"
                    ]  # fmt: skip
                yield Held(entity, str(record["Id"]), fields, self.money(entity, fields))
            if len(found) < PAGE:
                return
            start += PAGE

    def xref_types(self, entity: str) -> tuple[str, ...]:
        # A sub-customer is acknowledged as a Job; an invoice the feed made as an InvoiceLine,
        # one ingest brought in as an Invoice.
        return ("customer", "job") if entity == "customer" else ("invoiceline", "invoice")

    def money(self, entity: str, fields: Mapping[str, Any]) -> Money | None:
        if entity != "invoice":
            return None
        currency = (fields.get("CurrencyRef") or {}).get("value")
        lines = [line for line in fields.get("Line") or [] if line.get("DetailType") == SALES]
        if not currency or not lines:
            return None
        return Money(
            str(currency), sum((Decimal(str(line["Amount"])) for line in lines), Decimal(0))
        )
