"""Wiring projections to the application: views by generation, runners, and rebuilds.

A rebuild fills the next generation from position zero beside the live one; when it has
caught up, the generation pointer moves (one row), and the old generation is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import ProgrammingError
from psycopg.sql import SQL, Identifier

from hub.application import HubApplication
from hub.readiness import entities
from hub.readiness.index import ReadinessIndex
from hub.readiness.process import BillingReadinessProcess
from hub.records import to_record
from hub.relay.relay import EventRelay
from hub.relay.tracking import stored_position
from projections.exceptions.projection import ExceptionsProjection
from projections.exceptions.view import ExceptionsView
from projections.golden_records.projection import GoldenRecordsProjection
from projections.golden_records.view import GoldenRecordsView
from projections.metrics.projection import MetricsProjection
from projections.metrics.view import MetricsView
from projections.runner import Projection, ProjectionRunner, create_tables

GOLDEN = "golden_records"
EXCEPTIONS = "exceptions"
METRICS = "metrics"
RELAY = "relay"
READINESS = "billing_readiness"  # a process manager: it records as well as reads


def _loader(app: HubApplication) -> Callable[[UUID, int], Any]:
    def load(aggregate_id: UUID, version: int) -> Any:
        try:
            return app.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None

    return load


@dataclass(frozen=True)
class Kind:
    """How to make one projection's view and projection for a generation."""

    view: Callable[[HubApplication, int], Any]
    projection: Callable[[HubApplication, Any], Projection]


KINDS: dict[str, Kind] = {
    GOLDEN: Kind(
        view=lambda app, g: GoldenRecordsView(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view: GoldenRecordsProjection(
            view,
            mapper=app.mapper,
            load=_loader(app),
            to_record=to_record,
            application_name=app.name,
        ),
    ),
    EXCEPTIONS: Kind(
        view=lambda app, g: ExceptionsView(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view: ExceptionsProjection(
            view, mapper=app.mapper, load=_loader(app), application_name=app.name
        ),
    ),
    METRICS: Kind(
        view=lambda app, g: MetricsView(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view: MetricsProjection(
            view, mapper=app.mapper, load=_loader(app), application_name=app.name
        ),
    ),
    READINESS: Kind(
        view=lambda app, g: ReadinessIndex(app.hub_recorder.datastore, generation=g),
        projection=lambda app, view: BillingReadinessProcess(view, app, entities.countries),
    ),
}


def _table(app: HubApplication) -> Identifier:
    return Identifier(app.hub_recorder.datastore.schema, "hub_projections")


def active_generation(app: HubApplication, name: str) -> int:
    with app.hub_recorder.datastore.get_connection() as conn:
        conn.execute(
            SQL(
                "INSERT INTO {} (name, generation) VALUES (%s, 1) ON CONFLICT (name) DO NOTHING"
            ).format(_table(app)),
            (name,),
        )
        row = conn.execute(
            SQL("SELECT generation FROM {} WHERE name = %s").format(_table(app)), (name,)
        ).fetchone()
    return int(row["generation"])


def view_of(app: HubApplication, name: str, generation: int | None = None) -> Any:
    """A projection's view (the active generation by default), its tables created."""
    view = KINDS[name].view(app, generation or active_generation(app, name))
    create_tables(view.create_table)
    return view


def runner_of(app: HubApplication, name: str, view: Any, conninfo: str | None) -> ProjectionRunner:
    return ProjectionRunner(KINDS[name].projection(app, view), app.hub_recorder, conninfo=conninfo)


def golden_projection(app: HubApplication, view: GoldenRecordsView) -> Any:
    return KINDS[GOLDEN].projection(app, view)


def rebuild(app: HubApplication, name: str) -> tuple[Any, int]:
    """Fills the next generation from position zero to the head; returns it and its position.

    The live generation keeps serving meanwhile; `switch` makes the new one live.
    """
    generation = active_generation(app, name) + 1
    fresh = KINDS[name].view(app, generation)
    fresh.drop()  # what an earlier, interrupted rebuild may have left
    create_tables(fresh.create_table)
    runner = ProjectionRunner(KINDS[name].projection(app, fresh), app.hub_recorder)
    return fresh, runner.catch_up()


def switch(app: HubApplication, name: str, generation: int) -> None:
    with app.hub_recorder.datastore.get_connection() as conn:
        conn.execute(
            SQL("UPDATE {} SET generation = %s, switched_at = now() WHERE name = %s").format(
                _table(app)
            ),
            (generation, name),
        )


def status(app: HubApplication, runners: dict[str, ProjectionRunner]) -> list[dict[str, Any]]:
    """Each projection's generation, position, the head of the log, and its lag."""
    head = app.hub_recorder.select_head()[0]
    result = []
    for name in KINDS:
        runner = runners.get(name)
        generation, position = (
            (active_generation(app, name), runner.projection.position())
            if runner
            else _active_position(app, name)
        )
        result.append(
            {
                "name": name,
                "generation": generation,
                "position": position,
                "head": head,
                "lag": head - position,
                "running": runner is not None,
                "error": runner.error if runner else None,
            }
        )
    return result


def _active_position(app: HubApplication, name: str) -> tuple[int, int]:
    """The active generation and its position, read where the projection runs elsewhere."""
    for _ in range(3):
        generation = active_generation(app, name)
        try:
            # No DDL here: opening a view creates its tables, which would lock them against
            # the projection's writes and bring back a generation a rebuild has just dropped.
            return generation, KINDS[name].view(app, generation).position(app.name)
        except ProgrammingError:
            continue  # a rebuild switched generations and dropped this one meanwhile
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
