"""GoldenRecordsProjection: from pages of domain events to golden records, version-guarded."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking

from projections.golden_records.columns import FILTERS
from projections.golden_records.view import GoldenRecordsView, RecordRow, XrefRow
from projections.preloading import LoadMany, missing

log = logging.getLogger(__name__)

# Loads an aggregate as it was at a version (None if it does not exist).
Loader = Callable[[UUID, int], Any]
# Serialises an aggregate into its golden record (every field; redaction happens on read).
Serialiser = Callable[[Any], dict[str, Any]]


class GoldenRecordsProjection:
    """Keeps the golden-record tables current; ignores (but tracks) events of other kinds."""

    name = "golden_records"

    def __init__(
        self,
        view: GoldenRecordsView,
        *,
        mapper: Mapper[UUID],
        load: Loader,
        to_record: Serialiser,
        application_name: str,
        cache_size: int = 5_000,
        load_many: LoadMany | None = None,
    ) -> None:
        self.view = view
        self.mapper = mapper
        self.load = load
        self.load_many = load_many
        # The aggregates of this page read together before it is applied (preloading.py).
        self._preloaded: dict[UUID, Any] = {}
        self.to_record = to_record
        self.application_name = application_name
        self.cache_size = cache_size
        # The projection's own aggregates, advanced event by event (never the app's cache).
        # Kept small: every object here is one more for the collector to walk in a process
        # that may also serve the API; a miss costs a snapshot read.
        self._cache: OrderedDict[UUID, Any] = OrderedDict()
        self._position: int | None = None

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.application_name)
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        touched: dict[UUID, tuple[Any, int]] = {}
        try:
            if self.load_many is not None:
                wanted = missing(notifications, self._cache)
                if len(wanted) > 1:  # one alone is read as before
                    self._preloaded = self.load_many(wanted)
            for notification in notifications:
                aggregate = self._advance(notification)
                if aggregate is not None and getattr(aggregate, "ENTITY", "") in FILTERS:
                    touched[aggregate.id] = (aggregate, notification.id)
            rows = [
                RecordRow(a.ENTITY, a.id, a.version, position, self.to_record(a))
                for a, position in touched.values()
            ]
            xrefs = [
                XrefRow(x.system, x.tenant, x.type, x.id, a.ENTITY, a.id)
                for a, _ in touched.values()
                for x in a.xrefs
            ]
            self.view.write(rows, xrefs, Tracking(self.application_name, notifications[-1].id))
        except Exception:
            # The cached aggregates may be ahead of what committed: start them afresh.
            self._cache.clear()
            self._position = None
            raise
        finally:
            self._preloaded.clear()
        self._position = notifications[-1].id

    def _advance(self, notification: Notification) -> Any:
        aggregate_id = notification.originator_id
        aggregate = self._cache.pop(aggregate_id, None)
        version = notification.originator_version
        if aggregate is not None and aggregate.version != version - 1:
            aggregate = None  # out of step (another writer, an earlier failure): reload
        if aggregate is None and version > 1:
            aggregate = self._preloaded.pop(aggregate_id, None)
            if aggregate is None or aggregate.version != version - 1:
                aggregate = self.load(aggregate_id, version - 1)
            if aggregate is None:
                log.warning(
                    "golden records: no aggregate %s at version %d", aggregate_id, version - 1
                )
                return None
        event = self.mapper.to_domain_event(notification)
        aggregate = event.mutate(aggregate)
        self._cache[aggregate_id] = aggregate
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return aggregate
