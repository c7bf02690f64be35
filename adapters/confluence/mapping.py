"""Confluence page webhooks -> canonical knowledge asset changes (pure functions).

The event name says what happened: created, updated, restored and moved pages are
published, trashed (or archived) pages archived, removed (purged) pages deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from adapters.confluence.payloads import Page, PageEvent
from adapters.refusals import require_id, schema_violation, translate, validate
from hub.contracts.adapters import Mapped, change_event, message_id, utc_sequence
from hub.contracts.changes import Deletion, KnowledgeAssetChange, Ref

SYSTEM = "confluence"
SOURCE_TYPE = "page"
STATUS = {
    "page_created": "published",
    "page_updated": "published",
    "page_restored": "published",
    "page_moved": "published",
    "page_unarchived": "published",
    "page_trashed": "archived",
    "page_archived": "archived",
}
# The page's status as Confluence names it after each event (REST v2's vocabulary).
SOURCE_STATUS = {"page_trashed": "trashed", "page_archived": "archived"}
REMOVED = "page_removed"
# A person is an Atlassian account (Cloud) or a user key (Data Center).
PERSON = "user"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant(epoch_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=epoch_ms)


def event_name(event: str | None, parsed: PageEvent) -> str:
    """The event from the registration (`?event=`), else from the body; required."""
    name = (event or parsed.event or parsed.webhookEvent or "").strip()
    if not name:
        raise schema_violation(
            "the Confluence event name is missing: pass it as ?event=page_updated", "event"
        )
    return name


def space_setting(extra: Mapping[str, str], setting: str, space_key: str | None) -> Any:
    """A space's entry in a JSON-object setting such as `space_clients` (keyed by space key,
    exact or case-insensitive), or None."""
    raw = extra.get(setting)
    if not space_key or not raw:
        return None
    try:
        table = json.loads(raw)
    except ValueError as exc:
        raise schema_violation(f"setting {setting} is not a JSON object", setting) from exc
    if not isinstance(table, dict):
        raise schema_violation(f"setting {setting} is not a JSON object", setting)
    if space_key in table:
        return table[space_key]
    folded = {str(key).casefold(): value for key, value in table.items()}
    return folded.get(space_key.casefold())


def space_ref(extra: Mapping[str, str], setting: str, space_key: str | None) -> Ref | None:
    """The record a space belongs to, from a setting such as `space_clients`:
    `{"CONTOSO": "salesforce:Account:001Hs00002ABCDE"}`, or a reference object
    `{"CONTOSO": {"system": ..., "tenant": ..., "type": ..., "id": ...}}`."""
    value = space_setting(extra, setting, space_key)
    if value is None:
        return None
    field = f"{setting}.{space_key}"
    try:
        if isinstance(value, dict):
            return Ref.model_validate(value)
        system, type_, id_ = str(value).split(":", 2)
        return Ref(system=system, type=type_, id=id_)
    except ValidationError as exc:
        raise translate(exc, prefix=field) from exc
    except ValueError as exc:
        raise schema_violation(f"{field}={value!r} is not system:type:id", field) from exc


def _person(page: Page, id_key: str, name_key: str | None = None) -> dict[str, Any] | None:
    person_id = getattr(page, id_key)
    if not person_id:
        return None
    person: dict[str, Any] = {"type": PERSON, "id": person_id}
    if name_key and name_key in page.model_fields_set:
        person["name"] = getattr(page, name_key)
    return person


def page_details(page: Page, name: str) -> dict[str, Any]:
    """Where the page lives, who made and changed it, when, and its version.

    A field is reported when the body carries it; Cloud and Data Center bodies differ.
    """
    given = page.model_fields_set
    found: dict[str, Any] = {"source_status": SOURCE_STATUS.get(name, "current")}
    if "spaceKey" in given:
        found["space_key"] = page.spaceKey
    if "spaceId" in given:
        found["space_id"] = None if page.spaceId is None else str(page.spaceId)
    for target, key in (("created_at", "creationDate"), ("modified_at", "modificationDate")):
        if key in given:
            stamp = getattr(page, key)
            found[target] = None if stamp is None else instant(stamp)
    if "version" in given:
        found["revision"] = page.version
    people = (
        ("author", "creatorAccountId", None),
        ("author", "creatorKey", "creatorName"),
        ("modified_by", "lastModifierAccountId", None),
        ("modified_by", "lastModifierKey", "lastModifierName"),
    )
    for target, id_key, name_key in people:
        if id_key in given:
            found[target] = _person(page, id_key, name_key)
    return found


def map_page_event(
    parsed: PageEvent, *, event: str | None, tenant: str, extra: Mapping[str, str]
) -> Mapped:
    """Maps one page webhook body; other content (blogs, comments, spaces) is ignored."""
    name = event_name(event, parsed)
    if name not in STATUS and name != REMOVED:
        return Mapped(ignored=f"confluence event {name!r} is not mapped")
    page = parsed.page
    if page is None:
        raise schema_violation(f"a {name} body has no page", "page")
    page_id = require_id(page.idAsString or page.id, "page.id")
    if page.version is None:
        raise schema_violation("page.version is missing", "page.version")
    stamp = parsed.timestamp if parsed.timestamp is not None else page.modificationDate
    if stamp is None:
        raise schema_violation("timestamp is missing", "timestamp")
    time = instant(stamp)
    common: dict[str, Any] = {
        "system": SYSTEM,
        "entity": "knowledge_asset",
        "source_type": SOURCE_TYPE,
        "tenant": tenant,
        "time": time,
        # The page version orders edits; trash, restore and purge keep the version, so the
        # event's time orders them after the edit.
        "sequence": f"{page.version:010d}|{utc_sequence(time)}",
        "id": message_id(SYSTEM, page_id, page.version, name),
    }
    if name == REMOVED:
        return Mapped(events=[change_event(data=Deletion(id=page_id), deleted=True, **common)])
    data: dict[str, Any] = {"id": page_id, "kind": "page", "status": STATUS[name]}
    optional = {
        "title": (page.title or "").strip() or None,
        "uri": page.self_url or None,
        "client": space_ref(extra, "space_clients", page.spaceKey),
        "engagement": space_ref(extra, "space_engagements", page.spaceKey),
        "classification": space_setting(extra, "space_classifications", page.spaceKey),
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    data.update(page_details(page, name))
    change = validate(KnowledgeAssetChange, data, prefix="page")
    return Mapped(events=[change_event(data=change, **common)])
