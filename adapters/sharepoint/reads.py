"""Reading the engagement folders a SharePoint drive holds, for a reconcile pass, through
Microsoft Graph: the parent folder by path (`root:/{path}`), then its children with their list
item fields (`items/{id}/children?$expand=listItem($expand=fields)`), following
`@odata.nextLink`. Only folders count: a file a person dropped beside them is not the feed's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapters.target_answers import get_json
from hub.contracts.feeds import TargetSettings
from hub.contracts.reconcile import Held, Money

PAGE = 200


class SharePointReader:
    entities = ("folder",)
    confidential: frozenset[str] = frozenset()
    not_compared: frozenset[str] = frozenset()

    def __init__(self, settings: TargetSettings, client: httpx.Client, *, parent_path: str) -> None:
        self.base = f"{settings.base_url.rstrip('/')}/drives/{quote(settings.tenant, safe='')}"
        self.client = client
        self.parent_path = parent_path.strip("/")
        self.headers = {"Authorization": f"Bearer {settings.token}", "Accept": "application/json"}

    def held(self, entity: str) -> Iterator[Held]:
        parent = "root"
        if self.parent_path:
            found = get_json(
                self.client,
                f"{self.base}/root:/{quote(self.parent_path, safe='/')}",
                what=f"Graph GET {self.parent_path}",
                headers=self.headers,
            )
            parent = str(found["id"])
        url: str | None = f"{self.base}/items/{quote(parent, safe='')}/children"
        params: dict[str, Any] | None = {"$expand": "listItem($expand=fields)", "$top": PAGE}
        while url:
            page = get_json(
                self.client, url, what="Graph GET children", params=params, headers=self.headers
            )
            for child in page.get("value") or []:
                if "folder" not in child:
                    continue
                fields = {k: v for k, v in child.items() if k != "listItem"}
                fields["fields"] = ((child.get("listItem") or {}).get("fields")) or {}
                yield Held("folder", str(child["id"]), fields)
            url = page.get("@odata.nextLink")
            params = None  # the next link carries them

    def xref_types(self, entity: str) -> tuple[str, ...]:
        return ("driveitem",)

    def money(self, entity: str, fields: Mapping[str, Any]) -> Money | None:
        return None
