"""Settling corrections to drafted work soon after they are recorded (DOMAIN 3.4, 3.5), not
only at the engagement's next run command: a pass every `PSHUB_BILLING_SETTLE_INTERVAL`
in the process that runs the projections.

A pass reads the log from its cursor up to the position the metrics projection has reached
(the metrics price the corrected work, so a pass never settles ahead of them), picks the time
entries and expenses that changed, finds the engagements whose billing runs bill any of them,
and settles each as a run command would (hub/billing/corrections.py: a re-draft, a
withdrawal, a move to another currency's draft, or a case). Then its cursor moves on.

Idempotent, and safe with several processes: one pass at a time across processes (an
advisory lock on a connection of its own; a process that finds it taken skips its turn).
Settling twice finds nothing changed the second time, and a collision with a run command
settling the same draft is retried on the records as they now stand (`settle`). A crash,
a collision that outlasts the retries, or a record newer than the metrics leaves the cursor
where it was: the next pass takes the window again, harmlessly for the same reasons. A rule
an engagement breaks (two live work contracts) is logged and left to its run command.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from domain.errors import DomainError
from hub.application import HubApplication
from hub.billing.corrections import ACTOR, settle
from hub.errors import ConflictError
from hub.store.recorder import EventMeta
from projections.metrics.view import MetricsView

log = logging.getLogger(__name__)

LOCK = 0x62696C6C7365  # "billse": one pass at a time across processes
# The aggregates whose changes can leave a draft billing a fact that no longer holds.
WORK_TOPICS = ("domain.time_entry:", "domain.expense:")
CURSOR_TABLE = "billing_settle_cursor"


class CorrectionSettler:
    """Settles, every so often, the corrections recorded since its last pass."""

    def __init__(
        self, app: HubApplication, metrics: Callable[[], MetricsView], database_url: str
    ) -> None:
        self.app = app
        self.metrics = metrics  # the live generation's view, asked anew each pass
        self.database_url = database_url
        self.table = Identifier(app.hub_recorder.datastore.schema, CURSOR_TABLE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[UUID] | None:
        """One pass: the engagements it settled, or None where another process holds it."""
        with psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row) as conn:
            locked = conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (LOCK,)).fetchone()
            if locked is None or not locked["ok"]:
                return None
            try:
                return self._pass(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))

    def _pass(self, conn: Any) -> list[UUID]:
        conn.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, position bigint NOT NULL)"
            ).format(self.table)
        )
        row = conn.execute(
            SQL("SELECT position FROM {} WHERE name = %s").format(self.table), (self.app.name,)
        ).fetchone()
        start = int(row["position"]) if row else 0
        view = self.metrics()
        head = view.position_now()
        if head <= start:
            return []
        changed = self._changed(start, head)
        settled, again = [], False
        cause = f"settle:{start}-{head}"
        meta = EventMeta(system="hub", actor=ACTOR, causation_id=cause, correlation_id=cause)
        for engagement_id in self._engagements(view, changed):
            try:
                done = settle(self.app, view, engagement_id, meta)
            except (ConflictError, DomainError) as exc:
                if isinstance(exc, ConflictError) or getattr(exc, "rule", "") == "stale_price":
                    again = True  # written meanwhile (a record newer than the metrics): retry
                else:  # a broken rule of this engagement's: its run command names it
                    log.warning("billing corrections: engagement %s: %s", engagement_id, exc)
                continue
            if done.redrafted or done.cases:
                settled.append(engagement_id)
        if again:
            return settled  # the cursor stays: the next pass takes the window again
        conn.execute(
            SQL(
                "INSERT INTO {} (name, position) VALUES (%s, %s) ON CONFLICT (name) "
                "DO UPDATE SET position = GREATEST({}.position, EXCLUDED.position)"
            ).format(self.table, self.table),
            (self.app.name, head),
        )
        return settled

    def _changed(self, start: int, head: int) -> set[str]:
        """The time entries and expenses with an event in (start, head]: their ids only,
        filtered in PostgreSQL (reading whole events, every ten seconds beside ingest, was
        the whole log's bodies through Python)."""
        recorder = self.app.hub_recorder
        events = Identifier(recorder.datastore.schema, recorder.events_table_name)
        with recorder.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT DISTINCT originator_id FROM {} WHERE notification_id > %s "
                    "AND notification_id <= %s AND (topic LIKE %s OR topic LIKE %s)"
                ).format(events),
                (start, head, *(f"{prefix}%" for prefix in WORK_TOPICS)),
            ).fetchall()
        return {str(row["originator_id"]) for row in rows}

    def _engagements(self, view: MetricsView, items: set[str]) -> list[UUID]:
        """The engagements whose billing runs' drafts bill any of the items."""
        if not items:
            return []
        rows = view.query(
            SQL(
                "SELECT DISTINCT data->>'engagement_id' AS engagement_id FROM {refs} r "
                "WHERE entity = 'billing_run' AND EXISTS (SELECT 1 FROM "
                "jsonb_array_elements(r.data->'drafts') d WHERE d->'items' ?| %s)"
            ),
            [sorted(items)],
        )
        return sorted(UUID(r["engagement_id"]) for r in rows)

    def schedule(self, every_seconds: float) -> None:
        """Runs a pass every `every_seconds` on a thread of its own until `stop`."""

        def loop() -> None:
            while not self._stop.wait(every_seconds):
                try:
                    self.run_once()
                except Exception:  # a process edge: the next pass tries again
                    log.exception("billing corrections: the pass failed")

        self._thread = threading.Thread(target=loop, name="billing-settle", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
