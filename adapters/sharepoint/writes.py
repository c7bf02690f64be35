"""Delivering an engagement folder to a SharePoint drive through Microsoft Graph.

Graph has no idempotency key; the folder's name is what makes a repeat harmless. A create
asks `conflictBehavior: fail`, so a repeat answers 409 `nameAlreadyExists`, and the writer then
reads the folder at its path and adopts its id. A folder already known (target_id) is renamed
in place. Either way the engagement code is then set on the folder's list item fields (a PATCH,
which sets the same value however often it is repeated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapters.target_answers import REJECTED, TIMEOUT, failure, json_body, send
from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, TargetSettings

ITEM_TYPE = "driveItem"


class SharePointWriter:
    """Writes folders into one drive, under one parent folder; one attempt per call."""

    def __init__(
        self, settings: TargetSettings, client: httpx.Client, *, parent_path: str = ""
    ) -> None:
        self.drive = settings.tenant
        self.base = f"{settings.base_url.rstrip('/')}/drives/{quote(settings.tenant, safe='')}"
        self.client = client
        self.parent_path = parent_path.strip("/")
        self._parent_id: str | None = None
        self.headers = {"Authorization": f"Bearer {settings.token}", "Accept": "application/json"}

    def deliver(self, item: FeedItem) -> Delivered:
        """Creates (or adopts) the folder, or renames the known one, then tags it."""
        fields = item.payload.get("fields") or {}
        create = {k: v for k, v in item.payload.items() if k != "fields"}
        if item.target_id:
            folder = self._rename(item.target_id, str(create["name"]))
        else:
            folder = self._create(create)
        if fields:
            self._tag(str(folder["id"]), fields)
        details = {"name": str(folder.get("name", "")), "webUrl": str(folder.get("webUrl", ""))}
        return Delivered(ITEM_TYPE, str(folder["id"]), tenant=self.drive, details=details)

    def _create(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        url = f"{self.base}/items/{quote(self._parent(), safe='')}/children"
        response = self._send("POST", url, json=dict(body))
        if response.status_code == 409 and _code(response) == "nameAlreadyExists":
            # Our earlier delivery (or a person) made it: adopt the folder at that path.
            return self._at(_join(self.parent_path, str(body["name"])), "existing folder")
        return self._item(response, "Graph POST children")

    def _rename(self, item_id: str, name: str) -> Mapping[str, Any]:
        url = f"{self.base}/items/{quote(item_id, safe='')}"
        return self._item(self._send("PATCH", url, json={"name": name}), "Graph PATCH item")

    def _tag(self, item_id: str, fields: Mapping[str, Any]) -> None:
        url = f"{self.base}/items/{quote(item_id, safe='')}/listItem/fields"
        response = self._send("PATCH", url, json=dict(fields))
        if response.status_code != 200:
            raise failure(response, "Graph PATCH listItem fields", _explain)

    def _parent(self) -> str:
        if self._parent_id is None:
            found = self._at(self.parent_path, "parent folder") if self.parent_path else None
            self._parent_id = str(found["id"]) if found else "root"
        return self._parent_id

    def _at(self, path: str, what: str) -> Mapping[str, Any]:
        url = f"{self.base}/root:/{quote(path, safe='/')}"
        found = self._item(self._send("GET", url), f"Graph GET {what} {path}")
        if "folder" not in found:
            raise DeliveryFailed(
                REJECTED, f"{path} exists in the drive and is not a folder", retryable=False
            )
        return found

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return send(self.client, method, url, headers=self.headers, **kwargs)

    def _item(self, response: httpx.Response, what: str) -> Mapping[str, Any]:
        if response.status_code not in (200, 201):
            raise failure(response, what, _explain)
        found = json_body(response, what)
        if not isinstance(found, Mapping) or not found.get("id"):
            raise DeliveryFailed(TIMEOUT, f"{what} answered no item id", retryable=True)
        return found


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _code(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, Mapping) else None


def _explain(body: Any) -> str | None:
    # Graph errors: {"error": {"code": ..., "message": ..., "innerError": {...}}}.
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    return f"Graph {error.get('code', '')}: {error.get('message', '')}".strip()
