"""Two ingest processes on one durable consumer (`pshub serve` and `pshub worker --run
ingest`), as a deployment scales ingest: every change of a record arrives at either of them
in any order, yet each message has one effect, older changes end STALE, and every record ends
at its newest change."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import nats
import psycopg

from domain.client import Client
from domain.ids import source_id
from domain.values import SourceRef
from hub import audit
from hub.bootstrap import build_application
from hub.settings import Settings
from hub.streams import Streams, ensure_streams
from tests.support.changes import envelope
from tests.support.processes import decided, serve, worker

RECORDS, VERSIONS, RESENT = 120, 8, 80


def _change(record: int, version: int) -> dict[str, Any]:
    data = {
        "id": f"W{record}",
        "legal_name": f"Worker Test {record} v{version} GmbH",
        "country": "DE",
        "billing_currency": "EUR",
    }
    return envelope("harvest", "client", data, seq=version, source_type="Client")


async def _publish(nats_url: str, streams: Streams, messages: list[tuple[dict, bool]]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, streams)
    for start in range(0, len(messages), 200):
        await asyncio.gather(
            *(
                js.publish(
                    streams.ingest_subject("harvest", "client"),
                    json.dumps(body).encode(),
                    # A resend carries no Nats-Msg-Id: the hub, not JetStream, must drop it.
                    headers={} if resent else {"Nats-Msg-Id": body["id"]},
                )
                for body, resent in messages[start : start + 200]
            )
        )
    await nc.close()


def test_two_ingest_processes_keep_exactly_once_and_order_per_record(
    make_database: Callable[[str], str], nats_url: str, settings: Settings
) -> None:
    url = make_database("workers")
    prefix = f"W{uuid.uuid4().hex[:8].upper()}_"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")},
        "PSHUB_DATABASE_URL": url,
        "PSHUB_NATS_URL": nats_url,
        "PSHUB_NATS_PREFIX": prefix,
        "PSHUB_INGEST_BATCH_SIZE": "40",
        "PSHUB_RUN": "ingest",
    }
    rng = random.Random(7)
    changes = [_change(r, v) for r in range(RECORDS) for v in range(1, VERSIONS + 1)]
    rng.shuffle(changes)  # versions of one record arrive in any order
    messages = [(body, False) for body in changes]
    messages += [(body, True) for body in rng.sample(changes, RESENT)]

    first = serve(env)
    second = worker(env, "ingest")
    try:
        asyncio.run(_publish(nats_url, Streams(prefix), messages))
        deadline = time.monotonic() + 120
        while decided(url) != (len(changes), len(messages)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for proc in (first, second):
            proc.send_signal(signal.SIGINT)
        for proc in (first, second):
            proc.wait(60)

    assert decided(url) == (len(changes), len(messages))
    with psycopg.connect(url) as conn:
        outcomes = Counter(
            dict(conn.execute("SELECT outcome, count(*) FROM hub_ingest_messages GROUP BY 1"))
        )
        sequences = dict(
            conn.execute("SELECT key, sequence FROM hub_claims WHERE key LIKE 'xref:harvest|%'")
        )
    # Every message decided once; nothing but applied, or stale / duplicate by sequence.
    assert set(outcomes) <= {"applied", "stale", "duplicate"}, outcomes
    assert sum(outcomes.values()) == len(changes)
    assert outcomes["applied"] >= RECORDS
    assert set(sequences.values()) == {f"{VERSIONS:012d}"}
    app = build_application(settings, url)
    try:
        for record in range(RECORDS):
            ref = SourceRef("harvest", "t1", "Client", f"W{record}")
            client = app.get(source_id("client", ref), Client)
            assert client.legal_name == f"Worker Test {record} v{VERSIONS} GmbH"
    finally:
        app.close()
    assert audit.verify(url, "hub_events").intact
