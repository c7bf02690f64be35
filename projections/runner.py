"""Following the event log: each projection reads pages of events after its own position and
commits its writes with the new position in one transaction, so it can stop anywhere and be
rebuilt from position zero with the same result."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import IntegrityError, Notification
from psycopg.sql import SQL

log = logging.getLogger(__name__)

# The first statement of every view's DDL transaction: processes starting together (the API, a
# projection worker) would otherwise race on CREATE ... IF NOT EXISTS, which is not atomic in
# PostgreSQL (a duplicate key on pg_namespace or pg_type). The same lock as the write side's.
SERIALISE_DDL = SQL("SELECT pg_advisory_xact_lock(hashtext('pshub.schema'))")


def create_tables(create: Callable[[], None]) -> None:
    """Runs a view's create_table, again if another process made the same tables at that
    moment (a duplicate key in pg_type or pg_namespace, or the library's tracking migration
    row inserted twice): every view goes through here (hub/projecting.py), whoever wrote it."""
    for attempt in range(3):
        try:
            create()
            return
        except (IntegrityError, psycopg.errors.UniqueViolation):
            # Another process made the same object in between (CREATE ... IF NOT EXISTS is
            # not atomic in PostgreSQL): the next attempt finds it made.
            if attempt == 2:
                raise


class Projection(Protocol):
    """A read model fed by pages of the log."""

    name: str

    def position(self) -> int:
        """The last position this projection has committed."""
        ...

    def process(self, notifications: Sequence[Notification]) -> None:
        """Applies a page of events and commits them with the page's last position."""
        ...


class ProjectionRunner:
    """Runs one projection in a thread, woken by the store's NOTIFY or a local nudge."""

    def __init__(
        self,
        projection: Projection,
        recorder: Any,
        *,
        page: int = 2000,
        conninfo: str | None = None,
        idle_wait: float = 1.0,
        follow: Callable[[Projection, bool], Projection | None] | None = None,
    ) -> None:
        self.projection = projection
        # Given the projection, a replacement when a rebuild (maybe in another process) has
        # switched reads to a newer generation; None while it is the live one. Its flag asks
        # it to read the pointer afresh (a page was just refused).
        self.follow = follow
        self.recorder = recorder
        self.page = page
        self.conninfo = conninfo
        self.idle_wait = idle_wait
        self._stop = threading.Event()
        self._nudge = threading.Event()
        self._advanced = threading.Condition()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    # Running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"projection-{self.projection.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()
        if self._thread is not None:
            self._thread.join(10)

    def nudge(self) -> None:
        """Something was just appended: look now rather than at the next wake-up."""
        self._nudge.set()

    def catch_up(
        self,
        until: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        *,
        prefetch: bool = False,
    ) -> int:
        """Processes pages until the head of the log (or `until`); returns the position.
        `progress(position, events)` is called after each page. With `prefetch` (a rebuild's
        long catch-up), the next page is read while this one is processed."""
        position = self.projection.position()
        stop = until if until is not None else None
        with contextlib.ExitStack() as stack:
            ahead = stack.enter_context(ThreadPoolExecutor(1)) if prefetch else None
            following: Future[Any] | None = None
            while until is None or position < until:
                if following is not None:
                    notifications = following.result()
                else:
                    notifications = self.recorder.select_notifications(
                        start=position + 1, limit=self.page, stop=stop
                    )
                if not notifications:
                    break
                following = None
                if ahead is not None and len(notifications) == self.page:
                    following = ahead.submit(
                        self.recorder.select_notifications,
                        start=notifications[-1].id + 1,
                        limit=self.page,
                        stop=stop,
                    )
                try:
                    self.projection.process(notifications)
                except BaseException:
                    if following is not None:
                        following.cancel()
                    raise
                position = notifications[-1].id
                if progress is not None:
                    progress(position, len(notifications))
                with self._advanced:
                    self._advanced.notify_all()
        return position

    def wait_for(self, position: int, timeout: float) -> bool:
        """Waits until the projection has reached a position; False on timeout."""
        deadline = time.monotonic() + timeout
        self.nudge()
        while self.projection.position() < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._advanced:
                self._advanced.wait(min(remaining, 0.05))
        return True

    def _run(self) -> None:
        listener = self._listen()
        while not self._stop.is_set():
            try:
                self._follow()
                self.catch_up()
                self.error = None
            except Exception as exc:  # a projection must never take the hub down: retry
                if self._follow(refresh=True):
                    continue  # its generation was retired by a switch: not an error
                self.error = f"{type(exc).__name__}: {exc}"
                log.exception("projection %s failed; retrying", self.projection.name)
                self._stop.wait(1.0)
                continue
            self._idle(listener)
        if listener is not None:
            listener.close()

    def _follow(self, *, refresh: bool = False) -> bool:
        """Moves to the live generation if a switch retired this one; True if it moved."""
        if self.follow is None:
            return False
        try:
            replacement = self.follow(self.projection, refresh)
        except Exception:  # the store is unreachable: the loop's retry covers it
            log.warning("projection %s: could not read its generation", self.projection.name)
            return False
        if replacement is None:
            return False
        log.info("projection %s follows the switch to a new generation", self.projection.name)
        self.projection = replacement
        with self._advanced:
            self._advanced.notify_all()
        return True

    def _listen(self) -> psycopg.Connection | None:
        if not self.conninfo:
            return None
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True)
            conn.execute(f"LISTEN {self.recorder.channel_name}")
            return conn
        except psycopg.Error:
            log.warning("projection %s: no LISTEN connection; polling", self.projection.name)
            return None

    def _idle(self, listener: psycopg.Connection | None) -> None:
        if self._nudge.is_set():
            self._nudge.clear()
            return
        if listener is None:
            self._nudge.wait(self.idle_wait)
            self._nudge.clear()
            return
        try:
            for _ in listener.notifies(timeout=self.idle_wait, stop_after=1):
                break
        except psycopg.Error:
            self._nudge.wait(self.idle_wait)
