"""Wiring projections to the application: views by generation, runners, and rebuilds.

A rebuild fills the next generation from position zero beside the live one; when it has
caught up, the generation pointer moves (one row), and the old generation is dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import ProgrammingError
from psycopg.sql import SQL, Identifier

from hub.application import HubApplication
from hub.generations import (
    CHANNEL,
    Generations,
    ensure_pointer,
    fence,
    pointer_table,
    rebuild_lock_key,
)
from hub.readiness import entities
from hub.readiness.index import ReadinessIndex
from hub.readiness.process import BillingReadinessProcess
from hub.records import to_record
from hub.relay.relay import EventRelay
from hub.relay.tracking import stored_position
from projections.decoded import SharedDecoding
from projections.exceptions.projection import ExceptionsProjection
from projections.exceptions.view import ExceptionsView
from projections.golden_records.projection import GoldenRecordsProjection
from projections.golden_records.view import GoldenRecordsView
from projections.metrics.projection import MetricsProjection
from projections.metrics.view import MetricsView
from projections.runner import Projection, ProjectionRunner, create_tables
from projections.serialised import SharedRecords
from projections.shared_pages import SharedPages
from projections.states import LoadMany, SharedStates

GOLDEN = "golden_records"
EXCEPTIONS = "exceptions"
METRICS = "metrics"
RELAY = "relay"
READINESS = "billing_readiness"  # a process manager: it records as well as reads
# Seconds between a switch and dropping the old generation: every process's watcher follows
# a switch at once (NOTIFY) or within its poll second; reads in flight finish first.
DROP_GRACE = 3.0
# Events per page (and transaction) of a rebuild.
REBUILD_PAGE = 2000


# Reentrant: making one shared object may ask for another (the states use the decoding).
_shared_lock = threading.RLock()


def _shared(app: HubApplication, attribute: str, make: Callable[[], Any]) -> Any:
    """One object per application (so per process) for all its live projections."""
    with _shared_lock:
        found = getattr(app, attribute, None)
        if found is None:
            found = make()
            setattr(app, attribute, found)
        return found


def decoding(app: HubApplication) -> SharedDecoding:
    """The mapper the projections of this process share: each event decoded once for all."""
    return _shared(app, "_shared_decoding", lambda: SharedDecoding(app.mapper))


def records(app: HubApplication) -> SharedRecords:
    """The golden-record serialiser the projections of this process share: each record at
    each version serialised once for all."""
    return _shared(app, "_shared_records", lambda: SharedRecords(to_record))


def shared_states(app: HubApplication) -> SharedStates:
    """The records' states after each event that the live projections of this process
    share: each event applied once for all."""
    return _shared(app, "_shared_states", lambda: own_states(app))


def own_states(app: HubApplication) -> SharedStates:
    """Records' states for a projection far behind the live ones (a rebuild, a replay):
    shared with them, it would push out of memory what they are about to read."""
    return SharedStates(decoding(app), _loader(app), _many_loader(app))


def pages(app: HubApplication) -> SharedPages:
    """The log as the live projections of this process read it: each page once for all."""
    return _shared(app, "_shared_pages", lambda: SharedPages(app.hub_recorder))


def _loader(app: HubApplication) -> Callable[[UUID, int], Any]:
    def load(aggregate_id: UUID, version: int) -> Any:
        try:
            return app.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None

    return load


def _many_loader(app: HubApplication) -> LoadMany:
    """Loads several aggregates, each at the version asked, from one query of their events
    (those it finds at that version)."""

    def load_many(wanted: Mapping[UUID, int]) -> dict[UUID, Any]:
        built = app.replayed(wanted)
        return {i: a for i, a in built.items() if a is not None and a.version == wanted[i]}

    return load_many


@dataclass(frozen=True)
class Kind:
    """How to make one projection's view and projection for a generation."""

    view: Callable[[HubApplication, int], Any]
    # The application, the view, and the records' states it may read (shared by the live
    # projections of the process, a rebuild's own: see own_states).
    projection: Callable[[HubApplication, Any, SharedStates], Projection]


KINDS: dict[str, Kind] = {
    GOLDEN: Kind(
        view=lambda app, g: GoldenRecordsView(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view, states: GoldenRecordsProjection(
            view, states=states, to_record=records(app), application_name=app.name
        ),
    ),
    EXCEPTIONS: Kind(
        view=lambda app, g: ExceptionsView(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view, _: ExceptionsProjection(
            view, mapper=app.mapper, load=_loader(app), application_name=app.name
        ),
    ),
    METRICS: Kind(
        view=lambda app, g: MetricsView(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view, states: MetricsProjection(
            view,
            mapper=decoding(app),
            load=_loader(app),
            application_name=app.name,
            states=states,
        ),
    ),
    READINESS: Kind(
        view=lambda app, g: ReadinessIndex(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view, _: BillingReadinessProcess(view, app, entities.countries),
    ),
}


def _table(app: HubApplication) -> Identifier:
    return pointer_table(app.hub_recorder.datastore)


def active_generation(app: HubApplication, name: str) -> int:
    return ensure_pointer(app.hub_recorder.datastore, name)


def new_view(app: HubApplication, name: str, generation: int) -> Any:
    """A generation's view, its writes fenced against a switch (no DDL: see view_of)."""
    return fence(KINDS[name].view(app, generation), name)


def view_of(app: HubApplication, name: str, generation: int | None = None) -> Any:
    """A projection's view (the active generation by default), its tables created."""
    view = new_view(app, name, generation or active_generation(app, name))
    create_tables(view.create_table)
    return view


class _Follower:
    """A runner's way to the live generation: when a switch (here or in another process)
    retires the generation it writes, it carries on in the new one from that one's position."""

    def __init__(
        self, app: HubApplication, name: str, generations: Generations, generation: int
    ) -> None:
        self.app, self.name, self.generations, self.generation = app, name, generations, generation

    def __call__(self, projection: Projection, refresh: bool) -> Projection | None:
        if refresh:  # a page was refused: don't wait for the watcher to notice the switch
            self.generations.refresh()
        active = self.generations.current(self.name)
        if active <= self.generation:
            return None
        self.generation = active
        view = new_view(self.app, self.name, active)
        return KINDS[self.name].projection(self.app, view, shared_states(self.app))


def runner_of(
    app: HubApplication,
    name: str,
    view: Any,
    conninfo: str | None,
    generations: Generations | None = None,
) -> ProjectionRunner:
    follow = None if generations is None else _Follower(app, name, generations, view.generation)
    return ProjectionRunner(
        KINDS[name].projection(app, view, shared_states(app)),
        pages(app),
        conninfo=conninfo,
        follow=follow,
    )


def golden_projection(app: HubApplication, view: GoldenRecordsView) -> Any:
    return KINDS[GOLDEN].projection(app, view, shared_states(app))


class RebuildRunning(Exception):
    """Another rebuild of the projection is running (in this process or another)."""


@dataclass
class Progress:
    """Where a rebuild stands, for a progress bar and GET /v1/projections."""

    name: str
    generation: int
    head: int
    position: int = 0
    events: int = 0
    started: float = field(default_factory=time.monotonic)
    state: str = "rebuilding"

    @property
    def rate(self) -> float:
        """Events per second since the rebuild started."""
        elapsed = time.monotonic() - self.started
        return self.events / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds until the rebuild reaches the head it started towards."""
        rate = self.rate
        return max(self.head - self.position, 0) / rate if rate else None


def rebuild(
    app: HubApplication,
    name: str,
    *,
    progress: Callable[[Progress], None] | None = None,
    generations: Generations | None = None,
    grace: float = DROP_GRACE,
) -> Progress:
    """Rebuilds a projection blue/green: fills the next generation from position zero beside
    the live one, catches up, switches reads to it atomically, then drops the old one after
    `grace` seconds (time for every process's watcher to follow the switch).

    One rebuild of a projection runs at a time across processes (an advisory lock)."""
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as lock:
        key = rebuild_lock_key(name)
        if not lock.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,)).fetchone()["ok"]:
            raise RebuildRunning(f"{name} is being rebuilt already")
        try:
            return _rebuild(app, name, progress, generations, grace)
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (key,))


def _rebuild(
    app: HubApplication,
    name: str,
    progress: Callable[[Progress], None] | None,
    generations: Generations | None,
    grace: float,
) -> Progress:
    old = active_generation(app, name)
    state = Progress(name, old + 1, head=app.hub_recorder.select_head()[0])
    fresh = KINDS[name].view(app, old + 1)
    fresh.drop()  # what an earlier, interrupted rebuild may have left
    bulk = getattr(fresh, "create_tables_without_indexes", None)
    create_tables(bulk or fresh.create_table)  # a view that can builds its indexes after
    fence(fresh, name)
    runner = ProjectionRunner(
        KINDS[name].projection(app, fresh, own_states(app)), app.hub_recorder, page=REBUILD_PAGE
    )

    def advanced(position: int, events: int) -> None:
        state.position, state.events = position, state.events + events
        state.head = max(state.head, position)
        if progress is not None:
            progress(state)

    runner.catch_up(progress=advanced, prefetch=True)
    if bulk is not None:
        create_tables(fresh.create_table)  # its indexes, in one pass over the bulk load
    state.state = "caught up"
    state.head = app.hub_recorder.select_head()[0]
    runner.catch_up(progress=advanced)  # what was recorded meanwhile
    if progress is not None:
        progress(state)
    state.position = switch(app, name, old, runner, advanced)
    state.state = "switched"
    if generations is not None:
        generations.refresh()
    if progress is not None:
        progress(state)
    if grace > 0:
        time.sleep(grace)
    KINDS[name].view(app, old).drop()
    state.state = "live"
    return state


def switch(
    app: HubApplication,
    name: str,
    old: int,
    runner: ProjectionRunner,
    progress: Callable[[int, int], None] | None = None,
    position_of: Callable[[int], int | None] | None = None,
) -> int:
    """Makes the rebuilt generation the live one; returns its position.

    Under the pointer row's update lock no page commits into the old generation (its writes
    are fenced), so the new one is caught up to at least the old one's position before the
    pointer moves: no read, here or in another process, ever goes backwards."""
    datastore = app.hub_recorder.datastore
    table = _table(app)
    with datastore.transaction(commit=True) as curs:
        row = curs.execute(
            SQL("SELECT generation FROM {} WHERE name = %s FOR UPDATE").format(table), (name,)
        ).fetchone()
        if row is None or row["generation"] != old:
            raise RebuildRunning(f"{name} was switched by another rebuild meanwhile")
        # (No tables for the live generation where no hub ever ran its projections.)
        # (position_of: a generation's position, for projections outside KINDS: the feeds.)
        live_position = (position_of or (lambda g: _position_of(app, name, g)))(old) or 0
        # The rebuilt generation writes without this lock (it is newer than the pointer).
        position = runner.catch_up(until=live_position, progress=progress)
        position = max(position, runner.projection.position())
        curs.execute(
            SQL("UPDATE {} SET generation = %s, switched_at = now() WHERE name = %s").format(table),
            (old + 1, name),
        )
        curs.execute("SELECT pg_notify(%s, %s)", (CHANNEL, name))
    return position


def rebuild_running(app: HubApplication, name: str) -> bool:
    """Whether a rebuild of the projection runs now, in any process."""
    key = rebuild_lock_key(name)
    with app.hub_recorder.datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = %s AND objid = %s AND objsubid = 1",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
    return bool(row["n"])


def _lag_seconds(app: HubApplication, position: int) -> float:
    """The age of the oldest event the projection has not processed (0 when caught up)."""
    recorder = app.hub_recorder
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(
            SQL(
                "SELECT extract(epoch FROM now() - recorded_at)::float8 AS age FROM {} "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT 1"
            ).format(Identifier(recorder.datastore.schema, recorder.events_table_name)),
            (position,),
            prepare=True,
        ).fetchone()
    return 0.0 if row is None else max(float(row["age"]), 0.0)


def _position_of(app: HubApplication, name: str, generation: int) -> int | None:
    """A generation's position, or None where it has no tables (yet, or any more)."""
    try:
        return int(KINDS[name].view(app, generation).position(app.name))
    except ProgrammingError:
        return None


def status(
    app: HubApplication,
    runners: dict[str, ProjectionRunner],
    rebuilds: dict[str, Progress] | None = None,
) -> list[dict[str, Any]]:
    """Each projection's live generation, position, lag (events and seconds) and state:
    live, rebuilding (the next generation filling beside it) or caught up (about to switch).
    Read from the database, so any process answers for projections run anywhere."""
    head = app.hub_recorder.select_head()[0]
    result = []
    for name in KINDS:
        runner = runners.get(name)
        generation, position = _active_position(app, name)
        item: dict[str, Any] = {
            "name": name,
            "generation": generation,
            "position": position,
            "head": head,
            "lag": head - position,
            "lag_seconds": round(_lag_seconds(app, position), 3),
            "state": "live",
            "running": runner is not None,
            "error": runner.error if runner else None,
        }
        fresh = _position_of(app, name, generation + 1) if rebuild_running(app, name) else None
        # (No next generation while a rebuild runs: it has switched, and drops the old one.)
        if fresh is not None:
            mine = (rebuilds or {}).get(name)
            item["state"] = "caught up" if fresh >= head else "rebuilding"
            item["rebuild"] = {
                "generation": generation + 1,
                "position": fresh,
                "lag": head - fresh,
                "rate": round(mine.rate, 1) if mine else None,
                "eta_seconds": round(mine.eta, 1) if mine and mine.eta is not None else None,
            }
        result.append(item)
    return result


def _active_position(app: HubApplication, name: str) -> tuple[int, int]:
    """The active generation and its position, read where the projection runs elsewhere."""
    for _ in range(3):
        generation = active_generation(app, name)
        # No DDL here: opening a view creates its tables, which would lock them against
        # the projection's writes and bring back a generation a rebuild has just dropped.
        position = _position_of(app, name, generation)
        if position is not None:
            return generation, position
        # a rebuild switched generations and dropped this one meanwhile
    generation = active_generation(app, name)
    return generation, view_of(app, name, generation).position(app.name)


def relay_status(
    app: HubApplication, relay: EventRelay | None, stream: str, head: int | None = None
) -> dict[str, Any]:
    """Where the relay to the events stream stands: the position JetStream acknowledged (this
    process's relay, or the one recorded by whichever process holds the lease) and the lag."""
    head = app.hub_recorder.select_head()[0] if head is None else head
    position = relay.position() if relay is not None else None
    if position is None:
        with app.hub_recorder.datastore.get_connection() as conn:
            position = stored_position(conn, stream, app.hub_recorder.datastore.schema)
    return {
        "name": RELAY,
        "generation": 1,
        "position": position,
        "head": head,
        "lag": head - position,
        "running": relay is not None,
        "state": relay.state if relay is not None else "not in this process",
        "stream": stream,
        "error": relay.error if relay is not None else None,
    }


class ProjectionMetrics:
    """Prometheus gauges read at scrape time, from the database (so any process reports
    projections run anywhere): each projection's live generation, and per projection and the
    relay its lag in events and the age of the oldest event it has not processed."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        hub = self.hub
        items = status(hub.app, hub.runners, hub.rebuild_progress)
        relay = relay_status(hub.app, hub.relay, hub.streams.events, items[0]["head"])
        relay["lag_seconds"] = _lag_seconds(hub.app, relay["position"])
        families = {
            "generation": GaugeMetricFamily(
                "pshub_projection_generation",
                "The generation of each projection that serves reads",
                labels=["projection"],
            ),
            "lag": GaugeMetricFamily(
                "pshub_projection_lag_events",
                "Events recorded that each projection (and the relay) has not processed",
                labels=["projection"],
            ),
            "lag_seconds": GaugeMetricFamily(
                "pshub_projection_lag_seconds",
                "Age of the oldest event each projection (and the relay) has not processed",
                labels=["projection"],
            ),
            "rebuilding": GaugeMetricFamily(
                "pshub_projection_rebuilding",
                "1 while a rebuild of the projection runs (in any process)",
                labels=["projection"],
            ),
        }
        for item in [*items, relay]:
            for key, family in families.items():
                if key == "rebuilding":
                    family.add_metric(
                        [item["name"]], 0 if item.get("state", "live") == "live" else 1
                    )
                elif key in item:
                    family.add_metric([item["name"]], float(item[key]))
        return list(families.values())
