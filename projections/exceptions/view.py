"""ExceptionsView: the exception queue (cases by status, reason, owner, entity, age, linked
records) in PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Composable, Identifier, Literal

from projections.runner import SERIALISE_DDL, create_tables

FILTERS = ("status", "reason", "owner", "entity", "system")

# Age bands of the counts and the backlog gauge: label, lower bound (inclusive).
AGE_BANDS: tuple[tuple[str, timedelta], ...] = (
    ("<1h", timedelta(0)),
    ("1-24h", timedelta(hours=1)),
    ("1-7d", timedelta(days=1)),
    (">7d", timedelta(days=7)),
)
BACKLOG_STATUSES = ("open", "in_progress")

# A case's age: from its raise until it closed, or until now while it is open.
_AGE = SQL("(coalesce(nullif(record->>'closed_at', '')::timestamptz, %s) - raised_at)")


def _band_sql() -> Composable:
    """The age band of a row with an `age` column."""
    whens = [
        SQL("WHEN age < {upper} THEN {label}").format(upper=Literal(upper), label=Literal(label))
        for (label, _), (_, upper) in pairwise(AGE_BANDS)
    ]
    return SQL("CASE {} ELSE {} END").format(SQL(" ").join(whens), Literal(AGE_BANDS[-1][0]))


@dataclass(frozen=True)
class CaseQuery:
    """Which cases: each field narrows (lists match any of their values); `linked` is a
    query giving canonical ids (as text) a case must touch one of, with its parameters."""

    statuses: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    owner: str | None = None  # the owning team or the person it is assigned to
    entity: str | None = None
    system: str | None = None
    age_min: timedelta | None = None
    age_max: timedelta | None = None
    linked: tuple[Composable, tuple[Any, ...]] | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def where(self) -> tuple[list[Composable], list[Any]]:
        conditions: list[Composable] = []
        params: list[Any] = []
        if self.statuses:
            conditions.append(SQL("status = ANY(%s)"))
            params.append(list(self.statuses))
        if self.reasons:
            conditions.append(SQL("reason = ANY(%s)"))
            params.append(list(self.reasons))
        if self.owner is not None:
            conditions.append(SQL("(owner = %s OR record->>'assignee' = %s)"))
            params += [self.owner, self.owner]
        for column in ("entity", "system"):
            value = getattr(self, column)
            if value is not None:
                conditions.append(SQL("{} = %s").format(Identifier(column)))
                params.append(value)
        if self.age_min is not None:
            conditions.append(SQL("{} >= %s").format(_AGE))
            params += [self.now, self.age_min]
        if self.age_max is not None:
            conditions.append(SQL("{} <= %s").format(_AGE))
            params += [self.now, self.age_max]
        if self.linked is not None:
            ids, linked_params = self.linked
            conditions.append(SQL("record->'canonical_ids' ?| ARRAY({})").format(ids))
            params += linked_params
        return conditions, params


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
        # The engagement filter asks which cases touch any of a set of records.
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin ((record->'canonical_ids'))").format(
                Identifier(f"exceptions_cases_g{generation}_canonical_ids"), self.table
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
                        "owner = EXCLUDED.owner, updated_at = EXCLUDED.updated_at, "
                        "record = EXCLUDED.record "
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
        self, query: CaseQuery | dict[str, str], *, limit: int, after: UUID | None
    ) -> list[dict[str, Any]]:
        if isinstance(query, dict):  # the filters of before: column -> value
            query = _query_of(query)
        conditions, params = query.where()
        if after is not None:
            conditions.append(SQL("id > %s"))
            params.append(after)
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT record FROM {}{} ORDER BY id LIMIT %s").format(
                    self.table, _where(conditions)
                ),
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

    def tally(self, query: CaseQuery) -> list[tuple[str, str, str, int]]:
        """(status, reason, age band, count) of the cases the query selects."""
        conditions, params = query.where()
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT status, reason, {band} AS band, count(*) AS n FROM "
                    "(SELECT status, reason, {age} AS age FROM {t}{w}) AS cases GROUP BY 1, 2, 3"
                ).format(band=_band_sql(), age=_AGE, t=self.table, w=_where(conditions)),
                [query.now, *params],
            ).fetchall()
        return [(r["status"], r["reason"], r["band"], r["n"]) for r in rows]

    def backlog(self, now: datetime | None = None) -> dict[tuple[str, str], int]:
        """Open and in-progress cases by (reason, age band)."""
        tally = self.tally(CaseQuery(statuses=BACKLOG_STATUSES, now=now or datetime.now(UTC)))
        backlog: dict[tuple[str, str], int] = {}
        for _, reason, band, n in tally:
            backlog[(reason, band)] = backlog.get((reason, band), 0) + n
        return backlog


def _where(conditions: list[Composable]) -> Composable:
    return SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL("")


def _query_of(filters: dict[str, str]) -> CaseQuery:
    return CaseQuery(
        statuses=(filters["status"],) if "status" in filters else (),
        reasons=(filters["reason"],) if "reason" in filters else (),
        owner=filters.get("owner"),
        entity=filters.get("entity"),
        system=filters.get("system"),
    )
