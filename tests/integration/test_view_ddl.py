"""Processes that start together create the same views at once (the API and a projection worker
did, and one died on a duplicate key in pg_namespace): creation is serialised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hub.bootstrap import build_application
from hub.settings import Settings
from projections.exceptions.view import ExceptionsView
from projections.golden_records.view import GoldenRecordsView


def _create(
    kind: type, datastore: Any, generation: int, start: threading.Barrier, failures: list
) -> None:
    start.wait()
    try:
        kind(datastore, generation=generation).create_table()
    except Exception as exc:  # reported by the test
        failures.append(exc)


def test_views_of_a_new_generation_created_at_once_by_several_processes(
    settings: Settings, make_database: Callable[[str], str]
) -> None:
    app = build_application(settings, make_database("viewddl"))
    try:
        datastore = app.hub_recorder.datastore
        for generation in range(50, 56):  # fresh schemas and tables each round
            start = threading.Barrier(4)
            failures: list[BaseException] = []

            threads = [
                threading.Thread(
                    target=_create, args=(kind, datastore, generation, start, failures)
                )
                for kind in (GoldenRecordsView, GoldenRecordsView, ExceptionsView, ExceptionsView)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
            with datastore.get_connection() as conn:
                schema = conn.execute(
                    "SELECT count(*) AS n FROM pg_namespace WHERE nspname = %s",
                    (f"golden_g{generation}",),
                ).fetchone()
            assert schema["n"] == 1
    finally:
        app.close()
