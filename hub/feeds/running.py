"""The feeds of one hub process: per target, its projection (outbox), publisher and delivery
worker, each on a thread of its own, and what GET /v1/projections and /metrics say of them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ProgrammingError
from psycopg.sql import SQL

from domain.values import SourceRef
from hub.contracts.feeds import Delivered, Target, TargetSettings
from hub.errors import ConflictError
from hub.feeds.delivery import Backoff, DeliveryWorker
from hub.feeds.publisher import FeedPublisher
from hub.feeds.registry import active_targets, connector, known_targets
from hub.projecting import _loader, active_generation, switch
from hub.records import to_record
from hub.streams import Streams
from projections.feeds.projection import FeedProjection
from projections.feeds.view import FeedView
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)


def feed_name(target: str) -> str:
    return f"feed.{target}"


def is_feed(name: str) -> bool:
    return name.startswith("feed.") and name[5:] in known_targets()


def feed_view(app: Any, target: str, generation: int | None = None) -> FeedView:
    """A feed's view (the active generation by default), without creating its tables."""
    generation = generation or active_generation(app, feed_name(target))
    return FeedView(app.hub_recorder.datastore, target, generation=generation)


def feed_projection(app: Any, target: Target, view: FeedView) -> FeedProjection:
    return FeedProjection(
        view,
        target,
        mapper=app.mapper,
        load=_loader(app),
        to_record=to_record,
        application_name=app.name,
    )


@dataclass
class FeedLine:
    target: Target
    view: FeedView
    runner: ProjectionRunner
    publisher: FeedPublisher
    settings: TargetSettings | None
    worker: DeliveryWorker | None = None

    def current(self) -> FeedView:
        return self.view


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
    backoff: Backoff = field(default_factory=Backoff)
    lines: dict[str, FeedLine] = field(default_factory=dict)
    _ack_lock: threading.Lock = field(default_factory=threading.Lock)
    _engine: Any = None

    def start(self) -> None:
        for name, target in active_targets(self.env).items():
            view = feed_view(self.app, name)
            view.create_table()
            runner = ProjectionRunner(
                feed_projection(self.app, target, view),
                self.app.hub_recorder,
                conninfo=self.database_url,
            )
            line = FeedLine(target, view, runner, None, connector(name, self.env))  # type: ignore[arg-type]
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
            runner.start()
            line.publisher.start()
            if line.worker is not None:
                line.worker.start()
        # Publish and deliver as soon as the projection has written something.
        for line in self.lines.values():
            _chain(line)

    def stop(self) -> None:
        for line in self.lines.values():
            if line.worker is not None:
                line.worker.stop()
            line.publisher.stop()
            line.runner.stop()
        self.lines = {}

    def nudge(self) -> None:
        for line in self.lines.values():
            line.runner.nudge()

    # Acknowledgement ----------------------------------------------------------------------

    def acknowledge(self, target: str, delivered: Delivered, canonical_id: UUID) -> None:
        """The target's id becomes an xref of the record (idempotent; map-xref's path, so the
        claim that lets ingest find the record by it is written in the same transaction)."""
        tenant = delivered.tenant if delivered.tenant is not None else ""
        if not tenant and self.lines.get(target) and self.lines[target].settings:
            tenant = self.lines[target].settings.tenant  # type: ignore[union-attr]
        ref = SourceRef(target, tenant, delivered.target_type, delivered.target_id)
        for attempt in range(5):
            try:
                with self._ack_lock:
                    if self._engine is None:
                        self._engine = self.make_engine()
                    self._engine.map_xref(ref, canonical_id, actor=f"feed:{target}")
                return
            except ConflictError as exc:
                if "already maps" in str(exc) or attempt == 4:
                    # The target's record is another golden record's: a steward decides.
                    log.warning("feed %s: acknowledgement of %s refused: %s", target, ref, exc)
                    return
                self.app.evict(canonical_id)  # another writer got there first: reload

    # What operators see ------------------------------------------------------------------

    def status(self, head: int) -> list[dict[str, Any]]:
        result = []
        for name in known_targets():
            line = self.lines.get(name)
            view = line.view if line else feed_view(self.app, name)
            try:
                position = (
                    line.runner.projection.position() if line else view.position(self.app.name)
                )
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
                    "error": (
                        line.runner.error
                        or line.publisher.error
                        or (line.worker.error if line.worker else None)
                    )
                    if line
                    else None,
                    "target": name,
                    "connector": line is not None and line.settings is not None,
                    "backlog": backlog,
                    "deliveries": dict(line.worker.outcomes) if line and line.worker else {},
                    "published": line.publisher.published if line else 0,
                    "rebuilding": False,
                }
            )
        return result

    def rebuild(self, name: str) -> dict[str, Any]:
        """Fills the feed's next generation from position zero beside the live one, then
        switches to it. Its outbox starts from the ledger, so nothing the target already has
        is published or delivered again."""
        target = known_targets()[name[5:]]
        generation = active_generation(self.app, name) + 1
        fresh = feed_view(self.app, target.name, generation)
        fresh.drop()  # what an earlier, interrupted rebuild may have left
        fresh.create_table()
        position = ProjectionRunner(
            feed_projection(self.app, target, fresh), self.app.hub_recorder
        ).catch_up()
        old = self.lines.get(target.name)
        if old is not None:
            old.runner.stop()
        switch(self.app, name, generation)
        if old is not None:
            old_view, old.view = old.view, fresh
            old.runner = ProjectionRunner(
                feed_projection(self.app, target, fresh),
                self.app.hub_recorder,
                conninfo=self.database_url,
            )
            old.runner.start()
            _chain(old)
        else:
            old_view = feed_view(self.app, target.name, generation - 1)
        old_view.drop()
        return {"name": name, "generation": generation, "position": position}

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


def _chain(line: FeedLine) -> None:
    """Wakes the publisher and the worker each time the projection advances."""

    def follow() -> None:
        last = line.runner.projection.position()
        while line.runner._thread is not None and line.runner._thread.is_alive():
            with line.runner._advanced:
                line.runner._advanced.wait(1.0)
            position = line.runner.projection.position()
            if position != last:
                last = position
                line.publisher.nudge()
                if line.worker is not None:
                    line.worker.nudge()

    threading.Thread(target=follow, name=f"feed-follow-{line.target.name}", daemon=True).start()
