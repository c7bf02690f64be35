"""The live projections of a process read each page of the log once (SharedPages), and every
runner still sees exactly what the store holds: the same pages as reading it directly, from
any position, with events recorded between the reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.bootstrap import build_application
from hub.settings import Settings
from hub.store.recorder import EventMeta
from projections.shared_pages import SharedPages


class Counting:
    """The real recorder, counting the pages read from the store."""

    def __init__(self, recorder: Any) -> None:
        self.recorder, self.reads = recorder, 0

    def select_notifications(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return self.recorder.select_notifications(*args, **kwargs)


@pytest.fixture
def app(settings: Settings, scratch_database: str) -> Iterator[Any]:
    app = build_application(settings, scratch_database)
    yield app
    app.close()


def register(app: Any, n: int, start: int = 0) -> None:
    meta = EventMeta(system="api", actor="test")
    for i in range(start, start + n):
        app.register_client(
            legal_name=f"Client {i} Ltd", country="GB", billing_currency="GBP", meta=meta
        )


def read_all(recorder: Any, start: int, page: int) -> list[int]:
    found: list[int] = []
    while True:
        notifications = recorder.select_notifications(start=start, limit=page)
        if not notifications:
            return found
        found += [n.id for n in notifications]
        start = notifications[-1].id + 1


def test_runners_at_the_head_share_one_read_of_each_page(app: Any) -> None:
    register(app, 30)
    store = Counting(app.hub_recorder)
    shared = SharedPages(store, size=1000)
    direct = read_all(app.hub_recorder, 1, 7)
    assert read_all(shared, 1, 7) == direct
    reads = store.reads
    for _ in range(4):  # four more runners following the same log
        assert read_all(shared, 1, 7) == direct
    assert store.reads - reads == 4, "each later runner only looked past the window's end"
    register(app, 5, start=30)  # recorded between the reads: read once, then shared
    tail = read_all(app.hub_recorder, direct[-1] + 1, 7)
    assert tail and read_all(shared, direct[-1] + 1, 7) == tail
    assert read_all(shared, 1, 50) == direct + tail
    assert shared.select_notifications(direct[3], 5, stop=direct[5]) == (
        app.hub_recorder.select_notifications(direct[3], 5, stop=direct[5])
    )


def test_a_runner_behind_the_window_reads_the_store_and_the_window_stays_at_the_head(
    app: Any,
) -> None:
    register(app, 40)
    store = Counting(app.hub_recorder)
    shared = SharedPages(store, size=10)
    direct = read_all(app.hub_recorder, 1, 4)
    assert read_all(shared, 1, 4) == direct  # the window keeps the last 10 positions
    reads = store.reads
    assert read_all(shared, 1, 4) == direct
    assert store.reads - reads > len(direct) // 4 - 3, "the early pages came from the store"
    reads = store.reads
    assert read_all(shared, direct[-8], 4) == direct[-8:]
    assert store.reads - reads == 1, "the head's pages from the window, then one look past it"
