"""The billing-readiness process's own tables: which engagement each record belongs to, and
the position it has processed up to (committed with the index, like a projection's)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.sql import SQL, Identifier

from hub.store.sql_params import array, json_text
from projections.runner import SERIALISE_DDL, create_tables

# A member row, as `upsert` takes it.
_MEMBER_COLUMNS = ("id", "kind", "engagement_id", "client_id", "contract_id")

# The records whose changes can turn a readiness check: what they hang from is indexed.
MEMBER_ENTITIES = frozenset(
    {"milestone", "contract", "engagement", "knowledge_asset", "time_entry", "expense"}
)


class ReadinessIndex(PostgresTrackingRecorder):
    """Record id -> kind, engagement, client (engagements), contract (milestones); and the
    engagements whose milestones wait to be looked at (`dirty`), with what changed them."""

    def __init__(self, datastore: PostgresDatastore, *, generation: int = 1) -> None:
        super().__init__(datastore, tracking_table_name=f"billing_readiness_g{generation}_tracking")
        self.generation = generation
        self.table = Identifier(datastore.schema, f"billing_readiness_members_g{generation}")
        self.sql_create_statements.insert(0, SERIALISE_DDL)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, kind text NOT NULL, "
                "engagement_id uuid, client_id uuid, contract_id uuid)"
            ).format(self.table)
        )
        self.dirty = Identifier(datastore.schema, f"billing_readiness_dirty_g{generation}")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (engagement_id uuid PRIMARY KEY, "
                "position bigint NOT NULL, milestones uuid[] NOT NULL)"
            ).format(self.dirty)
        )
        for column in ("engagement_id", "client_id"):
            self.sql_create_statements.append(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} (kind, {})").format(
                    Identifier(f"billing_readiness_members_g{generation}_{column}"),
                    self.table,
                    Identifier(column),
                )
            )

    def create_table(self) -> None:
        create_tables(super().create_table)

    def drop(self) -> None:
        """Drops this generation's tables (after a rebuild replaced it)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.table))
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.dirty))
            curs.execute(
                SQL("DROP TABLE IF EXISTS {}").format(
                    Identifier(self.datastore.schema, self.tracking_table_name)
                )
            )

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    # Writing, in the caller's transaction -------------------------------------------------

    def indexed(self, curs: Cursor[Any], ids: Sequence[UUID]) -> dict[UUID, tuple[Any, ...]]:
        """The rows these records are indexed under (before this page), as `upsert` takes
        them: (id, kind, engagement_id, client_id, contract_id)."""
        rows = curs.execute(
            SQL("SELECT {} FROM {} WHERE id = ANY(%s::uuid[])").format(
                SQL(", ").join(map(Identifier, _MEMBER_COLUMNS)), self.table
            ),
            (array(ids),),
        ).fetchall()
        return {row["id"]: tuple(row[c] for c in _MEMBER_COLUMNS) for row in rows}

    def upsert(self, curs: Cursor[Any], rows: Iterable[tuple[Any, ...]]) -> None:
        rows = list(rows)
        if rows:
            # One statement over the rows as JSON (one row per id: the caller's are a
            # page's records by id); executemany adapted each parameter in Python.
            curs.execute(
                SQL(
                    "INSERT INTO {} (id, kind, engagement_id, client_id, contract_id) "
                    "SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(id uuid, kind text, "
                    "engagement_id uuid, client_id uuid, contract_id uuid) "
                    "ON CONFLICT (id) DO UPDATE SET "
                    "engagement_id = EXCLUDED.engagement_id, client_id = EXCLUDED.client_id, "
                    "contract_id = EXCLUDED.contract_id"
                ).format(self.table),
                (json_text([dict(zip(_MEMBER_COLUMNS, row, strict=True)) for row in rows]),),
            )

    def mark_dirty(self, curs: Cursor[Any], dirty: dict[UUID, tuple[int, set[UUID]]]) -> None:
        """Notes engagements to look at: the latest position that changed each, and which of
        its milestones changed themselves."""
        if dirty:
            curs.execute(
                SQL(
                    "INSERT INTO {t} (engagement_id, position, milestones) "
                    "SELECT * FROM jsonb_to_recordset(%s::jsonb) "
                    "AS r(engagement_id uuid, position bigint, milestones uuid[]) "
                    "ON CONFLICT (engagement_id) DO UPDATE SET "
                    "position = GREATEST({t}.position, EXCLUDED.position), milestones = "
                    "ARRAY(SELECT DISTINCT unnest({t}.milestones || EXCLUDED.milestones))"
                ).format(t=self.dirty),
                # Each engagement once (a dict); its milestones as an array literal.
                (
                    json_text(
                        [
                            {"engagement_id": e, "position": p, "milestones": array(sorted(m))}
                            for e, (p, m) in dirty.items()
                        ]
                    ),
                ),
            )

    def take_dirty(self, curs: Cursor[Any]) -> list[tuple[UUID, int, set[UUID]]]:
        """The engagements to look at, oldest change first; they are no longer dirty once
        the caller's transaction commits."""
        rows = curs.execute(
            SQL("DELETE FROM {} RETURNING engagement_id, position, milestones").format(self.dirty)
        ).fetchall()
        found = [(r["engagement_id"], r["position"], set(r["milestones"])) for r in rows]
        return sorted(found, key=lambda row: (row[1], str(row[0])))

    def track(self, curs: Cursor[Any], tracking: Tracking) -> None:
        self._insert_tracking(curs, tracking)

    # Reading ------------------------------------------------------------------------------

    def engagements_of_clients(self, curs: Cursor[Any], client_ids: Sequence[UUID]) -> set[UUID]:
        rows = curs.execute(
            SQL("SELECT id FROM {} WHERE kind = 'engagement' AND client_id = ANY(%s)").format(
                self.table
            ),
            (list(client_ids),),
        ).fetchall()
        return {row["id"] for row in rows}

    def members(self, curs: Cursor[Any], engagement_id: UUID, kinds: Sequence[str]) -> list[UUID]:
        """The ids of records of these kinds indexed under the engagement."""
        rows = curs.execute(
            SQL("SELECT id FROM {} WHERE engagement_id = %s AND kind = ANY(%s)").format(self.table),
            (engagement_id, list(kinds)),
        ).fetchall()
        return [row["id"] for row in rows]

    def members_now(self, engagement_id: UUID, kinds: Sequence[str]) -> list[UUID]:
        """The same, outside the process's transaction (for a retry)."""
        with self.datastore.transaction(commit=False) as curs:
            return self.members(curs, engagement_id, kinds)
