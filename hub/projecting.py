"""Wiring projections to the application: which generation serves reads, and runners."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from psycopg.sql import SQL, Identifier

from hub.application import HubApplication
from hub.records import to_record
from projections.golden_records.projection import GoldenRecordsProjection
from projections.golden_records.view import GoldenRecordsView
from projections.runner import ProjectionRunner

GOLDEN = "golden_records"


def active_generation(app: HubApplication, name: str) -> int:
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        conn.execute(SQL("INSERT INTO {} (name, generation) VALUES (%s, 1) "
                         "ON CONFLICT (name) DO NOTHING").format(
            Identifier(datastore.schema, "hub_projections")), (name,))
        row = conn.execute(SQL("SELECT generation FROM {} WHERE name = %s").format(
            Identifier(datastore.schema, "hub_projections")), (name,)).fetchone()
    return int(row["generation"])


def golden_view(app: HubApplication, generation: int | None = None) -> GoldenRecordsView:
    """The golden-records view of a generation (the active one by default), tables created."""
    view = GoldenRecordsView(app.hub_recorder.datastore,
                             generation=generation or active_generation(app, GOLDEN))
    view.create_table()
    return view


def golden_projection(app: HubApplication, view: GoldenRecordsView) -> GoldenRecordsProjection:
    def load(aggregate_id: UUID, version: int) -> Any:
        try:
            return app.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None

    return GoldenRecordsProjection(view, mapper=app.mapper, load=load, to_record=to_record,
                                   application_name=app.name)


def golden_runner(app: HubApplication, view: GoldenRecordsView,
                  conninfo: str | None) -> ProjectionRunner:
    return ProjectionRunner(golden_projection(app, view), app.hub_recorder, conninfo=conninfo)
