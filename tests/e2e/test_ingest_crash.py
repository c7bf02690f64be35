"""kill -9 of the ingesting process in the middle of its work: after a restart nothing is lost
and nothing is doubled, checked by counting."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable

import psycopg

from hub import audit
from hub.streams import Streams
from tests.support.changes import envelope
from tests.support.processes import decided, hub_env, publish_clients, serve

MESSAGES = 3000


def test_kill_9_mid_batch_loses_nothing_and_doubles_nothing(
    make_database: Callable[[str], str], nats_url: str
) -> None:
    url = make_database("crash")
    prefix = f"K{uuid.uuid4().hex[:8].upper()}_"
    env = hub_env(url, nats_url, prefix, ingest_batch_size="100", ingest_ack_wait="2")
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
    publish_clients(nats_url, Streams(prefix), bodies)

    kills = 0
    for threshold in (MESSAGES // 5, MESSAGES // 2, (MESSAGES * 4) // 5):
        proc = serve(env)
        while decided(url)[0] < threshold and proc.poll() is None:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown, no ack, mid-batch
        proc.wait(30)
        kills += 1
    proc = serve(env)
    try:
        deadline = time.monotonic() + 120
        while decided(url)[0] < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)

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
