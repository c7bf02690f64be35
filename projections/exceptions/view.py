"""ExceptionsView: the exception queue (cases by status, reason, owner, entity) in PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Composable, Identifier

from projections.runner import SERIALISE_DDL, create_tables

FILTERS = ("status", "reason", "owner", "entity", "system")


class ExceptionsView(PostgresTrackingRecorder):
    """One row per case, upserted by version; tracked like every projection."""

    def __init__(self, datastore: PostgresDatastore, *, generation: int = 1) -> None:
        super().__init__(datastore, tracking_table_name=f"exceptions_g{generation}_tracking")
        self.generation = generation
        self.table = Identifier(datastore.schema, f"exceptions_cases_g{generation}")
        self.sql_create_statements.insert(0, SERIALISE_DDL)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, version bigint NOT NULL, "
                "status text NOT NULL, reason text NOT NULL, owner text NOT NULL, entity text, "
                "system text, message_id text, raised_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL, record jsonb NOT NULL)"
            ).format(self.table)
        )
        for column in FILTERS:
            self.sql_create_statements.append(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({}, raised_at)").format(
                    Identifier(f"exceptions_cases_g{generation}_{column}"),
                    self.table,
                    Identifier(column),
                )
            )

    def create_table(self) -> None:
        create_tables(super().create_table)

    def write(self, cases: Sequence[dict[str, Any]], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            if cases:
                curs.executemany(
                    SQL(
                        "INSERT INTO {t} (id, version, status, reason, owner, entity, system, "
                        "message_id, raised_at, updated_at, record) VALUES (%(id)s, %(version)s, "
                        "%(status)s, %(reason)s, %(owner)s, %(entity)s, %(system)s, %(message_id)s,"
                        " %(raised_at)s, %(updated_at)s, %(record)s) "
                        "ON CONFLICT (id) DO UPDATE SET "
                        "version = EXCLUDED.version, status = EXCLUDED.status, "
                        "updated_at = EXCLUDED.updated_at, record = EXCLUDED.record "
                        "WHERE {t}.version < EXCLUDED.version"
                    ).format(t=self.table),
                    [{**c, "record": json.dumps(c["record"])} for c in cases],
                )
            self._insert_tracking(curs, tracking)

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def get(self, case_id: UUID) -> dict[str, Any] | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT record FROM {} WHERE id = %s").format(self.table), (case_id,)
            ).fetchone()
        return None if row is None else row["record"]

    def list(
        self, filters: dict[str, str], *, limit: int, after: UUID | None
    ) -> list[dict[str, Any]]:
        conditions: list[Composable] = [SQL("{} = %s").format(Identifier(k)) for k in filters]
        params: list[Any] = list(filters.values())
        if after is not None:
            conditions.append(SQL("id > %s"))
            params.append(after)
        where = SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL("")
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT record FROM {}{} ORDER BY id LIMIT %s").format(self.table, where),
                [*params, limit],
            ).fetchall()
        return [r["record"] for r in rows]

    def drop(self) -> None:
        """Drops this generation's tables (after a rebuild replaced it)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.table))
            curs.execute(
                SQL("DROP TABLE IF EXISTS {}").format(
                    Identifier(self.datastore.schema, self.tracking_table_name)
                )
            )

    def counts(self) -> dict[str, int]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT status, count(*) AS n FROM {} GROUP BY status").format(self.table)
            ).fetchall()
        return {r["status"]: r["n"] for r in rows}
