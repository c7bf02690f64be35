"""FeedProjection: from the log to what one downstream target must hold (its outbox).

For each event on a record of an entity the target follows, the record as it stands at that
version (its golden record, serialised as GET /v1 serves it) goes through the target's pure
mapping; an item whose payload differs from what the outbox holds for it becomes pending again
(and unpublished). Events are folded one by one, never collapsed per page, so the outbox is the
same whatever the page size: a rebuild from position zero gives the same rows.

With `await_provisioning` (quote-to-cash runs), the provisioning events in the log hold back a
won engagement's creation in the target until its provisioning is requested (gate.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.utils import resolve_topic

from domain.base import CanonicalAggregate
from hub.contracts.feeds import FeedItem, Target
from projections.feeds import gate as G
from projections.feeds.view import DELIVERED, HELD, PENDING, FeedView, OutboxRow

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


@dataclass(frozen=True)
class Found:
    """An item a followed record yields at a position of the log."""

    item: FeedItem
    entity: str  # the record's canonical entity
    record: dict[str, Any]
    position: int
    occurred: datetime | None


@dataclass(frozen=True)
class Decided:
    """A provisioning event's decision for its engagement's items (gate.py)."""

    engagement_id: UUID
    decision: str


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
        await_provisioning: bool = False,
    ) -> None:
        self.view = view
        self.target = target
        self.name = f"feed.{target.name}"
        self.mapper = mapper
        self.load = load
        self.to_record = to_record
        self.application_name = application_name
        self.cache_size = cache_size
        self.await_provisioning = await_provisioning
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
            # In log order: each followed record (entity, record, position), and each
            # provisioning decision (engagement id, decision, position).
            followed: list[tuple[str, dict[str, Any], int] | Decided] = []
            for notification in notifications:
                if self.await_provisioning and notification.topic.startswith(G.TOPIC):
                    provisioning = self._advance(notification)
                    decided = G.decision(provisioning)
                    if decided is not None:
                        followed.append(Decided(provisioning.engagement_id, decided))
                    continue
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
            rows, gates = self._fold(self._items(followed))
            self.view.write(rows, Tracking(self.application_name, notifications[-1].id), gates)
        except Exception:
            self._cache.clear()
            self._position = None
            raise
        self._position = notifications[-1].id

    def _items(
        self, followed: list[tuple[str, dict[str, Any], int] | Decided]
    ) -> list[Found | Decided]:
        """Each followed record's items; the xrefs of the target's ids this feed delivered are
        marked `acknowledged` (the hub's own writes, not records that came from the target).
        Provisioning decisions stay where they are in the sequence."""
        records = [f[1] for f in followed if not isinstance(f, Decided)]
        acked = self.view.acknowledged(UUID(str(r["id"])) for r in records)
        found: list[Found | Decided] = []
        for entry in followed:
            if isinstance(entry, Decided):
                found.append(entry)
                continue
            entity, record, position = entry
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
            found += [Found(item, entity, record, position, changed) for item in items]
        return found

    def _fold(self, found: list[Found | Decided]) -> tuple[list[OutboxRow], dict[UUID, str]]:
        """The rows that change, and the provisioning decisions of the page (each applies to
        what follows it; the last per engagement is kept)."""
        items = [f.item for f in found if isinstance(f, Found)]
        keys = {(item.canonical_id, item.key) for item in items}
        current = self.view.hashes(keys)
        ledger = self.view.ledger_of(keys)
        gates: dict[UUID, str] = {}
        known = self.view.gates({i.canonical_id for i in items}) if self.await_provisioning else {}
        rows: dict[tuple[UUID, str], OutboxRow] = {}
        for f in found:
            if isinstance(f, Decided):
                gates[f.engagement_id] = known[f.engagement_id] = f.decision
                continue
            item = f.item
            key = (item.canonical_id, item.key)
            kept = ledger.get(key)
            gate = known.get(item.canonical_id)
            held = self.await_provisioning and G.holds(f.entity, f.record, item, kept, gate)
            if held and gate == G.WITHDRAWN:
                continue  # never provisioned: the target is not to hold it
            if held and gate is None:
                gates[item.canonical_id] = known[item.canonical_id] = G.WAITING
            digest = payload_hash(item.payload)
            if current.get(key) == digest:
                continue  # the same payload again (an acknowledgement, a field it ignores)
            current[key] = digest
            # A notice is only published: there is nothing to deliver.
            delivered = item.notice or (kept is not None and kept.delivered_hash == digest)
            rows[key] = OutboxRow(
                canonical_id=item.canonical_id,
                key=item.key,
                entity=item.entity,
                version=item.version,
                position=f.position,
                idempotency_key=item.idempotency_key,
                payload=dict(item.payload),
                payload_hash=digest,
                # What the target said when it took the item comes first: a record it lost
                # and was given again (a reconciliation re-feed) keeps its old id as an xref.
                target_id=(kept.target_id if kept else None) or item.target_id,
                occurred_at=f.occurred,
                published=kept is not None and kept.published_hash == digest,
                state=HELD if held else DELIVERED if delivered else PENDING,
            )
        return list(rows.values()), gates

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
