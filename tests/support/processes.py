"""Hub processes as a deployment runs them (`pshub serve`, `pshub worker`), for the tests that
kill or multiply them."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from hub.embedded import free_port


def serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts `pshub serve` and returns once it is ready."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "pshub serve exited"
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("pshub serve did not become ready")


def worker(env: dict[str, str], run: str) -> subprocess.Popen[bytes]:
    """Starts `pshub worker --run <run>` and returns once it has subscribed."""
    out = Path(tempfile.mkstemp(prefix="pshub-worker-")[1])
    with out.open("wb") as sink:  # a file, not a pipe: an undrained pipe would stall it
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "worker", "--run", run],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"worker running" not in out.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the worker did not start: {out.read_text()[-2000:]}")
        time.sleep(0.05)
    return proc


def decided(url: str) -> tuple[int, int]:
    """Message ids decided so far, and deliveries counted over them."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(deliveries), 0) FROM hub_ingest_messages "
            "WHERE outcome <> 'pending'"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
