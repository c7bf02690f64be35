"""Shared by the benchmarks: a scratch database of their own, and timing."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hub.embedded import EmbeddedPostgres


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """Yields the URL of a new database (dropped afterwards) on PSHUB_BENCH_DATABASE_URL,
    else the local server on 127.0.0.1:5432, else an embedded one."""
    server = os.environ.get(
        "PSHUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    embedded = None
    try:
        psycopg.connect(server, connect_timeout=2).close()
    except psycopg.Error:
        import tempfile  # noqa: PLC0415
        from pathlib import Path  # noqa: PLC0415

        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="pshub-bench-")), "delete")
        server = embedded.start()
    name = f"pshub_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server, dbname=name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if embedded is not None:
            embedded.stop()


@dataclass
class Figure:
    name: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


def timed(name: str, count: int, work: Callable[[], None]) -> Figure:
    start = time.perf_counter()
    work()
    return Figure(name, count, time.perf_counter() - start)
