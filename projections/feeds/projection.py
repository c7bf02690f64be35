"""FeedProjection: from the log to what one downstream target must hold (its outbox).

For each event on a record of an entity the target follows, the record as it stands at that
version (its golden record, serialised as GET /v1 serves it) goes through the target's pure
mapping; an item whose payload differs from what the outbox holds for it becomes pending again
(and unpublished). Events are folded one by one, never collapsed per page, so the outbox is the
same whatever the page size: a rebuild from position zero gives the same rows.

With `await_provisioning` (quote-to-cash runs), the provisioning events in the log hold back a
won engagement's creation in the target until its provisioning is requested (gate.py).

A target whose mapping needs other records (hub.contracts.feeds.RelatedTarget: a cost line's
rate card, a project's assignments) is given the feed's own copy of them as they stand at the
event being mapped (related.py): each record is mapped in the loop, at its event, and a rate
card change maps again the records it names and those with a held item.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.utils import resolve_topic

from domain.base import CanonicalAggregate
from hub.contracts.feeds import FeedItem, Target
from projections.decoded import shareable
from projections.feeds import gate as G
from projections.feeds.digest import payload_hash
from projections.feeds.related import KEPT, RelatedRecords
from projections.feeds.view import DELIVERED, HELD, PENDING, FeedView, OutboxRow
from projections.states import LoadMany, SharedStates

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


class FeedProjection:
    def __init__(
        self,
        view: FeedView,
        target: Target,
        *,
        mapper: Mapper[UUID],
        load: Callable[[UUID, int], Any],
        load_many: LoadMany | None = None,
        to_record: Callable[[Any], dict[str, Any]],
        application_name: str,
        cache_size: int = 2_000,
        await_provisioning: bool = False,
        states: SharedStates | None = None,
    ) -> None:
        self.view = view
        self.target = target
        self.name = f"feed.{target.name}"
        self.mapper = mapper
        self.load = load
        # The records' states after each event, shared by the projections of the process
        # (projections/states.py); provisionings are this feed's own (`_cache`).
        self.states = states or SharedStates(mapper, load, load_many)
        self.to_record = to_record
        self.application_name = application_name
        self.cache_size = cache_size
        self.await_provisioning = await_provisioning
        self._cache: OrderedDict[UUID, Any] = OrderedDict()
        # Which entity each recently seen record is, to skip the shared events of the others.
        self._kinds: OrderedDict[UUID, str] = OrderedDict()
        self._position: int | None = None
        # A target whose mapping needs other records follows those too (and the rate cards).
        extra = frozenset(getattr(target, "related", ()))
        self.follows = target.entities | (extra | KEPT if extra else frozenset())
        self._related: RelatedRecords | None = None

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.application_name)
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        try:
            self._preload(notifications)
            related = self._related_records()
            acked = self.view.acknowledged(
                n.originator_id
                for n in notifications
                if _entity_of(n.topic) in self.follows or _entity_of(n.topic) is None
            )
            # In log order: each followed record's items, and each provisioning decision.
            found: list[Found | Decided] = []
            for notification in notifications:
                if self.await_provisioning and notification.topic.startswith(G.TOPIC):
                    provisioning = self._advance(notification)
                    decided = G.decision(provisioning)
                    if decided is not None:
                        found.append(Decided(provisioning.engagement_id, decided))
                    continue
                entity = _entity_of(notification.topic)
                if entity is None:
                    entity = self._kinds.get(notification.originator_id)
                elif entity:
                    self._remember(notification.originator_id, entity)
                if entity is not None and entity not in self.follows:
                    continue  # never loaded: most of the log is of entities a target ignores
                aggregate = self._advance(notification)
                entity = getattr(aggregate, "ENTITY", "")
                self._remember(notification.originator_id, entity)
                if aggregate is None or entity not in self.follows:
                    continue
                # Serialised now: the cached aggregate moves on with the page's next events;
                # mapped now too, against the related records as they stand at this event.
                record = self._marked(self.to_record(aggregate), acked)
                changed = related.learn(entity, aggregate, record) if related else set()
                if entity in self.target.entities:
                    items = self._map(entity, record, notification.id, related)
                    if related is not None:
                        related.hold(entity, record, any(f.item.hold for f in items))
                    found += items
                if changed and related is not None:
                    found += self._remap(changed, notification.id, related)
            rows, gates, errors = self._fold(found)
            tracking = Tracking(self.application_name, notifications[-1].id)
            changes = related.take_changes() if related else []
            self.view.write(rows, tracking, gates, changes, errors)
        except Exception:
            self._cache.clear()
            self._position = None
            self._related = None
            raise
        self._position = notifications[-1].id

    def _preload(self, notifications: Sequence[Notification]) -> None:
        """Reads in one query the followed records this page changes that are not in memory
        as they stood before it. Updates of records last changed long ago (a week's time
        approved at once) missed the cache one by one: a query per event, several seconds
        of lag for everything behind them (ops/bench/feeds.py, at the end of its load)."""

        def ignored(notification: Notification) -> bool:
            entity = _entity_of(notification.topic)
            if entity is None:
                entity = self._kinds.get(notification.originator_id)
            return entity == "" or (entity is not None and entity not in self.follows)

        self.states.prepare(notifications, ignored)

    def _related_records(self) -> RelatedRecords | None:
        """The related records of a target whose mapping needs them (loaded once)."""
        if self.follows == self.target.entities:
            return None
        if self._related is None:
            self._related = RelatedRecords(self.view.related_rows())
        return self._related

    def _marked(self, record: dict[str, Any], acked: dict[UUID, set[str]]) -> dict[str, Any]:
        """The record with the xrefs of the target's ids this feed delivered marked
        `acknowledged` (the hub's own writes, not records that came from the target)."""
        ours = acked.get(UUID(str(record["id"])), set())
        if not ours:
            return record
        return {
            **record,
            "xrefs": [
                {**x, "acknowledged": True}
                if x.get("system") == self.target.name and str(x.get("id")) in ours
                else x
                for x in record.get("xrefs") or []
            ],
        }

    def _map(
        self, entity: str, record: dict[str, Any], position: int, related: RelatedRecords | None
    ) -> list[Found]:
        """A record's items (its xrefs marked, see `_marked`)."""
        try:
            if related is None:
                items = self.target.items(entity, record)
            else:
                items = self.target.items(entity, record, related)  # type: ignore[call-arg]
        except Exception:  # one record the mapping cannot take must not stop the feed
            log.exception("feed %s: no items for %s %s", self.name, entity, record["id"])
            return []
        changed = _instant(record.get("updated_at"))
        return [Found(item, entity, record, position, changed) for item in items]

    def _remap(self, changed: set[UUID], position: int, related: RelatedRecords) -> list[Found]:
        """A rate card changed: the records it names (an engagement's assignments, a
        person's) and the records with a held item (work no card priced) are mapped again at
        its position, as they last stood. Work already priced keeps its price
        (RelatedRecords.price)."""
        again: dict[UUID, tuple[str, dict[str, Any]]] = {}
        for ref_id in sorted(changed, key=str):
            entity, record = related.records.get(ref_id, ("", {}))
            if entity in self.target.entities:
                again[ref_id] = (entity, record)
        for ref_id in sorted(set(related.held) - set(again), key=str):
            again[ref_id] = related.held[ref_id]
        acked = self.view.acknowledged(again)
        found: list[Found] = []
        for entity, record in again.values():
            items = self._map(entity, self._marked(record, acked), position, related)
            related.hold(entity, record, any(f.item.hold for f in items))
            found += [replace(f, item=replace(f.item, revision=position)) for f in items]
        return found

    def _fold(
        self, found: list[Found | Decided]
    ) -> tuple[list[OutboxRow], dict[UUID, str], dict[tuple[UUID, str], str]]:
        """The rows that change, the provisioning decisions of the page (each applies to
        what follows it; the last per engagement is kept), and why the items held by their
        mapping (FeedItem.hold) are held."""
        items = [f.item for f in found if isinstance(f, Found)]
        keys = {(item.canonical_id, item.key) for item in items}
        current, ledger = self.view.folded(keys)
        gates: dict[UUID, str] = {}
        errors: dict[tuple[UUID, str], str] = {}
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
            digest = payload_hash(
                item.payload if item.hold is None else [item.payload, list(item.hold)]
            )
            if current.get(key) == digest:
                continue  # the same payload again (an acknowledgement, a field it ignores)
            current[key] = digest
            # A notice is only published: there is nothing to deliver.
            delivered = item.notice or (kept is not None and kept.delivered_hash == digest)
            if item.hold is not None:  # not to go out at a wrong value: a case says why
                held = True
                errors[key] = f"{item.hold[0]}: {item.hold[1]}"
            else:
                errors.pop(key, None)
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
        return list(rows.values()), gates, errors

    def _remember(self, record_id: UUID, entity: str) -> None:
        self._kinds[record_id] = entity
        self._kinds.move_to_end(record_id)
        if len(self._kinds) > 100_000:
            self._kinds.popitem(last=False)

    def _advance(self, notification: Notification) -> Any:
        """The record after the event (shared: never changed here), or a provisioning."""
        if shareable(notification.topic):
            return self.states.after(notification)
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
