"""The quote-to-cash process's tables: its position in the log, and each engagement's
provisioning as the route serves it, both written in the transaction of the process's events
(so a crash between them is impossible and a restart resumes where the events stop)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.provisioning import Provisioning

NAME = "quote_to_cash"


class ProvisioningStore:
    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self.table = Identifier(datastore.schema, "hub_provisioning")
        self.positions = Identifier(datastore.schema, "hub_process_positions")

    def create_tables(self, append_role: str | None = None) -> None:
        """Creates the tables; the role events are appended through writes them too, since
        the process writes them in its events' transaction."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(hashtext('pshub.provisioning'))")
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (engagement_id uuid PRIMARY KEY, "
                    "client_id uuid, state text NOT NULL, version bigint NOT NULL, "
                    "lead_time_seconds double precision, record jsonb NOT NULL)"
                ).format(self.table)
            )
            curs.execute(
                SQL("CREATE INDEX IF NOT EXISTS hub_provisioning_client ON {} (client_id, state)")
                .format(self.table)
            )  # fmt: skip
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, "
                    "position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(self.positions)
            )
            for table in (self.table, self.positions) if append_role else ():
                curs.execute(
                    SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                        table, Identifier(append_role)
                    )
                )

    # Writes (in the caller's transaction) ----------------------------------------------------

    def write(
        self, curs: Cursor[DictRow], provisionings: Sequence[Provisioning], position: int
    ) -> None:
        if provisionings:
            curs.executemany(
                SQL(
                    "INSERT INTO {t} (engagement_id, client_id, state, version, "
                    "lead_time_seconds, record) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (engagement_id) DO UPDATE SET client_id = EXCLUDED.client_id, "
                    "state = EXCLUDED.state, version = EXCLUDED.version, "
                    "lead_time_seconds = EXCLUDED.lead_time_seconds, record = EXCLUDED.record "
                    "WHERE {t}.version < EXCLUDED.version"
                ).format(t=self.table),
                [
                    (
                        p.engagement_id,
                        p.client_id,
                        str(p.state),
                        p.version,
                        p.lead_time_seconds,
                        json.dumps(p.summary()),
                    )
                    for p in provisionings
                ],
            )
        if position:
            curs.execute(
                SQL(
                    "INSERT INTO {} (name, position) VALUES (%s, %s) ON CONFLICT (name) DO "
                    "UPDATE SET position = GREATEST({}.position, EXCLUDED.position), "
                    "updated_at = now()"
                ).format(self.positions, self.positions),
                (NAME, position),
            )

    def reset(self) -> None:
        """Back to position zero, the table emptied (a replay refills it; the process's
        idempotence makes it record nothing)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {} WHERE name = %s").format(self.positions), (NAME,))
            curs.execute(SQL("DELETE FROM {}").format(self.table))

    # Reads -----------------------------------------------------------------------------------

    def position(self) -> int:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT position FROM {} WHERE name = %s").format(self.positions), (NAME,)
            ).fetchone()
        return 0 if row is None else int(row["position"])

    def get(self, engagement_id: UUID) -> dict[str, Any] | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT record FROM {} WHERE engagement_id = %s").format(self.table),
                (engagement_id,),
            ).fetchone()
        return None if row is None else row["record"]

    def engagements(self, *, state: str, client_id: UUID | None = None) -> list[UUID]:
        """Engagements whose provisioning is in a state (of one client, if given)."""
        query = SQL("SELECT engagement_id FROM {} WHERE state = %s").format(self.table)
        params: list[Any] = [state]
        if client_id is not None:
            query += SQL(" AND client_id = %s")
            params.append(client_id)
        with self.datastore.get_connection() as conn:
            rows = conn.execute(query + SQL(" ORDER BY engagement_id"), params).fetchall()
        return [r["engagement_id"] for r in rows]

    def index(self) -> list[tuple[UUID, UUID | None, str]]:
        """Every provisioning's engagement, client and state (what the process keeps in memory
        to tell which events concern it)."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT engagement_id, client_id, state FROM {}").format(self.table)
            ).fetchall()
        return [(r["engagement_id"], r["client_id"], r["state"]) for r in rows]

    def counts(self) -> dict[str, int]:
        """Provisionings by state."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT state, count(*) AS n FROM {} GROUP BY state").format(self.table)
            ).fetchall()
        return {r["state"]: r["n"] for r in rows}

    def lead_times(self) -> list[float]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT lead_time_seconds FROM {} WHERE state = 'ready'").format(self.table)
            ).fetchall()
        return [float(r["lead_time_seconds"]) for r in rows]
