"""Delivering one target's outbox to its API: a worker thread per target, so that a target
that is down holds back only its own backlog (never another target, nor ingest).

An item is taken with `FOR UPDATE SKIP LOCKED`, so two processes never deliver the same one.
A retryable failure (429, 5xx, a timeout) is tried again later with exponential backoff, never
sooner than the target's Retry-After; after `max_attempts`, or at once for a failure that is the
payload's fault, the item fails into an exception case, and retrying the case requeues it.
A success is acknowledged into the log first (the target's id becomes an xref of the record),
then recorded in the outbox and the ledger.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import psycopg
from psycopg.rows import dict_row
from psycopg.sql import SQL

from hub.contracts.feeds import Delivered, DeliveryFailed, FeedItem, Target, TargetSettings
from hub.feeds.cases import hold_case, open_case, resolve_case
from hub.feeds.left_out import deliver_again, noted
from hub.feeds.resolve import Waiting, resolve
from projections.feeds.view import DELIVERED, FAILED, FeedView

log = logging.getLogger(__name__)

# Records the target's id as an xref of the record (the acknowledgement).
Acknowledge = Callable[[str, Delivered, UUID], None]


@dataclass(frozen=True)
class Backoff:
    max_attempts: int = 5
    base: float = 1.0  # seconds before the second attempt; doubled each time
    cap: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        wait = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        return max(wait, retry_after or 0.0)


class DeliveryWorker:
    def __init__(
        self,
        app: Any,
        target: Target,
        settings: TargetSettings,
        view: Callable[[], FeedView],
        *,
        database_url: str,
        acknowledge: Acknowledge,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
        idle_wait: float = 0.5,
    ) -> None:
        self.app = app
        self.target = target
        self.settings = settings
        self.view = view
        self.database_url = database_url
        self.acknowledge = acknowledge
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.idle_wait = idle_wait
        self._holds_turn = False
        self.outcomes: Counter[str] = Counter()  # deliveries by outcome (/metrics)
        self.error: str | None = None
        self._stop = threading.Event()
        self._nudge = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"feed-deliver-{self.target.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)

    def nudge(self) -> None:
        self._nudge.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with (
                    psycopg.connect(self.database_url, row_factory=dict_row) as conn,
                    httpx.Client(timeout=self.timeout) as client,
                ):
                    writer = self.target.writer(self.settings, client)
                    while not self._stop.is_set():
                        self._nudge.clear()  # before looking: a nudge meanwhile is not lost
                        if not self.deliver_one(conn, writer):
                            self._nudge.wait(self.idle_wait)
                        self.error = None
            except Exception as exc:  # a process edge: report it and start again
                self.error = f"{type(exc).__name__}: {exc}"
                log.exception("feed %s delivery failed; retrying", self.target.name)
                self._stop.wait(1.0)

    def deliver_one(self, conn: psycopg.Connection[Any], writer: Any) -> bool:
        """Delivers the next due item, if any; False when none is due. An item its mapping
        holds gets its case, in turn with the deliveries."""
        view = self.view()
        # Held items' cases and deliveries take turns: thousands of held items (a demo firm's
        # mispriced work) must not keep every customer and job waiting behind their cases.
        self._holds_turn = not self._holds_turn
        if self._holds_turn and self._hold_one(conn, view):
            return True
        with conn.transaction():
            row = conn.execute(
                SQL(
                    "SELECT * FROM {} WHERE state = 'pending' AND next_attempt_at <= now() "
                    "ORDER BY position, canonical_id, key LIMIT 1 FOR UPDATE SKIP LOCKED"
                ).format(view.outbox)
            ).fetchone()
            if row is not None:
                changes = self._attempt(conn, view, row, writer)
                changes["updated_at"] = "now()"
                assignments = SQL(", ").join(
                    SQL("{} = " + ("now()" if v == "now()" else "%s")).format(SQL(k))
                    for k, v in changes.items()
                )
                conn.execute(
                    SQL("UPDATE {} SET ").format(view.outbox)
                    + assignments
                    + SQL(" WHERE canonical_id = %s AND key = %s"),
                    [v for v in changes.values() if v != "now()"]
                    + [row["canonical_id"], row["key"]],
                )
        if row is None:  # nothing due: a held item's case, where it was not its turn
            return not self._holds_turn and self._hold_one(conn, view)
        return True

    def _hold_one(self, conn: psycopg.Connection[Any], view: FeedView) -> bool:
        with conn.transaction():
            row = conn.execute(
                SQL(
                    # Held by its mapping (last_error says why), not by the provisioning gate.
                    "SELECT * FROM {} WHERE state = 'held' AND case_id IS NULL "
                    "AND last_error IS NOT NULL "
                    "ORDER BY position, canonical_id, key LIMIT 1 FOR UPDATE SKIP LOCKED"
                ).format(view.outbox)
            ).fetchone()
            if row is None:
                return False
            reason, _, detail = row["last_error"].partition(": ")
            case_id = hold_case(self.app, self.target.name, row, reason, detail)
            conn.execute(
                SQL(
                    "UPDATE {} SET case_id = %s, updated_at = now() WHERE canonical_id = %s "
                    "AND key = %s AND idempotency_key = %s"
                ).format(view.outbox),
                (case_id, row["canonical_id"], row["key"], row["idempotency_key"]),
            )
        self.outcomes["held"] += 1
        return True

    def _attempt(
        self, conn: psycopg.Connection[Any], view: FeedView, row: dict[str, Any], writer: Any
    ) -> dict[str, Any]:
        attempts = row["attempts"] + 1
        target_id = row["target_id"] or self._ledger_id(conn, view, row["canonical_id"], row["key"])
        left_out: list[str] = []
        try:
            payload = resolve(
                row["payload"], lambda cid, t: self._target_id(conn, view, cid, t), left_out
            )
            item = FeedItem(
                target=self.target.name,
                entity=row["entity"],
                canonical_id=row["canonical_id"],
                version=row["version"],
                key=row["key"],
                payload=payload,
                target_id=target_id,
                request_key=row["idempotency_key"],
            )
            self._serialise(conn, item)
            delivered = writer.deliver(item)
        except Waiting as waiting:
            self.outcomes["waiting"] += 1
            # Not an attempt of its own: it waits for another item, at a slowly growing pace.
            return self._later(row["attempts"], row["attempts"] + 1, None, str(waiting))
        except httpx.HTTPError as exc:
            failure = DeliveryFailed(
                "DOWNSTREAM_TIMEOUT", f"{type(exc).__name__}: {exc}", retryable=True
            )
            return self._failed(view, row, attempts, failure)
        except DeliveryFailed as failure:
            return self._failed(view, row, attempts, failure)
        # The ledger first, committed on its own: what the target holds is a fact even if the
        # acknowledgement fails, and the feed projection must know the xref the
        # acknowledgement adds is the hub's own write before it sees it. With it, the items
        # that were delivered without naming this record go again (hub/feeds/left_out.py).
        with view.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} (canonical_id, key, delivered_hash, target_id, delivered_at,"
                    " left_out) VALUES (%s, %s, %s, %s, now(), %s) "
                    "ON CONFLICT (canonical_id, key) DO UPDATE "
                    "SET delivered_hash = EXCLUDED.delivered_hash, "
                    "target_id = EXCLUDED.target_id, delivered_at = EXCLUDED.delivered_at, "
                    "left_out = EXCLUDED.left_out"
                ).format(view.ledger),
                (
                    row["canonical_id"],
                    row["key"],
                    row["payload_hash"],
                    delivered.target_id,
                    noted(left_out),
                ),
            )
            if deliver_again(curs, view, row["canonical_id"]):
                self._nudge.set()
        self.acknowledge(self.target.name, delivered, row["canonical_id"])
        if row["case_id"] is not None:
            resolve_case(self.app, row["case_id"], by=f"feed:{self.target.name}")
        self.outcomes["delivered"] += 1
        return {
            "state": DELIVERED,
            "attempts": attempts,
            "target_id": delivered.target_id,
            "last_error": None,
            "case_id": None,
        }

    def _serialise(self, conn: psycopg.Connection[Any], item: FeedItem) -> None:
        """Waits for any other process delivering an item that writes back the same record of
        the target (hub.contracts.feeds.SerialTarget); released when this delivery commits."""
        serial_key = getattr(self.target, "serial_key", None)
        key = serial_key(item) if serial_key is not None else None
        if key is not None:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def _later(
        self, attempts: int, basis: int, retry_after: float | None, error: str
    ) -> dict[str, Any]:
        delay = self.backoff.delay(min(basis, 10), retry_after)
        return {
            "attempts": attempts,
            "next_attempt_at": datetime.now(UTC) + timedelta(seconds=delay),
            "last_error": error[:2000],
        }

    def _failed(
        self, view: FeedView, row: dict[str, Any], attempts: int, failure: DeliveryFailed
    ) -> dict[str, Any]:
        error = f"{failure.reason}: {failure}"
        if failure.retryable and attempts < self.backoff.max_attempts:
            self.outcomes["retry"] += 1
            return self._later(attempts, attempts, failure.retry_after, error)
        reason = failure.reason if not failure.retryable else "DOWNSTREAM_TIMEOUT"
        case_id = open_case(self.app, self.target.name, row, reason, str(failure), attempts)
        earlier = row["case_id"]
        if earlier is not None and earlier != case_id:
            # An earlier version's case (the outbox keeps it when the payload changes, so
            # that delivering the new one closes it): this failure's own case replaces it.
            resolve_case(
                self.app, earlier, by=f"feed:{self.target.name}", note=f"superseded by {case_id}"
            )
        self.outcomes["failed"] += 1
        log.warning(
            "feed %s: %s %s failed: %s", self.target.name, row["entity"], row["canonical_id"], error
        )
        return {
            "state": FAILED,
            "attempts": attempts,
            "last_error": error[:2000],
            "case_id": case_id,
        }

    def _ledger_id(
        self,
        conn: psycopg.Connection[Any],
        view: FeedView,
        cid: UUID,
        key: str,
        *,
        exact: bool = True,
    ) -> str | None:
        """The target's id for a record's item as this feed delivered it; for another record
        named by a placeholder (not exact), its item whose key is the placeholder's type, else
        any of its items."""
        found = conn.execute(
            SQL(
                "SELECT target_id FROM {} WHERE canonical_id = %s AND target_id IS NOT NULL "
                "AND (lower(key) = lower(%s) OR NOT %s) "
                "ORDER BY lower(key) = lower(%s) DESC, key LIMIT 1"
            ).format(view.ledger),
            (cid, key, exact, key),
        ).fetchone()
        return None if found is None else found["target_id"]

    def _target_id(
        self, conn: psycopg.Connection[Any], view: FeedView, cid: UUID, type_: str
    ) -> str | None:
        """The id the target holds a record under: what this feed delivered, else the
        record's own xref of the target (it came from there)."""
        found = self._ledger_id(conn, view, cid, type_, exact=False)
        if found is not None:
            return found
        record = self.app.find_any(cid)
        for ref in getattr(record, "xrefs", ()):
            if ref.system == self.target.name and (not type_ or ref.type.lower() == type_.lower()):
                return str(ref.id)
        return None
