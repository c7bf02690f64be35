"""kill -9 of the ingesting process in the middle of its work: after a restart nothing is lost
and nothing is doubled, checked by counting."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable

import nats
import psycopg

from hub import audit
from hub.streams import Streams, ensure_streams
from tests.support.changes import envelope
from tests.support.processes import decided, serve

MESSAGES = 3000


async def _publish(nats_url: str, streams: Streams, bodies: list[dict]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, streams)
    for start in range(0, len(bodies), 500):
        await asyncio.gather(
            *(
                js.publish(
                    streams.ingest_subject("harvest", "client"),
                    json.dumps(b).encode(),
                    headers={"Nats-Msg-Id": b["id"]},
                )
                for b in bodies[start : start + 500]
            )
        )
    await nc.close()


def test_kill_9_mid_batch_loses_nothing_and_doubles_nothing(
    make_database: Callable[[str], str], nats_url: str
) -> None:
    url = make_database("crash")
    prefix = f"K{uuid.uuid4().hex[:8].upper()}_"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")},
        "PSHUB_DATABASE_URL": url,
        "PSHUB_NATS_URL": nats_url,
        "PSHUB_NATS_PREFIX": prefix,
        "PSHUB_INGEST_BATCH_SIZE": "100",
        "PSHUB_INGEST_ACK_WAIT": "2",
    }
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
    asyncio.run(_publish(nats_url, Streams(prefix), bodies))

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
