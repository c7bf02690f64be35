"""SharedStates: each canonical aggregate's state after each event built once per process;
each state its own aggregate, unchanged by the events after it."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, Notification

from domain.values import SourceRef
from hub.application import HubApplication
from projections.states import SharedStates
from tests.unit.domain.test_time_entry import make_entry


def _log() -> tuple[Mapper[Any], list[Notification]]:
    """A time entry recorded, submitted, approved and given an xref, as the log has it."""
    mapper = HubApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    entry = make_entry()
    entry.submit()
    entry.approve("lead")
    entry.add_xref(SourceRef("harvest", "t1", "TimeEntry", "T1"))
    notifications = [
        Notification(id=n + 1, **mapper.to_stored_event(event).__dict__)
        for n, event in enumerate(entry.collect_events())
    ]
    return mapper, notifications


def test_each_event_is_applied_once_and_each_state_stays_as_it_was() -> None:
    mapper, log = _log()
    loads: list[Any] = []
    states = SharedStates(mapper, lambda i, v: loads.append((i, v)))
    built = [states.after(n) for n in log]
    # Another projection asks for the same states: the same objects, nothing applied again.
    again = [states.after(n) for n in log]
    assert all(a is b for a, b in zip(built, again, strict=True))
    approved, linked = built[2:]
    assert [s.version for s in built] == [1, 2, 3, 4]
    # Each state as it stood after its event: the later events changed none of them.
    assert [str(s.status) for s in built] == ["draft", "submitted", "approved", "approved"]
    assert approved.xrefs == [] and [x.id for x in linked.xrefs] == ["T1"]
    assert loads == []


def test_a_state_not_held_is_read_from_the_store_once_then_shared() -> None:
    mapper, log = _log()
    stored: dict[int, Any] = {}
    replayed = None
    for n in log[:3]:
        replayed = mapper.to_domain_event(n).mutate(replayed)
        stored[replayed.version] = replayed
    loads: list[int] = []

    def load(aggregate_id: Any, version: int) -> Any:
        loads.append(version)
        return stored.get(version)

    states = SharedStates(mapper, load)
    # A record last changed long ago: its state before the event is read from the store.
    linked = states.after(log[3])
    assert (linked.version, [x.id for x in linked.xrefs], loads) == (4, ["T1"], [3])
    assert stored[3].xrefs == [], "the state read was changed"
    assert states.after(log[3]) is linked and loads == [3]
    # The store has no state before it: none.
    assert SharedStates(mapper, lambda i, v: None).after(log[1]) is None
