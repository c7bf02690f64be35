"""Projections (each feed, the golden records) read the records a page changes that are not in
memory together (one query), and write the same rows as when every record was in memory:
updates of records last changed long ago (a week's time approved at once) no longer cost a
query each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg.sql import SQL

from domain.time_entry import TimeEntry
from hub.bootstrap import build_application
from hub.demo import DemoSpec, load_demo
from hub.feeds.registry import known_targets
from hub.feeds.running import feed_projection, feed_view
from hub.projecting import GOLDEN, KINDS, _loader, _many_loader, decoding
from hub.settings import Settings
from hub.store.recorder import EventMeta
from projections.runner import ProjectionRunner
from projections.states import SharedStates

PAGE = 200


@pytest.fixture(scope="module")
def app(settings: Settings, make_database: Any) -> Iterator[Any]:
    app = build_application(settings, make_database("preload"))
    load_demo(app, DemoSpec(seed=11, scale=0.05), progress=False)
    # Then every time entry revised, long after it was last changed: each a cache miss.
    entries = [
        n.originator_id
        for n in app.hub_recorder.select_notifications(1, 100_000)
        if n.topic == "domain.time_entry:TimeEntry.Recorded"
    ]
    for entry_id in entries:
        entry = app.get(entry_id, TimeEntry)
        entry.revise(locked_reason="period closed")
        app.record(entry, meta=EventMeta(actor="test"))
    yield app
    app.close()


def _outbox(view: Any) -> list[Any]:
    with view.datastore.get_connection() as conn:
        return conn.execute(
            SQL(
                "SELECT canonical_id, key, entity, version, position, idempotency_key, "
                "payload, payload_hash, published, state FROM {} ORDER BY canonical_id, key"
            ).format(view.outbox)
        ).fetchall()


def _time_entries(view: Any) -> list[Any]:
    with view.datastore.get_connection() as conn:
        return conn.execute(
            SQL("SELECT * FROM {} ORDER BY id").format(view.table("time_entry"))
        ).fetchall()


def _project_twice(
    app: Any,
    make_view: Callable[[int], Any],
    make: Callable[[Any, SharedStates], Any],
    rows: Callable[[Any], Any],
) -> tuple[list[Any], list[int]]:
    """Projects the log into two fresh generations, with room for every record's states and
    with room for two pages' (nearly every update is of a record pushed out long before);
    returns each one's rows and how many records each read one by one."""
    written, single_loads = [], []
    for generation, size in ((101, 1_000_000), (102, 2 * PAGE)):
        view = make_view(generation)
        view.drop()
        view.create_table()
        loads: list[Any] = []
        load = _loader(app)
        states = SharedStates(
            decoding(app),
            lambda i, v, loads=loads, load=load: loads.append(i) or load(i, v),
            _many_loader(app),
            size=size,
        )
        ProjectionRunner(make(view, states), app.hub_recorder, page=PAGE).catch_up()
        written.append(rows(view))
        single_loads.append(len(loads))
        view.drop()
    return written, single_loads


@pytest.mark.parametrize("target", ["netsuite", "quickbooks"])
def test_records_missing_from_memory_are_read_per_page_and_fold_the_same_outbox(
    app: Any, target: str
) -> None:
    outboxes, single_loads = _project_twice(
        app,
        lambda generation: feed_view(app, target, generation),
        lambda view, states: feed_projection(app, known_targets()[target], view, states=states),
        _outbox,
    )
    assert outboxes[0] and outboxes[0] == outboxes[1]
    # Nearly every update misses: read per page, not one by one.
    assert single_loads[1] < 50, f"{single_loads[1]} records were read one by one"


def test_the_golden_records_read_missing_records_per_page_and_write_the_same_rows(app: Any) -> None:
    tables, single_loads = _project_twice(
        app,
        lambda generation: KINDS[GOLDEN].view(app, generation),
        lambda view, states: KINDS[GOLDEN].projection(app, view, states),
        _time_entries,
    )
    assert tables[0] and tables[0] == tables[1]
    assert single_loads[1] < 50, f"{single_loads[1]} records were read one by one"
