"""A Confluence page as REST v2 returns it (`GET /wiki/api/v2/pages/{id}`) -> a canonical
knowledge asset change: what the webhook body lacks (parent page, owner, version note).

Its status says what happened: current pages are published, drafts are drafts, archived and
trashed pages archived, deleted ones tombstoned; a historical version is not the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.confluence.mapping import PERSON, SOURCE_TYPE, SYSTEM
from adapters.confluence.payloads import RestPage
from adapters.refusals import require_id, schema_violation, validate
from hub.contracts.adapters import Mapped, change_event, message_id, utc_sequence
from hub.contracts.changes import Deletion, KnowledgeAssetChange

STATUS = {
    "current": "published",
    "draft": "draft",
    "archived": "archived",
    "trashed": "archived",
}
DELETED = frozenset({"deleted", "purged"})


def _instant(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise schema_violation(f"{field} is not an instant: {value!r}", field) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _web_url(page: RestPage, base_url: str | None) -> str | None:
    links = page.links
    webui = links.webui if links else None
    base = (links.base if links else None) or (base_url.rstrip("/") + "/wiki" if base_url else None)
    return f"{base.rstrip('/')}{webui}" if webui and base else None


def _person(person_id: str | None) -> dict[str, Any] | None:
    return {"type": PERSON, "id": person_id} if person_id else None


def rest_details(page: RestPage) -> dict[str, Any]:
    """The descriptive fields REST v2 gives, reported when the page carries them."""
    given = page.model_fields_set
    version = page.version
    found: dict[str, Any] = {"source_status": page.status, "revision": version.number}
    for target, key in (
        ("space_id", "spaceId"),
        ("parent_id", "parentId"),
        ("parent_type", "parentType"),
    ):
        if key in given:
            raw = getattr(page, key)
            found[target] = None if raw is None else str(raw)
    for target, key in (("author", "authorId"), ("owner", "ownerId")):
        if key in given:
            found[target] = _person(getattr(page, key))
    if "createdAt" in given:
        found["created_at"] = _instant(page.createdAt, "createdAt")
    versioned = version.model_fields_set
    if "authorId" in versioned:
        found["modified_by"] = _person(version.authorId)
    if "createdAt" in versioned:
        found["modified_at"] = _instant(version.createdAt, "version.createdAt")
    if "message" in versioned:
        found["version_message"] = (version.message or "").strip() or None
    return found


def map_rest_page(page: RestPage, *, tenant: str, base_url: str | None) -> Mapped:
    """One REST v2 page as a change (or a tombstone), ordered by its version number."""
    page_id = require_id(str(page.id), "id")
    status = (page.status or "").lower()
    if status == "historical":
        return Mapped(ignored=f"page {page_id} version {page.version.number} is historical")
    if status not in STATUS and status not in DELETED:
        raise schema_violation(f"unknown page status {page.status!r}", "status")
    time = _instant(page.version.createdAt, "version.createdAt") or _instant(
        page.createdAt, "createdAt"
    )
    if time is None:
        raise schema_violation("version.createdAt is missing", "version.createdAt")
    common: dict[str, Any] = {
        "system": SYSTEM,
        "entity": "knowledge_asset",
        "source_type": SOURCE_TYPE,
        "tenant": tenant,
        "time": time,
        "sequence": f"{page.version.number:010d}|{utc_sequence(time)}",
        "id": message_id(SYSTEM, page_id, page.version.number, f"rest:{status}"),
    }
    if status in DELETED:
        return Mapped(events=[change_event(data=Deletion(id=page_id), deleted=True, **common)])
    data: dict[str, Any] = {"id": page_id, "kind": "page", "status": STATUS[status]}
    # REST v2 names the space by id only: the settings keyed by space key (client,
    # engagement, classification) apply through the page's webhooks, not here.
    optional = {"title": (page.title or "").strip() or None, "uri": _web_url(page, base_url)}
    data.update({key: value for key, value in optional.items() if value is not None})
    data.update(rest_details(page))
    change = validate(KnowledgeAssetChange, data, prefix="page")
    return Mapped(events=[change_event(data=change, **common)])
