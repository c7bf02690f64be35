"""Writing to Harvest v2 (DOMAIN.md 2.15): POST /v2/clients and /v2/projects create, PATCH
updates. Harvest takes no idempotency key, so the writer never creates blind: it updates the
record the hub knows Harvest's id of, else it looks for one it may have created before an
acknowledgement was lost (a client by name, a project by code or name within its client, a user
by e-mail address, a project's assignment by its user), and creates only when there is none.
An assignment lives under its project: /v2/projects/{project_id}/user_assignments."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.feeding import refused
from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, TargetSettings

COLLECTIONS = {
    "client": ("clients", "Client"),
    "project": ("projects", "Project"),
    "user": ("users", "User"),
    "user_assignment": ("user_assignments", "UserAssignment"),
}


class HarvestWriter:
    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client
        self.headers = {
            "Authorization": f"Bearer {settings.token}",
            "Harvest-Account-Id": settings.tenant,
            "User-Agent": "pshub feeds",
        }

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url}/v2/{path}"

    def deliver(self, item: FeedItem) -> Delivered:
        collection, type_ = COLLECTIONS[item.entity]
        body = dict(item.payload)
        path = collection
        if item.entity == "user_assignment":
            path = f"projects/{body.pop('project_id')}/{collection}"
        known = item.target_id or self._existing(path, body)
        if known:
            if item.entity == "user_assignment":
                body.pop("user_id", None)  # an assignment's user is fixed
            response = self.client.patch(
                self._url(f"{path}/{known}"), json=body, headers=self.headers
            )
        else:
            response = self.client.post(self._url(path), json=body, headers=self.headers)
        if response.status_code not in (200, 201):
            raise refused(response)
        harvest_id = response.json().get("id") if response.content else None
        if harvest_id is None:
            raise DeliveryFailed(
                "DOWNSTREAM_REJECTED", "Harvest answered without an id", retryable=False
            )
        return Delivered(target_type=type_, target_id=str(harvest_id), tenant=self.settings.tenant)

    def _existing(self, path: str, body: dict[str, Any]) -> str | None:
        """The id of a record this body would duplicate, following every page."""
        collection = path.rpartition("/")[2]
        params: dict[str, Any] = {"per_page": 2000}
        if collection == "projects" and body.get("client_id") is not None:
            params["client_id"] = body["client_id"]
        url: str | None = self._url(path)
        while url:
            response = self.client.get(url, params=params, headers=self.headers)
            if response.status_code != 200:
                raise refused(response)
            page = response.json()
            for found in page.get(collection, []):
                if _same(collection, found, body):
                    return str(found["id"])
            url = (page.get("links") or {}).get("next")
            params = {}
        return None


def _same(collection: str, found: dict[str, Any], body: dict[str, Any]) -> bool:
    if collection == "clients":
        return found.get("name") == body.get("name")
    if collection == "users":  # Harvest takes an e-mail address once per account
        return str(found.get("email", "")).lower() == str(body.get("email", "")).lower()
    if collection == "user_assignments":
        return (found.get("user") or {}).get("id") == body.get("user_id")
    if body.get("code"):
        return found.get("code") == body.get("code")
    return found.get("name") == body.get("name")
