"""FeedProjection: from the log to what one downstream target must hold (its outbox).

For each event on a record of an entity the target follows, the record as it stands at that
version (its golden record, serialised as GET /v1 serves it) goes through the target's pure
mapping; an item whose payload differs from what the outbox holds for it becomes pending again
(and unpublished). Events are folded one by one, never collapsed per page, so the outbox is the
same whatever the page size: a rebuild from position zero gives the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.utils import resolve_topic

from domain.base import CanonicalAggregate
from hub.contracts.feeds import FeedItem, Target
from projections.feeds.view import DELIVERED, PENDING, FeedView, OutboxRow

log = logging.getLogger(__name__)


@cache
def _entity_of(topic: str) -> str | None:
    """The canonical entity an event's topic names: "" for other aggregates (cases), None for
    the events every canonical aggregate shares (XrefAdded, Revised, ...), whose topic names
    the base class: the record says which entity it is."""
    try:
        cls = resolve_topic(topic.rpartition(".")[0])
    except Exception:
        return ""
    entity = str(getattr(cls, "ENTITY", "") or "")
    if entity:
        return entity
    return None if isinstance(cls, type) and issubclass(cls, CanonicalAggregate) else ""


def payload_hash(payload: Any) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


class FeedProjection:
    def __init__(
        self,
        view: FeedView,
        target: Target,
        *,
        mapper: Mapper[UUID],
        load: Callable[[UUID, int], Any],
        to_record: Callable[[Any], dict[str, Any]],
        application_name: str,
        cache_size: int = 2_000,
    ) -> None:
        self.view = view
        self.target = target
        self.name = f"feed.{target.name}"
        self.mapper = mapper
        self.load = load
        self.to_record = to_record
        self.application_name = application_name
        self.cache_size = cache_size
        self._cache: OrderedDict[UUID, Any] = OrderedDict()
        # Which entity each recently seen record is, to skip the shared events of the others.
        self._kinds: OrderedDict[UUID, str] = OrderedDict()
        self._position: int | None = None

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.application_name)
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        try:
            followed: list[tuple[str, dict[str, Any], int]] = []
            for notification in notifications:
                entity = _entity_of(notification.topic)
                if entity is None:
                    entity = self._kinds.get(notification.originator_id)
                elif entity:
                    self._remember(notification.originator_id, entity)
                if entity is not None and entity not in self.target.entities:
                    continue  # never loaded: most of the log is of entities a target ignores
                aggregate = self._advance(notification)
                entity = getattr(aggregate, "ENTITY", "")
                self._remember(notification.originator_id, entity)
                if aggregate is None or entity not in self.target.entities:
                    continue
                # Serialised now: the cached aggregate moves on with the page's next events.
                followed.append((entity, self.to_record(aggregate), notification.id))
            rows = self._fold(self._items(followed))
            self.view.write(rows, Tracking(self.application_name, notifications[-1].id))
        except Exception:
            self._cache.clear()
            self._position = None
            raise
        self._position = notifications[-1].id

    def _items(
        self, followed: list[tuple[str, dict[str, Any], int]]
    ) -> list[tuple[FeedItem, int, datetime | None]]:
        """Each followed record's items; the xrefs of the target's ids this feed delivered are
        marked `acknowledged` (the hub's own writes, not records that came from the target)."""
        acked = self.view.acknowledged(UUID(str(r["id"])) for _, r, _ in followed)
        found: list[tuple[FeedItem, int, datetime | None]] = []
        for entity, record, position in followed:
            ours = acked.get(UUID(str(record["id"])), set())
            if ours:
                record["xrefs"] = [
                    {**x, "acknowledged": True}
                    if x.get("system") == self.target.name and str(x.get("id")) in ours
                    else x
                    for x in record.get("xrefs") or []
                ]
            try:
                items = self.target.items(entity, record)
            except Exception:  # one record the mapping cannot take must not stop the feed
                log.exception("feed %s: no items for %s %s", self.name, entity, record["id"])
                continue
            changed = _instant(record.get("updated_at"))
            found += [(item, position, changed) for item in items]
        return found

    def _fold(self, found: list[tuple[FeedItem, int, datetime | None]]) -> list[OutboxRow]:
        keys = {(item.canonical_id, item.key) for item, _, _ in found}
        current = self.view.hashes(keys)
        ledger = self.view.ledger_of(keys)
        rows: dict[tuple[UUID, str], OutboxRow] = {}
        for item, position, occurred in found:
            key = (item.canonical_id, item.key)
            digest = payload_hash(item.payload)
            if current.get(key) == digest:
                continue  # the same payload again (an acknowledgement, a field it ignores)
            current[key] = digest
            kept = ledger.get(key)
            rows[key] = OutboxRow(
                canonical_id=item.canonical_id,
                key=item.key,
                entity=item.entity,
                version=item.version,
                position=position,
                idempotency_key=item.idempotency_key,
                payload=dict(item.payload),
                payload_hash=digest,
                # What the target said when it took the item comes first: a record it lost
                # and was given again (a reconciliation re-feed) keeps its old id as an xref.
                target_id=(kept.target_id if kept else None) or item.target_id,
                occurred_at=occurred,
                published=kept is not None and kept.published_hash == digest,
                state=DELIVERED if kept is not None and kept.delivered_hash == digest else PENDING,
            )
        return list(rows.values())

    def _remember(self, record_id: UUID, entity: str) -> None:
        self._kinds[record_id] = entity
        self._kinds.move_to_end(record_id)
        if len(self._kinds) > 100_000:
            self._kinds.popitem(last=False)

    def _advance(self, notification: Notification) -> Any:
        aggregate_id = notification.originator_id
        aggregate = self._cache.pop(aggregate_id, None)
        version = notification.originator_version
        if aggregate is not None and aggregate.version != version - 1:
            aggregate = None
        if aggregate is None and version > 1:
            aggregate = self.load(aggregate_id, version - 1)
            if aggregate is None:
                return None
        aggregate = self.mapper.to_domain_event(notification).mutate(aggregate)
        self._cache[aggregate_id] = aggregate
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return aggregate


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
