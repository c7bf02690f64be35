"""kill -9 of the ingesting process in the middle of its work: after a restart nothing is lost
and nothing is doubled, checked by counting."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psycopg

from hub import audit
from hub.streams import Streams
from tests.support.changes import envelope
from tests.support.processes import decided, hub_env, publish_clients, serve, stop

MESSAGES = 3000


def test_kill_9_mid_batch_loses_nothing_and_doubles_nothing(
    scratch_database: str, stream_prefix: str, nats_url: str
) -> None:
    url = scratch_database
    env = hub_env(url, nats_url, stream_prefix, ingest_batch_size="100", ingest_ack_wait="2")
    bodies = [
        envelope(
            "harvest",
            "client",
            {
                "id": f"C{i}",
                "legal_name": f"Crash Test {i} GmbH",
                "country": "DE",
                "billing_currency": "EUR",
            },
            source_type="Client",
        )
        for i in range(MESSAGES)
    ]
    publish_clients(nats_url, Streams(stream_prefix), bodies)

    kills = 0
    started: list[subprocess.Popen[bytes]] = []
    try:
        for threshold in (MESSAGES // 5, MESSAGES // 2, (MESSAGES * 4) // 5):
            proc = serve(env)
            started.append(proc)
            while decided(url)[0] < threshold and proc.poll() is None:
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)  # no shutdown, no ack, mid-batch
            proc.wait(30)
            kills += 1
        started.append(serve(env))
        deadline = time.monotonic() + 120
        while decided(url)[0] < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop(*started)

    with psycopg.connect(url) as conn:
        outcomes = dict(
            conn.execute("SELECT outcome, count(*) FROM hub_ingest_messages GROUP BY 1").fetchall()
        )
        (events,) = conn.execute(
            "SELECT count(*) FROM hub_events WHERE entity = 'client'"
        ).fetchone()
        (clients,) = conn.execute(
            "SELECT count(DISTINCT originator_id) FROM hub_events WHERE entity = 'client'"
        ).fetchone()
        (claims,) = conn.execute(
            "SELECT count(*) FROM hub_claims WHERE key LIKE 'xref:harvest|%'"
        ).fetchone()
    assert kills == 3
    assert outcomes == {"applied": MESSAGES}, outcomes
    assert clients == MESSAGES  # nothing lost
    assert events == MESSAGES  # nothing doubled: one Registered event per client
    assert claims == MESSAGES
    assert audit.verify(url, "hub_events").intact
