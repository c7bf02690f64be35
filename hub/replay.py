"""Replay until an instant: the golden records exactly as the hub knew them then, written into
a schema of their own for compliance, beside (and never touching) the live projections."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from psycopg.sql import SQL, Identifier

from hub.application import HubApplication
from hub.projecting import GOLDEN, KINDS, Progress, own_states
from projections.golden_records.view import GoldenRecordsView
from projections.runner import ProjectionRunner

# A plain, unquoted PostgreSQL identifier (the schema is named on the command line).
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Schemas a replay must never write into: the store's and the live generations'.
_RESERVED = re.compile(r"(golden_g\d+|pg_.*|information_schema|public)")


class ReplayError(ValueError):
    """The replay cannot run as asked (a bad or taken schema name, nothing to replay)."""


def check_schema(app: HubApplication, schema: str) -> None:
    if not _SCHEMA.fullmatch(schema):
        raise ReplayError(
            f"'{schema}' is not a schema name: lower-case letters, digits and _, at most 63"
        )
    if _RESERVED.fullmatch(schema) or schema == app.hub_recorder.datastore.schema:
        raise ReplayError(f"schema {schema} holds the live store or projections")
    with app.hub_recorder.datastore.get_connection() as conn:
        taken = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if taken:
        raise ReplayError(f"schema {schema} exists already: drop it or name another")


def position_at(app: HubApplication, until: datetime) -> int:
    """The last position recorded at or before the instant (positions and recording times
    rise together: both are assigned under the events table's lock)."""
    recorder = app.hub_recorder
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(
            SQL("SELECT max(notification_id) AS p FROM {} WHERE recorded_at <= %s").format(
                Identifier(recorder.datastore.schema, recorder.events_table_name)
            ),
            (until,),
        ).fetchone()
    return int(row["p"] or 0)


def replay(
    app: HubApplication,
    until: datetime,
    schema: str,
    progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Writes the golden records as they were at `until` into `schema` (tables as the live
    ones, with the replay's position in `schema.golden_records_tracking`)."""
    check_schema(app, schema)
    datastore = app.hub_recorder.datastore
    stop = position_at(app, until)
    tracking = f"replay_{schema}_tracking"[:63]
    view = GoldenRecordsView(datastore, generation=0, schema=schema, tracking_table_name=tracking)
    view.create_table()
    state = Progress(schema, 0, head=stop)
    projection = KINDS[GOLDEN].projection(app, view, own_states(app))
    runner = ProjectionRunner(projection, app.hub_recorder)

    def advanced(position: int, events: int) -> None:
        state.position, state.events = position, state.events + events
        if progress is not None:
            progress(state)

    if stop:
        runner.catch_up(until=stop, progress=advanced)
    with datastore.transaction(commit=True) as curs:
        # The replay's position goes with its records, out of the store's schema.
        curs.execute(
            SQL("ALTER TABLE {} SET SCHEMA {}").format(
                Identifier(datastore.schema, tracking), Identifier(schema)
            )
        )
        curs.execute(
            SQL("ALTER TABLE {} RENAME TO golden_records_tracking").format(
                Identifier(schema, tracking)
            )
        )
    state.position = stop
    state.state = "replayed"
    return state
