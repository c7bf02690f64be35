"""Shared by the benchmarks: a scratch database and NATS prefix of their own, their child
processes, and timing.

The servers are shared, so whatever a run creates goes when it ends, also when it fails or is
interrupted (Ctrl-C, SIGTERM, SIGHUP): child processes stop first, then the run's streams are
deleted, then its database is dropped. Nested as

    with scratch_database("x") as url, scratch_streams(nats_url) as prefix, children() as kids:
        hub = kids.popen([...])

exits in that order. Only `kill -9` of the benchmark itself leaves them behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hub.embedded import EmbeddedPostgres
from hub.streams import remove_streams


def bench_nats_url() -> str:
    """The NATS server the benchmarks publish to."""
    return os.environ.get("PSHUB_BENCH_NATS_URL", "nats://127.0.0.1:4222")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def _cleaned_up_on_termination() -> Iterator[None]:
    """While the body runs, SIGTERM and SIGHUP interrupt it as Ctrl-C does, so that the
    `finally` blocks run instead of the process vanishing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _shielded() -> Iterator[None]:
    """Ignores SIGINT, SIGTERM and SIGHUP while cleanup runs: a second Ctrl-C must not leave
    half of it undone (it is bounded: children get 60 s before SIGKILL)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="pshub-bench-")), "delete")
        server = embedded.start()
    name = f"pshub_bench_{label}_{uuid.uuid4().hex[:8]}"
    with _cleaned_up_on_termination():
        try:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"(scratch database {name}, dropped at the end)", flush=True)
            yield make_conninfo(server, dbname=name)
        finally:
            with _shielded():
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                if embedded is not None:
                    embedded.stop()


@contextmanager
def kept_database(label: str) -> Iterator[str]:
    """Yields the URL of database `pshub_bench_kept_<label>` on the bench's server, made if
    missing and never dropped: a bench may load it once and measure it again later (the
    caller says how to drop it). No embedded fallback: an embedded server goes with the run."""
    server = os.environ.get(
        "PSHUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"pshub_bench_kept_{label}"
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(
        f"(kept database {name}: {'reused' if exists else 'new'}; drop it with "
        f"psql -c 'DROP DATABASE {name}')",
        flush=True,
    )
    yield make_conninfo(server, dbname=name)


@contextmanager
def scratch_streams(nats_url: str) -> Iterator[str]:
    """Yields a NATS prefix of this run's own (`B<hex>_`); every stream under it, and so every
    consumer, is deleted afterwards."""
    prefix = f"B{uuid.uuid4().hex[:8].upper()}_"
    with _cleaned_up_on_termination():
        try:
            print(f"(scratch NATS prefix {prefix}, its streams deleted at the end)", flush=True)
            yield prefix
        finally:
            with _shielded():
                remove_streams(nats_url, prefix)


def stop(procs: Sequence[subprocess.Popen[Any]], grace: float = 60) -> None:
    """Interrupts each running process as Ctrl-C would; kills what still runs after grace s."""
    running = [proc for proc in procs if proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for proc in running:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Children:
    """A run's child processes, each registered as it starts, so none outlives the run."""

    started: list[subprocess.Popen[Any]] = field(default_factory=list)

    def popen(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(args, **kwargs)
        self.started.append(proc)
        return proc

    def stop(self) -> None:
        """Stops those still running, last started first."""
        stop(self.started[::-1])


@contextmanager
def children() -> Iterator[Children]:
    """Yields a Children whose processes are stopped (SIGINT, then SIGKILL) on the way out."""
    kids = Children()
    with _cleaned_up_on_termination():
        try:
            yield kids
        finally:
            with _shielded():
                kids.stop()


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
