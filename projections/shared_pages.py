"""The log's latest pages, read once per process for all the live projections that follow it.

Each live projection of a process (the golden records, the metrics, the exceptions, billing
readiness, five feeds) read every page of the log from PostgreSQL on its own: the same rows
fetched and turned into notifications up to nine times, the largest self time in a feed's
profile and a share of PostgreSQL's CPU (ops/bench/feeds.py). They follow the head within a
page of each other, so the process keeps a window of the latest notifications it read: one
contiguous run of positions known to hold exactly these notifications, and a runner asking for
a page that starts inside it is answered from memory. A page past the window's end is read
from the store (under a lock: runners that ask for it at once wait for one read) and extends
the window. A rebuild's runner, far behind, reads the store directly (it is not given this).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification


class SharedPages:
    """A recorder for live ProjectionRunners: `select_notifications` served from the window."""

    def __init__(self, recorder: Any, size: int = 20_000) -> None:
        self.recorder = recorder
        self.size = size
        # Notifications in position order; every position from `_low` to the last one's
        # that holds an event is among them (positions between are gaps in the log).
        self._window: list[Notification] = []
        self._low = 0
        self._lock = threading.Lock()
        self._reading = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)  # channel_name, select_head, ...: the recorder's

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        if topics or start is None or not inclusive_of_start:
            return self.recorder.select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
        found = self._served(start, limit, stop)
        if found is not None:
            return found
        with self._reading:
            found = self._served(start, limit, stop)  # read meanwhile by another runner
            if found is not None:
                return found
            read = self.recorder.select_notifications(start=start, limit=limit, stop=stop)
            self._extend(start, read)
            return read

    def _served(self, start: int, limit: int, stop: int | None) -> list[Notification] | None:
        """The page from the window, or None when the window does not reach `start` (or
        holds nothing after it: what comes next is read from the store)."""
        with self._lock:
            window = self._window
            if not window or not self._low <= start <= window[-1].id:
                return None
            first = bisect_left(window, start, key=lambda n: n.id)
            page = window[first : first + limit]
        if stop is not None:
            page = [n for n in page if n.id <= stop]
        # A page the window ends short of the limit (and of `stop`) may have more in the
        # store: answered all the same; the runner asks again from the window's end.
        return page if page else None

    def _extend(self, start: int, read: Sequence[Notification]) -> None:
        if not read:
            return
        with self._lock:
            window = self._window
            if window and start == window[-1].id + 1:
                window.extend(read)
            elif not window or not self._low <= start <= window[-1].id:
                # Not contiguous with the window (a runner far behind or ahead): start afresh
                # from this read, which is what the runners at the head will ask for next.
                if window and start < self._low:
                    return  # a runner behind the window: keep the window at the head
                self._window = window = list(read)
                self._low = start
            if len(window) > self.size:
                cut = len(window) - self.size
                self._low = window[cut].id
                del window[:cut]
