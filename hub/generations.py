"""Which generation of each projection serves reads, as every process sees it.

The pointer is a row of hub_projections. A switch updates it and NOTIFYs in one transaction;
each process's watcher LISTENs and re-reads the pointers (and polls, should a notification be
missed), so an API or worker process follows a rebuild made elsewhere without a restart.

Writes are fenced: a projection's write transaction reads the pointer and refuses to commit
into a generation older than the live one (`GenerationRetired`), holding a share lock on the
row while the generation it writes is the live one. A switch takes the row's update lock, so
while it compares positions and moves the pointer, no page can commit into the outgoing
generation, and the incoming one never serves reads that are behind what the old one served.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import zlib
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)

TABLE = "hub_projections"
# NOTIFY channel of a switch; the payload is the projection's name.
CHANNEL = "pshub_generations"
# Advisory lock of a running rebuild (one per projection, across processes): "pshb".
_LOCK_CLASS = 0x70736862


class GenerationRetired(Exception):
    """A page was about to commit into a generation a rebuild has replaced."""


def rebuild_lock_key(name: str) -> int:
    """The advisory lock (one bigint) that a running rebuild of the projection holds."""
    return (_LOCK_CLASS << 32) | zlib.crc32(name.encode())


def pointer_table(datastore: PostgresDatastore) -> Identifier:
    return Identifier(datastore.schema, TABLE)


def read_pointers(conn: psycopg.Connection[Any], schema: str) -> dict[str, int]:
    rows = conn.execute(
        SQL("SELECT name, generation FROM {}").format(Identifier(schema, TABLE))
    ).fetchall()
    return {_get(r, "name", 0): int(_get(r, "generation", 1)) for r in rows}


def _get(row: Any, key: str, index: int) -> Any:
    return row[key] if isinstance(row, dict) else row[index]


def ensure_pointer(datastore: PostgresDatastore, name: str) -> int:
    """The live generation of a projection (1 for one never rebuilt)."""
    table = pointer_table(datastore)
    with datastore.get_connection() as conn:
        conn.execute(
            SQL(
                "INSERT INTO {} (name, generation) VALUES (%s, 1) ON CONFLICT (name) DO NOTHING"
            ).format(table),
            (name,),
        )
        row = conn.execute(
            SQL("SELECT generation FROM {} WHERE name = %s").format(table), (name,)
        ).fetchone()
    return int(row["generation"])


def fence(view: Any, name: str) -> Any:
    """Makes a tracking view's write transactions check the pointer before they commit.

    Every view records its position with `_insert_tracking(curs, tracking)` inside its write
    transaction (PostgresTrackingRecorder), so the check is added there, for every kind of
    projection alike. A generation newer than the pointer (a rebuild filling it) writes
    without a lock: nothing reads it yet, and a switch may be waiting for it to catch up.
    """
    table = pointer_table(view.datastore)
    read = SQL("SELECT generation FROM {} WHERE name = %s").format(table)
    locked = SQL("SELECT generation FROM {} WHERE name = %s FOR SHARE").format(table)
    insert_tracking = view._insert_tracking
    generation = view.generation

    def checked(curs: Any, tracking: Any) -> None:
        row = curs.execute(read, (name,), prepare=True).fetchone()
        if row is not None and _get(row, "generation", 0) == generation:
            row = curs.execute(locked, (name,), prepare=True).fetchone()
        elif row is not None and _get(row, "generation", 0) < generation:
            # A rebuild's page need not wait for its WAL to reach the disk: a crash before
            # the switch means rebuilding again, and the switch's own commit waits for every
            # page before it (the WAL is flushed in order).
            curs.execute("SET LOCAL synchronous_commit = off")
        if row is not None and _get(row, "generation", 0) > generation:
            raise GenerationRetired(
                f"{name} generation {generation} was replaced by {_get(row, 'generation', 0)}"
            )
        insert_tracking(curs, tracking)

    view._insert_tracking = checked
    return view


class Generations:
    """This process's view of the pointers: refreshed when a switch is notified, and polled."""

    def __init__(
        self, datastore: PostgresDatastore, conninfo: str | None, *, poll: float = 1.0
    ) -> None:
        self.datastore = datastore
        self.conninfo = conninfo
        self.poll = poll
        self._current: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def current(self, name: str) -> int:
        generation = self._current.get(name)
        if generation is None:
            generation = ensure_pointer(self.datastore, name)
            with self._lock:
                self._current.setdefault(name, generation)
        return generation

    def refresh(self) -> dict[str, int]:
        with self.datastore.get_connection() as conn:
            pointers = read_pointers(conn, self.datastore.schema)
        with self._lock:
            # A pointer only moves forward: a slow read never takes a process back.
            for name, generation in pointers.items():
                if generation >= self._current.get(name, 0):
                    self._current[name] = generation
        return dict(self._current)

    # Watching ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None and self.conninfo:
            self._thread = threading.Thread(
                target=self._watch, name="projection-generations", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # Wake the watcher now rather than at its next poll (any other process's watcher
            # just reads the pointers once more).
            with contextlib.suppress(Exception), self.datastore.get_connection() as conn:
                conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
            self._thread.join(5)
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo or "", autocommit=True) as conn:
                    conn.execute(SQL("LISTEN {}").format(Identifier(CHANNEL)))
                    while not self._stop.is_set():
                        self.refresh()
                        for _ in conn.notifies(timeout=self.poll, stop_after=1):
                            break
            except Exception:  # the database went away: keep the last pointers, retry
                log.warning("generation watcher lost its connection; retrying", exc_info=True)
                self._stop.wait(self.poll)
