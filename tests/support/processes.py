"""Hub processes as a deployment runs them (`pshub serve`, `pshub worker`), for the tests that
kill or multiply them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg

from hub.embedded import free_port
from hub.streams import Streams, ensure_streams


def serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts `pshub serve` and returns once it is ready."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    return proc
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "pshub serve exited"
            time.sleep(0.05)
        raise AssertionError("pshub serve did not become ready")
    except BaseException:  # Ctrl-C included: the caller never gets it to stop
        stop(proc)
        raise


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
    try:
        deadline = time.monotonic() + 60
        while b"worker running" not in out.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the worker did not start: {out.read_text()[-2000:]}")
            time.sleep(0.05)
    except BaseException:  # Ctrl-C included: the caller never gets it to stop
        stop(proc)
        raise
    finally:
        out.unlink(missing_ok=True)
    return proc


def stop(*procs: subprocess.Popen[bytes], grace: float = 60) -> None:
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


def decided(url: str) -> tuple[int, int]:
    """Message ids decided so far, and deliveries counted over them."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(deliveries), 0) FROM hub_ingest_messages "
            "WHERE outcome <> 'pending'"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def hub_env(database_url: str, nats_url: str, prefix: str, **settings: str) -> dict[str, str]:
    """The environment of a hub process on these servers: no PSHUB_ setting of the caller's,
    then the given ones (PSHUB_<NAME>=value for name=value)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")},
        "PSHUB_DATABASE_URL": database_url,
        "PSHUB_NATS_URL": nats_url,
        "PSHUB_NATS_PREFIX": prefix,
        **{f"PSHUB_{name.upper()}": value for name, value in settings.items()},
    }


def publish_clients(
    nats_url: str, streams: Streams, bodies: list[dict[str, Any]], *, resent: int = 0
) -> None:
    """Publishes client change events on ingest.harvest.client, 200 at a time; the last
    `resent` carry no Nats-Msg-Id, so the hub, not JetStream, must drop them as duplicates."""

    async def run() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_streams(js, streams)
        first_resent = len(bodies) - resent
        for start in range(0, len(bodies), 200):
            await asyncio.gather(
                *(
                    js.publish(
                        streams.ingest_subject("harvest", "client"),
                        json.dumps(body).encode(),
                        headers={} if n >= first_resent else {"Nats-Msg-Id": body["id"]},
                    )
                    for n, body in enumerate(bodies[start : start + 200], start)
                )
            )
        await nc.close()

    asyncio.run(run())
