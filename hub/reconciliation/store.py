"""Where reconciliation keeps its runs and what each target's last pass found, in
PostgreSQL, so the API and a worker in another process see the same last run.

- hub_reconciliation_runs: each run, its trigger, status and progress;
- hub_reconciliation_targets: per target, its last pass (status, error, totals), the last
  successful one kept when a later pass could not read the target;
- hub_reconciliation_findings: the drift of each target's last successful pass (matching
  records are counted in the totals, not listed), with the DRIFT case of each.

One run at a time across processes: a run holds an advisory lock on a connection of its own
for as long as it lasts; a `running` row whose lock nobody holds was left by a process that
died, and is marked `abandoned` by the next run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from domain.reconciliation import Finding

LOCK = 0x7265636F6E63  # "reconc": the advisory lock of a run


class Busy(Exception):
    """Another run is in progress (in this process or another)."""


class ReconciliationStore:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        schema = datastore.schema
        self.runs = Identifier(schema, "hub_reconciliation_runs")
        self.targets = Identifier(schema, "hub_reconciliation_targets")
        self.findings = Identifier(schema, "hub_reconciliation_findings")
        # The pull-only sources' passes (hub/reconciliation/sources.py).
        self.sources = Identifier(schema, "hub_reconciliation_sources")

    def create_tables(self, role: str | None = None) -> None:
        statements = [
            "CREATE TABLE IF NOT EXISTS {runs} (id uuid PRIMARY KEY, trigger text NOT NULL, "
            "started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, "
            "status text NOT NULL, progress jsonb NOT NULL DEFAULT '{{}}', "
            "summary jsonb NOT NULL DEFAULT '{{}}')",
            "CREATE TABLE IF NOT EXISTS {targets} (target text PRIMARY KEY, run_id uuid NOT NULL,"
            " checked_at timestamptz NOT NULL, status text NOT NULL, error text, "
            "reconciled_at timestamptz, totals jsonb NOT NULL DEFAULT '{{}}')",
            "CREATE TABLE IF NOT EXISTS {findings} (target text NOT NULL, identity text NOT NULL,"
            " run_id uuid NOT NULL, outcome text NOT NULL, entity text NOT NULL, "
            "canonical_id uuid, item_key text, target_id text NOT NULL, "
            "differences jsonb NOT NULL DEFAULT '[]', currency text, amount numeric, "
            "case_id uuid, PRIMARY KEY (target, identity))",
            "CREATE TABLE IF NOT EXISTS {sources} (system text NOT NULL, tenant text NOT NULL,"
            " checked_at timestamptz NOT NULL, time_window jsonb, "
            "totals jsonb NOT NULL DEFAULT '{{}}', PRIMARY KEY (system, tenant))",
        ]
        with self.datastore.transaction(commit=True) as curs:
            for statement in statements:
                curs.execute(
                    SQL(statement).format(
                        runs=self.runs,
                        targets=self.targets,
                        findings=self.findings,
                        sources=self.sources,
                    )
                )
            if role:
                for table in (self.runs, self.targets, self.findings, self.sources):
                    curs.execute(
                        SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                            table, Identifier(role)
                        )
                    )

    # A run ----------------------------------------------------------------------------------

    def begin(self, conninfo: str, trigger: str, targets: Sequence[str]) -> tuple[Any, UUID]:
        """Takes the run lock on a connection of its own (closed by `finish`) and records the
        run; raises Busy while another run holds it."""
        conn = psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        try:
            locked = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (LOCK,)).fetchone()
            if not locked["ok"]:
                raise Busy("a reconciliation run is in progress")
            conn.execute(
                SQL(
                    "UPDATE {} SET status = 'abandoned', finished_at = now() "
                    "WHERE status = 'running'"
                ).format(self.runs)
            )
            run_id = uuid4()
            progress = {"targets": list(targets), "done": [], "current": None, "read": 0}
            conn.execute(
                SQL(
                    "INSERT INTO {} (id, trigger, status, progress) VALUES (%s, %s, 'running', %s)"
                ).format(self.runs),
                (run_id, trigger, json.dumps(progress)),
            )
        except BaseException:
            conn.close()
            raise
        return conn, run_id

    def progress(self, conn: Any, run_id: UUID, progress: dict[str, Any]) -> None:
        conn.execute(
            SQL("UPDATE {} SET progress = %s WHERE id = %s").format(self.runs),
            (json.dumps(progress), run_id),
        )

    def finish(self, conn: Any, run_id: UUID, status: str, summary: dict[str, Any]) -> None:
        try:
            conn.execute(
                SQL(
                    "UPDATE {} SET status = %s, summary = %s, finished_at = now() WHERE id = %s"
                ).format(self.runs),
                (status, json.dumps(summary), run_id),
            )
        finally:
            conn.close()  # releases the run lock

    # What a target's pass found ---------------------------------------------------------

    def previous(self, target: str) -> dict[str, dict[str, Any]]:
        """The drift the target's last successful pass found, by finding identity."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT * FROM {} WHERE target = %s").format(self.findings), (target,)
            ).fetchall()
        return {row["identity"]: row for row in rows}

    def reconciled(
        self,
        run_id: UUID,
        target: str,
        totals: dict[str, Any],
        drift: Sequence[tuple[Finding, UUID | None]],
        confidential: frozenset[str] = frozenset(),
    ) -> None:
        """Replaces the target's findings with this pass's, in one transaction; a difference
        in a field named in `confidential` (rate-derived) is marked so (the API hides its
        values from callers without read:confidential)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DELETE FROM {} WHERE target = %s").format(self.findings), (target,))
            curs.executemany(
                SQL(
                    "INSERT INTO {} (target, identity, run_id, outcome, entity, canonical_id, "
                    "item_key, target_id, differences, currency, amount, case_id) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(self.findings),
                [
                    (
                        target, f.identity, run_id, f.outcome, f.entity, f.canonical_id, f.key,
                        f.target_id,
                        json.dumps(
                            [{"field": d.field, "hub": d.hub, "system": d.system,
                              "confidential": d.field.rsplit(".", 1)[-1] in confidential}
                             for d in f.differences], default=str,
                        ),
                        f.money.currency if f.money else None,
                        f.money.amount if f.money else None,
                        case_id,
                    )
                    for f, case_id in drift
                ],
            )  # fmt: skip
            curs.execute(
                SQL(
                    "INSERT INTO {} (target, run_id, checked_at, status, error, reconciled_at, "
                    "totals) VALUES (%s, %s, now(), 'reconciled', NULL, now(), %s) "
                    "ON CONFLICT (target) DO UPDATE SET run_id = EXCLUDED.run_id, "
                    "checked_at = now(), status = 'reconciled', error = NULL, "
                    "reconciled_at = now(), totals = EXCLUDED.totals"
                ).format(self.targets),
                (target, run_id, json.dumps(totals)),
            )

    def failed(self, run_id: UUID, target: str, status: str, error: str) -> None:
        """The target could not be read: its last successful findings and totals stay."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} (target, run_id, checked_at, status, error) "
                    "VALUES (%s, %s, now(), %s, %s) ON CONFLICT (target) DO UPDATE SET "
                    "run_id = EXCLUDED.run_id, checked_at = now(), status = EXCLUDED.status, "
                    "error = EXCLUDED.error"
                ).format(self.targets),
                (target, run_id, status, error[:2000]),
            )

    # Reads ------------------------------------------------------------------------------

    def last_run(self) -> dict[str, Any] | None:
        with self.datastore.get_connection() as conn:
            return conn.execute(
                SQL("SELECT * FROM {} ORDER BY started_at DESC LIMIT 1").format(self.runs)
            ).fetchone()

    def run(self, run_id: UUID) -> dict[str, Any] | None:
        with self.datastore.get_connection() as conn:
            return conn.execute(
                SQL("SELECT * FROM {} WHERE id = %s").format(self.runs), (run_id,)
            ).fetchone()

    def target_states(self) -> dict[str, dict[str, Any]]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(SQL("SELECT * FROM {}").format(self.targets)).fetchall()
        return {row["target"]: row for row in rows}

    def drift(self, target: str, limit: int) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn:
            return conn.execute(
                SQL(
                    "SELECT * FROM {} WHERE target = %s ORDER BY entity, outcome, identity LIMIT %s"
                ).format(self.findings),
                (target, limit),
            ).fetchall()
