"""Which Microsoft Graph shape a posted body is: a delta page (`value` + a nextLink or
deltaLink), a batch of change notifications (`value` of subscription notifications), or one
driveItem as `GET /drives/{drive-id}/items/{item-id}` returns it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.refusals import not_the_shape, validate
from adapters.sharepoint.mapping import map_delta_page, map_item
from adapters.sharepoint.payloads import DeltaPage, DriveItem, NotificationBatch
from hub.contracts.adapters import AdapterError, Mapped

_EXPECTED = "a Graph delta page, a change notification batch (value) or one driveItem"
# Every driveItem is a file, folder, package or the root, or carries the deleted facet.
_FACETS = ("file", "folder", "package", "root", "deleted", "remoteItem")
_SINGLE = "value.0."


def is_drive_item(data: Mapping[str, Any]) -> bool:
    """A lone driveItem: an id and one of the facets that say what the item is."""
    return isinstance(data.get("id"), str) and any(
        isinstance(data.get(facet), dict) for facet in _FACETS
    )


def parse_body(data: Any) -> DeltaPage | NotificationBatch | DriveItem:
    """Tells a delta page (items, links), a notification batch (subscription ids) and a lone
    driveItem apart; anything else is refused."""
    if not isinstance(data, Mapping):
        raise not_the_shape(_EXPECTED, data)
    if "value" not in data:
        if is_drive_item(data):
            return validate(DriveItem, data)
        raise not_the_shape(_EXPECTED, data)
    values = data["value"]
    if not isinstance(values, list):
        raise not_the_shape("a list of driveItems or notifications", values, field="value")
    is_notification = bool(values) and all(
        isinstance(item, Mapping) and "subscriptionId" in item for item in values
    )
    has_links = "@odata.nextLink" in data or "@odata.deltaLink" in data
    if is_notification and not has_links:
        batch = validate(NotificationBatch, data)
        for n, note in enumerate(batch.value):
            if not (note.changeType or note.lifecycleEvent):
                raise AdapterError(
                    "SCHEMA_VIOLATION",
                    f"value.{n} has neither changeType nor lifecycleEvent",
                    field=f"value.{n}.changeType",
                    rule="missing",
                )
        return batch
    if not has_links:
        # Delta ends every page with a link; a notification batch is never empty.
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "a delta page ends in @odata.nextLink or @odata.deltaLink, and change "
            "notifications each carry a subscriptionId",
            field="@odata.deltaLink",
            rule="missing",
        )
    return validate(DeltaPage, data)


def map_page(
    page: DeltaPage, *, tenant: str, received_at: datetime, extra: Mapping[str, str]
) -> Mapped:
    """A delta page's file changes; one with none still moves the cursor on."""
    mapped = map_delta_page(page, tenant=tenant, received_at=received_at, extra=extra)
    if not (mapped.events or mapped.fetches):
        mapped.ignored = "no file changed in this delta page (it is empty or holds folders only)"
    return mapped


def map_single(
    item: DriveItem, *, tenant: str, received_at: datetime, extra: Mapping[str, str]
) -> Mapped:
    """One driveItem, mapped as delta would map it (the same message id for the same eTag)."""
    try:
        event = map_item(item, 0, tenant=tenant, received_at=received_at, extra=extra)
    except AdapterError as error:
        # map_item names fields as an item of a page's value; this item is the whole body.
        raise AdapterError(
            error.reason,
            error.message.replace(_SINGLE, ""),
            field=error.field.removeprefix(_SINGLE),
            status=error.status,
            rule=error.rule,
        ) from error
    if event is None:
        return Mapped(ignored="a folder, package or the root is not a knowledge asset")
    return Mapped(events=[event])
