"""Graph driveItem delta -> canonical knowledge asset changes; notifications -> delta runs.

Pure functions. Delta gives each item's latest state; an item may appear several times in a
feed and its last occurrence wins. Files are documents; folders, the root and packages are
structure, not assets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from adapters.refusals import forbidden, require_id, schema_violation, translate, validate
from adapters.sharepoint.details import item_details
from adapters.sharepoint.payloads import DeltaPage, DriveItem, NotificationBatch
from hub.contracts.adapters import (
    RESUMES_FROM_CURSOR,
    FetchRequest,
    Mapped,
    change_event,
    message_id,
    utc_sequence,
)
from hub.contracts.changes import ChangeEnvelope, Deletion, KnowledgeAssetChange, Ref

SYSTEM = "sharepoint"
SOURCE_TYPE = "driveItem"
DELTA = "delta"
# Lifecycle notifications: `missed` means changes were dropped, so delta must run.
RUN_DELTA_LIFECYCLE = frozenset({"missed"})
_RESOURCE = re.compile(r"^/?(?P<path>[A-Za-z0-9!_.:~-]+(/[A-Za-z0-9!_.:~-]+)*)/?$")
_DRIVE_IN_PATH = re.compile(r"/drives/(?P<drive>[^/]+)/")


def instant(value: str | None, field: str) -> datetime:
    if not value:
        raise schema_violation(f"{field} is missing", field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise schema_violation(f"{field} is not a datetime: {value!r}", field) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def resource_path(resource: str | None, field: str) -> str:
    """A notification's resource (`drives/{id}/root`), checked to be a plain Graph path."""
    found = _RESOURCE.match(resource or "")
    if found is None or ".." in (resource or ""):
        raise schema_violation(f"{field} is not a drive resource: {resource!r}", field)
    return found.group("path")


def link_resource(link: str) -> str:
    """The drive a delta link reads (`drives/{id}/root`), for naming its FetchRequest."""
    found = _DRIVE_IN_PATH.search(urlsplit(link).path + "/")
    return f"drives/{found.group('drive')}/root" if found else DELTA


def drive_setting(extra: Mapping[str, str], setting: str, drive_id: str | None) -> Any:
    """A drive's entry in a JSON-object setting such as `drive_clients` (keyed by drive id)."""
    raw = extra.get(setting)
    if not drive_id or not raw:
        return None
    try:
        table = json.loads(raw)
    except ValueError as exc:
        raise schema_violation(f"setting {setting} is not a JSON object", setting) from exc
    if not isinstance(table, dict):
        raise schema_violation(f"setting {setting} is not a JSON object", setting)
    return table.get(drive_id)


def drive_ref(extra: Mapping[str, str], setting: str, drive_id: str | None) -> Ref | None:
    """The record a drive belongs to, from a setting such as `drive_clients`:
    `{"b!...": "salesforce:Account:001Hs00002ABCDE"}` or a reference object."""
    value = drive_setting(extra, setting, drive_id)
    if value is None:
        return None
    field = f"{setting}.{drive_id}"
    try:
        if isinstance(value, dict):
            return Ref.model_validate(value)
        system, type_, id_ = str(value).split(":", 2)
        return Ref(system=system, type=type_, id=id_)
    except ValidationError as exc:
        raise translate(exc, prefix=field) from exc
    except ValueError as exc:
        raise schema_violation(f"{field}={value!r} is not system:type:id", field) from exc


def last_occurrences(items: Iterable[DriveItem]) -> list[tuple[int, DriveItem]]:
    """Each item once, at its last occurrence in the feed, in feed order."""
    latest: dict[str, tuple[int, DriveItem]] = {}
    for n, item in enumerate(items):
        item_id = require_id(item.id, f"value.{n}.id")
        latest.pop(item_id, None)
        latest[item_id] = (n, item)
    return list(latest.values())


def map_item(
    item: DriveItem, n: int, *, tenant: str, received_at: datetime, extra: Mapping[str, str]
) -> ChangeEnvelope | None:
    """A file's change or deletion; None for folders, the root and packages."""
    field = f"value.{n}"
    item_id = require_id(item.id, f"{field}.id")
    drive_id = item.parentReference.driveId if item.parentReference else None
    if item.deleted is not None:
        # A deleted folder was never an asset; a deleted item without facets may be a file.
        if item.folder is not None or item.root is not None or item.package is not None:
            return None
        # Deleted items may omit their time: then the delta run's time orders the deletion.
        when = (
            instant(item.lastModifiedDateTime, f"{field}.lastModifiedDateTime")
            if item.lastModifiedDateTime
            else received_at
        )
        return change_event(
            system=SYSTEM,
            entity="knowledge_asset",
            source_type=SOURCE_TYPE,
            data=Deletion(id=item_id),
            tenant=tenant,
            time=when,
            sequence=utc_sequence(when),
            id=message_id(SYSTEM, drive_id or "", item_id, item.eTag or "deleted"),
            deleted=True,
        )
    if item.file is None:
        return None
    modified = instant(item.lastModifiedDateTime, f"{field}.lastModifiedDateTime")
    data: dict[str, Any] = {"id": item_id, "kind": "document", "status": "published"}
    optional = {
        "title": (item.name or "").strip() or None,
        "uri": item.webUrl or None,
        "client": drive_ref(extra, "drive_clients", drive_id),
        "engagement": drive_ref(extra, "drive_engagements", drive_id),
        "classification": drive_setting(extra, "drive_classifications", drive_id),
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    data.update(item_details(item))
    return change_event(
        system=SYSTEM,
        entity="knowledge_asset",
        source_type=SOURCE_TYPE,
        data=validate(KnowledgeAssetChange, data, prefix=field),
        tenant=tenant,
        time=modified,
        sequence=utc_sequence(modified),
        id=message_id(SYSTEM, drive_id or "", item_id, item.eTag or modified.isoformat()),
    )


def map_items(
    items: Iterable[DriveItem], *, tenant: str, received_at: datetime, extra: Mapping[str, str]
) -> list[ChangeEnvelope]:
    """Applies a whole feed: each item's last occurrence, files only."""
    events = [
        map_item(item, n, tenant=tenant, received_at=received_at, extra=extra)
        for n, item in last_occurrences(items)
    ]
    return [event for event in events if event is not None]


def map_delta_page(
    page: DeltaPage, *, tenant: str, received_at: datetime, extra: Mapping[str, str]
) -> Mapped:
    """One posted delta page; a nextLink asks for the rest of the feed to be fetched."""
    mapped = Mapped(
        events=map_items(page.value, tenant=tenant, received_at=received_at, extra=extra),
        cursor=page.delta_link or page.next_link,
    )
    if page.next_link and not page.delta_link:
        mapped.fetches.append(
            FetchRequest(
                kind=DELTA, id=link_resource(page.next_link), tenant=tenant, url=page.next_link
            )
        )
    return mapped


_TENANT_ID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$", re.IGNORECASE)


def map_notifications(batch: NotificationBatch, *, tenant: str) -> Mapped:
    """Change notifications carry no item data: one delta run per notified drive.

    The configured tenant names the records (as polling does), so a file keeps one xref
    however its change arrives. When it is a tenant id, a notification naming another tenant
    id is refused rather than filed as a second record; a tenant configured by name cannot be
    compared with the notification's id and is simply used."""
    requests: dict[tuple[str, str], dict[str, Any]] = {}
    for n, note in enumerate(batch.value):
        if (
            _TENANT_ID.match(tenant)
            and note.tenantId
            and _TENANT_ID.match(note.tenantId)
            and note.tenantId.lower() != tenant.lower()
        ):
            raise forbidden(
                f"value.{n}.tenantId {note.tenantId} is not the configured tenant {tenant}"
            )
        wanted = note.changeType or (
            note.lifecycleEvent if note.lifecycleEvent in RUN_DELTA_LIFECYCLE else None
        )
        if not wanted:
            continue
        resource = resource_path(note.resource, f"value.{n}.resource")
        key = (tenant or note.tenantId or "", resource)
        entry = requests.setdefault(key, {"subscription_ids": [], "change_types": []})
        entry["subscription_ids"].append(note.subscriptionId)
        entry["change_types"].append(wanted)
    if not requests:
        return Mapped(ignored="lifecycle notifications only (reauthorization or removal)")
    return Mapped(
        fetches=[
            FetchRequest(DELTA, resource, note_tenant, hint={**hint, RESUMES_FROM_CURSOR: True})
            for (note_tenant, resource), hint in requests.items()
        ]
    )
