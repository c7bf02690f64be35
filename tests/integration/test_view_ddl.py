"""Processes that start together create the same views at once (the API and a projection worker
did, and one died on a duplicate key in pg_namespace, then in pg_type): every projection's view,
whoever wrote it, is created through hub/projecting.py, which takes turns and tries again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hub.bootstrap import build_application
from hub.projecting import KINDS, view_of
from hub.settings import Settings


def _open(app: Any, name: str, generation: int, start: threading.Barrier, failures: list) -> None:
    start.wait()
    try:
        view_of(app, name, generation)
    except Exception as exc:  # reported by the test
        failures.append((name, exc))


def test_every_view_of_a_new_generation_created_at_once_by_several_processes(
    settings: Settings, make_database: Callable[[str], str]
) -> None:
    app = build_application(settings, make_database("viewddl"))
    try:
        for generation in range(50, 54):  # fresh schemas and tables each round
            names = [name for name in KINDS for _ in range(2)]
            start = threading.Barrier(len(names))
            failures: list = []
            threads = [
                threading.Thread(target=_open, args=(app, name, generation, start, failures))
                for name in names
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
            with app.hub_recorder.datastore.get_connection() as conn:
                schema = conn.execute(
                    "SELECT count(*) AS n FROM pg_namespace WHERE nspname = %s",
                    (f"golden_g{generation}",),
                ).fetchone()
            assert schema["n"] == 1
    finally:
        app.close()
