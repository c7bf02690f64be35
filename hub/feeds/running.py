"""The feeds of one hub process: per target, its projection (outbox), publisher and delivery
worker, each on a thread of its own, and what GET /v1/projections and /metrics say of them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ProgrammingError
from psycopg.sql import SQL, Identifier

from domain.values import SourceRef
from hub.contracts.feeds import Delivered, Target, TargetSettings
from hub.errors import ConflictError
from hub.feeds import assignments
from hub.feeds.assignments import RETIRED
from hub.feeds.cases import duplicate_case
from hub.feeds.delivery import Backoff, DeliveryWorker
from hub.feeds.publisher import FeedPublisher
from hub.feeds.registry import active_targets, connector, known_targets
from hub.projecting import (
    Progress,
    _loader,
    active_generation,
    decoding,
    own_states,
    pages,
    records,
    shared_states,
    switch,
)
from hub.streams import Streams
from projections.feeds.projection import FeedProjection
from projections.feeds.view import FeedView
from projections.runner import ProjectionRunner
from projections.states import SharedStates

log = logging.getLogger(__name__)


def feed_name(target: str) -> str:
    return f"feed.{target}"


def feed_names() -> list[str]:
    return [feed_name(t) for t in known_targets()]


def is_feed(name: str) -> bool:
    return name.startswith("feed.") and name[5:] in known_targets()


def feed_view(app: Any, target: str, generation: int | None = None) -> FeedView:
    """A feed's view (the active generation by default), without creating its tables."""
    generation = generation or active_generation(app, feed_name(target))
    return FeedView(app.hub_recorder.datastore, target, generation=generation)


def feed_projection(
    app: Any,
    target: Target,
    view: FeedView,
    *,
    await_provisioning: bool = False,
    states: SharedStates | None = None,
) -> FeedProjection:
    """A feed's projection; the live ones of a process share the records' states (`states`
    None), a rebuild far behind them is given its own."""
    return FeedProjection(
        view,
        target,
        mapper=decoding(app),
        load=_loader(app),
        to_record=records(app),
        application_name=app.name,
        await_provisioning=await_provisioning,
        states=states or shared_states(app),
    )


def rebuild_feed(
    app: Any,
    name: str,
    progress: Callable[[Progress], None] | None = None,
    *,
    await_provisioning: bool = False,
) -> dict[str, Any]:
    """Fills a feed's next generation from position zero beside the live one, then switches
    to it (processes running the feed follow within a second; the caller drops the old
    generation). Its outbox starts from the ledger, so nothing the target already has is
    published or delivered again. `progress` is told where it stands after each page.
    `await_provisioning` must be what the live feed does (Settings.feeds_await): a won
    engagement's creation waits for its provisioning."""
    target = known_targets()[name[5:]]
    generation = active_generation(app, name) + 1
    fresh = feed_view(app, target.name, generation)
    fresh.drop()  # what an earlier, interrupted rebuild may have left
    fresh.create_table()
    runner = ProjectionRunner(
        feed_projection(
            app,
            target,
            fresh,
            await_provisioning=await_provisioning,
            states=own_states(app),
        ),
        app.hub_recorder,
    )
    state = Progress(name, generation, head=app.hub_recorder.select_head()[0])

    def advanced(position: int, events: int) -> None:
        state.position, state.events = position, state.events + events
        state.head = max(state.head, position)
        if progress is not None:
            progress(state)

    runner.catch_up(progress=advanced)
    # The switch catches the new generation up to the live one under the pointer's lock.
    position = switch(
        app, name, generation - 1, runner, position_of=lambda g: _position(app, target.name, g)
    )
    state.position, state.state = position, "switched"
    if progress is not None:
        progress(state)
    return {"name": name, "generation": generation, "position": position}


def _position(app: Any, target: str, generation: int) -> int | None:
    """A feed generation's position, or None where it has no tables."""
    try:
        return int(feed_view(app, target, generation).position(app.name))
    except ProgrammingError:
        return None


@dataclass
class FeedLine:
    """One target's feed in this process: its projection's runner, publisher and worker, all
    on the generation the database says is live (a rebuild in another process switches it)."""

    target: Target
    view: FeedView
    make_runner: Callable[[FeedView], ProjectionRunner]
    settings: TargetSettings | None
    publisher: FeedPublisher | None = None
    worker: DeliveryWorker | None = None
    runner: ProjectionRunner | None = None
    check_every: float = 1.0
    _checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start_runner(self) -> None:
        self.runner = self.make_runner(self.view)
        self.runner.start()
        _chain(self, self.runner)

    def current(self) -> FeedView:
        """The live generation's view (looked up at most every `check_every` seconds)."""
        now = time.monotonic()
        if now - self._checked > self.check_every:
            self._checked = now
            generation = self.generation()
            if generation != self.view.generation:
                self.follow(generation)
        return self.view

    def generation(self) -> int:
        with self.view.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT generation FROM {} WHERE name = %s").format(
                    Identifier(self.view.datastore.schema, "hub_projections")
                ),
                (feed_name(self.target.name),),
            ).fetchone()
        return self.view.generation if row is None else int(row["generation"])

    def follow(self, generation: int) -> FeedView:
        """Moves this process's feed to another generation (a rebuild switched to it)."""
        with self._lock:
            if generation != self.view.generation:
                if self.runner is not None:
                    self.runner.stop()
                self.view = FeedView(self.view.datastore, self.target.name, generation=generation)
                self.start_runner()
            return self.view

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.publisher is not None:
            self.publisher.stop()
        if self.runner is not None:
            self.runner.stop()


@dataclass
class Feeds:
    app: Any
    database_url: str
    nats_url: str
    streams: Streams
    source: str
    # Makes the IngestEngine acknowledgements go through (map-xref), on the first one.
    make_engine: Callable[[], Any]
    env: Mapping[str, str] | None = None
    # Won engagements wait for quote-to-cash's provisioning (projections/feeds/gate.py).
    await_provisioning: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    lines: dict[str, FeedLine] = field(default_factory=dict)
    # Seconds between looks at which feeds migrations retired (hub/feeds/assignments.py).
    check_every: float = 1.0
    _watcher: threading.Thread | None = None
    _enabled: dict[str, Target] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lines_lock: threading.RLock = field(default_factory=threading.RLock)
    _ack_lock: threading.Lock = field(default_factory=threading.Lock)
    _engines: dict[str, tuple[threading.Lock, Any]] = field(default_factory=dict)

    def start(self) -> None:
        """Starts the feed of each enabled target a migration has not retired, and a watcher
        that stops a feed when a migration (made by any process) retires it, and starts one
        a migration makes active again."""
        # The settings are read once, as every setting of a process is; the watcher follows
        # only what migrations decide.
        self._enabled = active_targets(self.env)
        self.sync()
        if self._watcher is None:
            self._stopping.clear()
            self._watcher = threading.Thread(target=self._watch, name="feed-states", daemon=True)
            self._watcher.start()

    @property
    def running(self) -> bool:
        """Whether this process runs the feeds (`start`)."""
        return self._watcher is not None

    def sync(self) -> None:
        """Runs exactly the feeds the settings enable and no migration retired."""
        retired = assignments.retired(self.app.hub_recorder.datastore)
        with self._lines_lock:
            for name in [n for n in self.lines if n in retired]:
                self.lines.pop(name).stop()
                log.info("feed %s retired by a system migration: stopped", name)
            for name, target in self._enabled.items():
                if name not in retired and name not in self.lines:
                    self._start_line(name, target)

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_every):
            try:
                self.sync()
            except Exception:  # the database went away: keep the feeds as they are, retry
                log.warning("feed state watcher failed; retrying", exc_info=True)

    def _start_line(self, name: str, target: Target) -> None:
        view = feed_view(self.app, name)
        view.create_table()
        line = FeedLine(
            target,
            view,
            lambda v, target=target: ProjectionRunner(
                feed_projection(self.app, target, v, await_provisioning=self.await_provisioning),
                pages(self.app),
                conninfo=self.database_url,
            ),
            connector(name, self.env),
        )
        line.publisher = FeedPublisher(
            name, line.current, self.nats_url, self.streams, source=self.source
        )
        if line.settings is not None:
            line.worker = DeliveryWorker(
                self.app,
                target,
                line.settings,
                line.current,
                database_url=self.database_url,
                acknowledge=self.acknowledge,
                backoff=self.backoff,
            )
        self.lines[name] = line
        line.start_runner()
        line.publisher.start()
        if line.worker is not None:
            line.worker.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
        with self._lines_lock:
            for line in self.lines.values():
                line.stop()
            self.lines = {}

    def nudge(self) -> None:
        for line in list(self.lines.values()):  # (the watcher may retire one meanwhile)
            if line.runner is not None:
                line.runner.nudge()

    # Acknowledgement ----------------------------------------------------------------------

    def acknowledge(self, target: str, delivered: Delivered, canonical_id: UUID) -> None:
        """The target's id becomes an xref of the record (idempotent; map-xref's path, so the
        claim that lets ingest find the record by it is written in the same transaction)."""
        tenant = delivered.tenant if delivered.tenant is not None else ""
        if not tenant and self.lines.get(target) and self.lines[target].settings:
            tenant = self.lines[target].settings.tenant  # type: ignore[union-attr]
        ref = SourceRef(target, tenant, delivered.target_type, delivered.target_id)
        lock, engine = self._engine_of(target)
        try:
            with lock:  # a collision with another writer is retried by map_xref itself
                engine.map_xref(ref, canonical_id, actor=f"feed:{target}")
        except ConflictError as exc:
            if "already maps" not in str(exc):
                raise
            # The target's record is another golden record's (the writer adopted one the
            # hub knew from the target itself): likely one client twice.
            duplicate_case(self.app, target, ref, canonical_id, str(exc))

    def _engine_of(self, target: str) -> tuple[threading.Lock, Any]:
        """The ingest engine that records one target's acknowledgements. An engine keeps
        working state and is used by one thread at a time; one per target lets the targets'
        deliveries acknowledge side by side (one shared engine made them queue, a quarter of
        a NetSuite delivery's time after a demo load)."""
        with self._ack_lock:
            found = self._engines.get(target)
            if found is None:
                found = self._engines[target] = (threading.Lock(), self.make_engine())
            return found

    # What operators see ------------------------------------------------------------------

    def status(self, head: int) -> list[dict[str, Any]]:
        result = []
        migrated = assignments.states(self.app.hub_recorder.datastore)
        for name in known_targets():
            line = self.lines.get(name)
            view = line.current() if line else feed_view(self.app, name)
            runner = line.runner if line else None
            try:
                position = runner.projection.position() if runner else view.position(self.app.name)
                backlog = view.backlog()
            except (ProgrammingError, psycopg.errors.UndefinedTable):  # never run here yet
                position, backlog = 0, {}
            result.append(
                {
                    "name": feed_name(name),
                    "generation": view.generation,
                    "position": position,
                    "head": head,
                    "lag": head - position,
                    "running": line is not None,
                    "error": _error(line),
                    "target": name,
                    "connector": line is not None and line.settings is not None,
                    "backlog": backlog,
                    "deliveries": dict(line.worker.outcomes) if line and line.worker else {},
                    "published": line.publisher.published if line and line.publisher else 0,
                    "rebuilding": False,
                    # retired: a system migration moved its category to another system
                    "state": "retired"
                    if name in migrated and migrated[name][0] == RETIRED
                    else "live",
                }
            )
            if name in migrated:  # the migration that retired it, or made it the category's
                result[-1]["migration"] = migrated[name][1].as_json()
        return result

    def rebuild(self, name: str) -> dict[str, Any]:
        """Rebuilds a feed beside the live one and switches to it (see `rebuild_feed`); this
        process's feed moves to the new generation at once."""
        done = rebuild_feed(self.app, name, await_provisioning=self.await_provisioning)
        line = self.lines.get(name[5:])
        if line is not None:
            line.follow(done["generation"])
        feed_view(self.app, name[5:], done["generation"] - 1).drop()
        return done

    def requeue(self, case_id: UUID) -> bool:
        """Puts the item a feed case is about back in its target's queue (the case resolves
        when it is delivered); False if no feed item has that case."""
        for name in known_targets():
            view = feed_view(self.app, name)
            try:
                with view.datastore.transaction(commit=True) as curs:
                    curs.execute(
                        SQL(
                            "UPDATE {} SET state = 'pending', attempts = 0, "
                            "next_attempt_at = now(), last_error = NULL WHERE case_id = %s "
                            "AND state = 'failed'"
                        ).format(view.outbox),
                        (case_id,),
                    )
                    found = curs.rowcount
            except (ProgrammingError, psycopg.errors.UndefinedTable):
                continue
            if found:
                line = self.lines.get(name)
                if line is not None and line.worker is not None:
                    line.worker.nudge()
                return True
        return False


def _error(line: FeedLine | None) -> str | None:
    if line is None:
        return None
    parts = (line.runner, line.publisher, line.worker)
    return next((p.error for p in parts if p is not None and p.error), None)


def _chain(line: FeedLine, runner: ProjectionRunner) -> None:
    """Wakes the publisher and the worker each time the projection advances."""

    def follow() -> None:
        last = runner.projection.position()
        while runner._thread is not None and runner._thread.is_alive():
            with runner._advanced:
                # Looked at under the condition's lock, which the runner notifies under: a
                # page committed while the publisher was being nudged is not missed.
                if runner.projection.position() == last:
                    runner._advanced.wait(1.0)
            position = runner.projection.position()
            if position != last:
                last = position
                if line.publisher is not None:
                    line.publisher.nudge()
                if line.worker is not None:
                    line.worker.nudge()

    threading.Thread(target=follow, name=f"feed-follow-{line.target.name}", daemon=True).start()
