"""Writing to NetSuite's REST record service (DOMAIN.md 2.15): PUT /{type}/eid:{externalId}
upserts, so a repeat after a crash or a rebuild updates the record it created; a record the
hub knows NetSuite's id of (it came from NetSuite) is updated by PATCH /{type}/{id}. Success
is 204 with a Location header whose last segment is the internal id. An update adds sublist
lines to the ones NetSuite holds unless `replace` names the sublist: an expense report's one
line is replaced, never added to. Amounts and hours go out as JSON numbers, digit for digit."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.feeding import refused
from adapters.target_answers import wire
from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, TargetSettings

RECORDS = "/services/rest/record/v1"
NUMBERS = frozenset({"hours", "rate", "amount", "foreignAmount"})
# Sublists a record's payload holds in full (sent with ?replace=<sublist>).
SUBLISTS = {"expenseReport": "expense"}


class NetSuiteWriter:
    def __init__(self, settings: TargetSettings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client
        self.headers = {
            "Authorization": f"Bearer {settings.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def deliver(self, item: FeedItem) -> Delivered:
        base = f"{self.settings.base_url}{RECORDS}/{item.entity}"
        body: dict[str, Any] = dict(item.payload)
        params = {"replace": SUBLISTS[item.entity]} if item.entity in SUBLISTS else None
        if item.target_id:
            body.pop("externalId", None)  # the record's own externalId stays as it is
            response = self.client.patch(
                f"{base}/{item.target_id}",
                content=wire(body, NUMBERS),
                params=params,
                headers=self.headers,
            )
        else:
            response = self.client.put(
                f"{base}/eid:{body['externalId']}",
                content=wire(body, NUMBERS),
                params=params,
                headers=self.headers,
            )
        if response.status_code not in (200, 204):
            raise refused(response)
        location = response.headers.get("Location", "")
        internal_id = location.rstrip("/").rpartition("/")[2] or item.target_id
        if not internal_id:
            raise DeliveryFailed(
                "DOWNSTREAM_REJECTED", "NetSuite answered without a Location", retryable=False
            )
        return Delivered(
            target_type=item.entity, target_id=internal_id, tenant=self.settings.tenant
        )
