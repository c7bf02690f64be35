"""Each canonical aggregate as it stands after each event of the log, built once per process
for every projection that follows it.

Each feed kept its own copy of every record it follows and applied each event to it: a time
entry's approval was read from the store and applied three times in a feeds worker (NetSuite,
QuickBooks and Xero), a third of its CPU (py-spy --gil, ops/bench/feeds.py). The state of an
aggregate after one event is the same for every projection (events are immutable and applied
in order), so it is built once and kept by (aggregate id, version). Each state is an aggregate
of its own: the event is applied to a shallow copy of the state before it. That is safe because
canonical aggregates never change a value they hold in place, they assign a new one
(`self.xrefs = [*self.xrefs, ref]`; projections/decoded.py relies on the same), so a state
shares its unchanged values with the one before and none changes under a reader.
What this returns is shared: never change it.

Events of other aggregates (exception cases, provisionings) are not kept here: those grow
their lists and dicts in place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from projections.decoded import shareable

# Loads an aggregate as it was at a version (None if it does not exist).
Loader = Callable[[UUID, int], Any]
# Loads several aggregates, each at the version asked (those it finds), in one query.
LoadMany = Callable[[Mapping[UUID, int]], dict[UUID, Any]]


class SharedStates:
    """The states of canonical aggregates by (id, version), the latest kept."""

    def __init__(
        self,
        mapper: Mapper[UUID],
        load: Loader,
        load_many: LoadMany | None = None,
        size: int = 50_000,
    ) -> None:
        self.mapper = mapper
        self.load = load
        self.load_many = load_many
        # The projections of a process follow the log close together; a state shares most
        # of its values with the one before, so one is little more than its own dict.
        self.size = size
        self._states: OrderedDict[tuple[UUID, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def prepare(
        self,
        notifications: Sequence[Notification],
        skip: Callable[[Notification], bool] | None = None,
    ) -> None:
        """Reads in one query the aggregates the page changes (unless `skip`) whose state
        before it is not held: updates of records last changed long ago (a week's time
        approved at once) would otherwise be read one query per event."""
        if self.load_many is None:
            return
        wanted: dict[UUID, int] = {}
        seen: set[UUID] = set()
        with self._lock:
            for notification in notifications:
                aggregate_id, version = notification.originator_id, notification.originator_version
                if aggregate_id in seen:
                    continue
                seen.add(aggregate_id)
                if version == 1 or not shareable(notification.topic):
                    continue
                if skip is not None and skip(notification):
                    continue
                held = self._states
                if (aggregate_id, version - 1) not in held and (aggregate_id, version) not in held:
                    wanted[aggregate_id] = version - 1
        if len(wanted) > 1:  # one alone is read when it is reached
            loaded = self.load_many(wanted)
            with self._lock:
                for aggregate_id, aggregate in loaded.items():
                    self._keep((aggregate_id, aggregate.version), aggregate)

    def after(self, notification: Notification) -> Any:
        """The aggregate as it stands after the event (never change it), or None when the
        store holds no state before it. Only for events of canonical aggregates (`shareable`)."""
        aggregate_id, version = notification.originator_id, notification.originator_version
        with self._lock:
            found = self._states.get((aggregate_id, version))
            before = None if version == 1 else self._states.get((aggregate_id, version - 1))
        if found is not None:
            return found
        if version > 1 and before is None:
            before = self.load(aggregate_id, version - 1)
            if before is None:
                return None
        # Built outside the lock: two threads may both build one state, which is harmless
        # (equal states), and neither waits on the other's work.
        event = self.mapper.to_domain_event(notification)
        state = event.mutate(None if before is None else _copy(before))
        with self._lock:
            self._keep((aggregate_id, version), state)
        return state

    def _keep(self, key: tuple[UUID, int], state: Any) -> None:
        self._states[key] = state
        self._states.move_to_end(key)
        if len(self._states) > self.size:
            self._states.popitem(last=False)


def _copy(aggregate: Any) -> Any:
    """A shallow copy, for the next event to be applied to (see the module's docstring)."""
    clone = object.__new__(type(aggregate))
    clone.__dict__.update(aggregate.__dict__)
    return clone
