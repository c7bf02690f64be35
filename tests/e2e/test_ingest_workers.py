"""Two ingest processes on one durable consumer (`pshub serve` and `pshub worker --run
ingest`), as a deployment scales ingest: every change of a record arrives at either of them
in any order, yet each message has one effect, older changes end STALE, and every record ends
at its newest change."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import psycopg

from domain.client import Client
from domain.ids import source_id
from domain.values import SourceRef
from hub import audit
from hub.bootstrap import build_application
from hub.settings import Settings
from hub.streams import Streams
from tests.support.changes import envelope
from tests.support.processes import decided, hub_env, publish_clients, serve, stop, worker

RECORDS, VERSIONS, RESENT = 120, 8, 80


def _change(record: int, version: int) -> dict[str, Any]:
    data = {
        "id": f"W{record}",
        "legal_name": f"Worker Test {record} v{version} GmbH",
        "country": "DE",
        "billing_currency": "EUR",
    }
    return envelope("harvest", "client", data, seq=version, source_type="Client")


def test_two_ingest_processes_keep_exactly_once_and_order_per_record(
    scratch_database: str, stream_prefix: str, nats_url: str, settings: Settings
) -> None:
    url = scratch_database
    env = hub_env(url, nats_url, stream_prefix, ingest_batch_size="40", run="ingest")
    rng = random.Random(7)
    changes = [_change(r, v) for r in range(RECORDS) for v in range(1, VERSIONS + 1)]
    rng.shuffle(changes)  # versions of one record arrive in any order
    messages = changes + rng.sample(changes, RESENT)  # the resends go last, without ids

    started = [serve(env)]
    try:
        started.append(worker(env, "ingest"))
        publish_clients(nats_url, Streams(stream_prefix), messages, resent=RESENT)
        deadline = time.monotonic() + 120
        while decided(url) != (len(changes), len(messages)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop(*started)

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
