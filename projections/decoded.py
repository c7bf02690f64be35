"""Each event of the log decoded once per process, for all the projections that follow it.

Every projection in a process (the golden records, the metrics, five feeds, ...) reads the same
pages of the log and turned each stored event into its domain event on its own: parsing the
stored JSON and reviving its values was the largest part of a feed's CPU (py-spy, ops/bench/
feeds.py), paid once per projection. A domain event is immutable, and the canonical aggregates
copy what they keep of one (`list(xrefs)`, `[*self.lines, line]`), so one decoded event can
mutate any number of copies of its aggregate. Events of other aggregates (exception cases,
provisionings) are decoded afresh each time: their aggregates keep an event's lists and dicts
and grow them in place (a case's history).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from domain.base import CanonicalAggregate


@cache
def shareable(topic: str) -> bool:
    """Whether an event's topic is of a canonical aggregate (see the module's docstring)."""
    try:
        cls = resolve_topic(topic.rpartition(".")[0])
    except Exception:
        return False
    return isinstance(cls, type) and issubclass(cls, CanonicalAggregate)


class SharedDecoding:
    """A Mapper for projections: `to_domain_event` of a notification (a stored event with its
    log position) answers from the events this process decoded last, in log order."""

    def __init__(self, mapper: Mapper[Any], size: int = 20_000) -> None:
        self.mapper = mapper
        # Projections of one process follow the log close together (a rebuild far behind
        # the others only decodes afresh), so the latest positions are what is asked for.
        self.size = size
        self._events: OrderedDict[int, DomainEventProtocol[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.mapper, name)  # to_stored_event, cipher, ...: the mapper's own

    def to_domain_event(self, stored: StoredEvent) -> DomainEventProtocol[Any]:
        position = getattr(stored, "id", None)
        if position is None or not shareable(stored.topic):
            return self.mapper.to_domain_event(stored)
        with self._lock:
            event = self._events.get(position)
        if event is None:
            # Decoded outside the lock: two threads may both decode one event, which is
            # harmless (the same immutable value), and neither waits on the other's work.
            event = self.mapper.to_domain_event(stored)
            with self._lock:
                self._events[position] = event
                if len(self._events) > self.size:
                    self._events.popitem(last=False)
        return event
