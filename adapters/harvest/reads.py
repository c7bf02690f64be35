"""Reading what Harvest holds, for a reconcile pass: GET /v2/clients and /v2/projects, every
page (`links.next`). Harvest shows a project's client as an object; the feed sends its id as
`client_id`, so the reader puts it back in that shape."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from adapters.harvest.writes import COLLECTIONS
from adapters.target_answers import get_json
from hub.contracts.feeds import TargetSettings
from hub.contracts.reconcile import Held, Money


class HarvestReader:
    entities = ("client", "project")
    # A project's rate and fee are rate-derived: shown only to read:confidential.
    confidential = frozenset({"hourly_rate", "fee"})
    not_compared: frozenset[str] = frozenset()

    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.base = f"{settings.base_url}/v2"
        self.client = client
        self.headers = {
            "Authorization": f"Bearer {settings.token}",
            "Harvest-Account-Id": settings.tenant,
            "User-Agent": "pshub reconciliation",
        }

    def held(self, entity: str) -> Iterator[Held]:
        collection, _ = COLLECTIONS[entity]
        url: str | None = f"{self.base}/{collection}"
        params: dict[str, Any] | None = {"per_page": 2000}
        while url:
            page = get_json(
                self.client, url, what=f"Harvest {collection}", params=params, headers=self.headers
            )
            for record in page.get(collection) or []:
                fields = dict(record)
                if isinstance(record.get("client"), Mapping):
                    fields["client_id"] = record["client"].get("id")
                yield Held(entity, str(record["id"]), fields)
            url = (page.get("links") or {}).get("next")
            params = None  # the next link carries them

    def xref_types(self, entity: str) -> tuple[str, ...]:
        return (COLLECTIONS[entity][1].lower(),)

    def money(self, entity: str, fields: Mapping[str, Any]) -> Money | None:
        return None  # a client or project is not money (budgets are not fed)
