"""The suite and the benchmarks share their PostgreSQL and NATS servers with other people:
whatever they create is gone when they end, also when a test fails or a benchmark is
interrupted. (Every session checks its own leftovers at its end; these tests show that the
check fails a session that leaks, and that the benchmarks clean up after Ctrl-C.)"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from hub.streams import Streams, remove_streams
from tests.support.hygiene import databases_of, drop_databases, streams_of

ROOT = Path(__file__).resolve().parents[2]


def _env(**settings: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")}, **settings}


def test_a_session_that_leaks_fails_names_each_leftover_and_still_leaves_nothing(
    server_url: str, nats_url: str
) -> None:
    session = uuid.uuid4().hex[:8]
    prefix, db_prefix = f"T{session.upper()}_", f"pshub_test_{session}_"
    env = _env(
        PSHUB_TEST_SESSION=session,
        PSHUB_TEST_DATABASE_URL=server_url,
        PSHUB_TEST_NATS_URL=nats_url,
    )
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/e2e/hygiene_leaks.py",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        streams, databases = streams_of(nats_url, prefix), databases_of(server_url, db_prefix)
        remove_streams(nats_url, prefix)
        drop_databases(server_url, databases)
    out = result.stdout
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out[-3000:] + result.stderr
    assert "2 failed, 2 passed" in out, out[-3000:]
    assert "left behind on shared servers" in out, out[-3000:]
    report = out.split("left behind on shared servers", 1)[1]
    reported = set(re.findall(r"^ +((?:stream|database) \S+)", report, re.MULTILINE))
    # Only what the two leaking tests made: the failing tests' hubs, streams (with messages)
    # and databases went when they ended.
    leaked = {f"stream {config.name}" for config in Streams(f"{prefix}LEAK_").configs()}
    assert reported == {*leaked, f"database {db_prefix}leak"}, report
    assert (streams, databases) == ([], [])


def _scratch(bench: subprocess.Popen[str]) -> tuple[str, str]:
    """The NATS prefix and database name the benchmark prints as it creates them."""
    assert bench.stdout is not None
    prefix = database = ""
    while not (prefix and database):
        line = bench.stdout.readline()
        assert line, "the benchmark ended before naming its scratch database and prefix"
        if found := re.search(r"scratch NATS prefix (\S+),", line):
            prefix = found[1]
        if found := re.search(r"scratch database (\S+),", line):
            database = found[1]
    return prefix, database


def _ingesting(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM hub_ingest_messages").fetchone()
    except psycopg.Error:  # the hub has not made its tables yet
        return False
    return row is not None and row[0] > 0


@pytest.mark.timeout(900)
@pytest.mark.parametrize("interruption", ["ctrl-c", "sigterm"])
def test_an_interrupted_ingest_benchmark_leaves_no_stream_database_or_process(
    server_url: str, nats_url: str, interruption: str
) -> None:
    env = _env(PSHUB_BENCH_DATABASE_URL=server_url, PSHUB_BENCH_NATS_URL=nats_url)
    bench = subprocess.Popen(
        [sys.executable, "-u", "ops/bench/ingest.py", "--messages", "20000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a group of its own, as a shell gives a command
    )
    prefix = database = ""
    hubs: list[psutil.Process] = []
    try:
        prefix, database = _scratch(bench)
        deadline = time.monotonic() + 300  # the bench loads and starts two hubs first
        while not _ingesting(make_conninfo(server_url, dbname=database)):
            assert bench.poll() is None and time.monotonic() < deadline, "no ingest started"
            time.sleep(0.05)
        hubs = psutil.Process(bench.pid).children(recursive=True)
        assert len(hubs) == 2  # ingest and projections, both running, mid-run
        if interruption == "ctrl-c":  # the terminal signals the whole foreground group
            os.killpg(bench.pid, signal.SIGINT)
        else:  # kill <pid>, or a CI timeout: the benchmark alone
            bench.send_signal(signal.SIGTERM)
        # Generous: with the suite's other workers busy, the hubs' shutdown and the scratch
        # database's drop took over 3 minutes (a bound, not a timing: it only catches a hang).
        output, _ = bench.communicate(timeout=600)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        survivors = [p for p in hubs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        with contextlib.suppress(ProcessLookupError):  # never leave the bench's hubs behind
            os.killpg(bench.pid, signal.SIGKILL)
        streams = streams_of(nats_url, prefix) if prefix else []
        databases = databases_of(server_url, database) if database else []
        if prefix:
            remove_streams(nats_url, prefix)
        drop_databases(server_url, databases)
    assert bench.returncode != 0, output  # interrupted, not finished
    # Interrupted, or (where the signal reached only the hubs) stopped because they exited.
    assert "KeyboardInterrupt" in output or "exited: decided" in output, output[-3000:]
    assert streams == [], output[-3000:]
    assert databases == [], output[-3000:]
    assert not survivors
