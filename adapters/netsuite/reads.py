"""Reading what NetSuite holds, for a reconcile pass: the REST record service lists a record
type's ids a page at a time (GET /{type}?limit=&offset=, `hasMore`), and each record is read
by its internal id (GET /{type}/{id}): the list itself carries ids and links only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from adapters.netsuite.writes import RECORDS
from adapters.target_answers import get_json
from hub.contracts.feeds import TargetSettings
from hub.contracts.reconcile import Held, Money

PAGE = 1000  # NetSuite's largest page


class NetSuiteReader:
    entities = ("customer", "job")
    confidential: frozenset[str] = frozenset()
    # The writer leaves the externalId of a record NetSuite had first as it is.
    not_compared = frozenset({"externalId"})

    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.base = f"{settings.base_url}{RECORDS}"
        self.client = client
        self.headers = {"Authorization": f"Bearer {settings.token}", "Accept": "application/json"}

    def held(self, entity: str) -> Iterator[Held]:
        offset = 0
        while True:
            page = get_json(
                self.client,
                f"{self.base}/{entity}",
                what=f"NetSuite list {entity}",
                params={"limit": PAGE, "offset": offset},
                headers=self.headers,
            )
            for listed in page.get("items") or []:
                record_id = str(listed["id"])
                record = get_json(
                    self.client,
                    f"{self.base}/{entity}/{record_id}",
                    what=f"NetSuite GET {entity} {record_id}",
                    headers=self.headers,
                )
                yield Held(entity, record_id, record)
            if not page.get("hasMore"):
                return
            offset += int(page.get("count") or len(page.get("items") or [])) or PAGE

    def xref_types(self, entity: str) -> tuple[str, ...]:
        return (entity,)

    def money(self, entity: str, fields: Mapping[str, Any]) -> Money | None:
        return None  # customers and jobs carry no amounts the hub sends
