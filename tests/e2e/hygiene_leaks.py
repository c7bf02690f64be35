"""Tests that fail, and tests that leave things behind, on purpose: run only by
test_hygiene.py in a session of its own (the file name keeps pytest from collecting it
otherwise). That session must fail, name each leftover, and still leave nothing behind."""

from __future__ import annotations

import asyncio
import time

import nats
import psycopg
from psycopg import sql

from hub.streams import Streams, ensure_streams
from tests.support.changes import envelope
from tests.support.hygiene import Databases
from tests.support.processes import decided, hub_env, publish_clients, serve, stop
from tests.support.running import Running


def _client(source: str) -> dict[str, str]:
    return {
        "id": source,
        "legal_name": f"Leak {source} BV",
        "country": "NL",
        "billing_currency": "EUR",
    }


def test_fails_while_its_hub_ingests(running: Running) -> None:
    body = envelope("harvest", "client", _client("L1"), source_type="Client")
    running.publish_events(body)
    assert running.outcome(body["id"])["status"] == "rejected", "fails on purpose"


def test_fails_while_its_hub_process_runs(
    scratch_database: str, stream_prefix: str, nats_url: str
) -> None:
    proc = serve(hub_env(scratch_database, nats_url, stream_prefix))
    try:
        bodies = [
            envelope("harvest", "client", _client(f"P{i}"), source_type="Client") for i in range(50)
        ]
        publish_clients(nats_url, Streams(stream_prefix), bodies)
        deadline = time.monotonic() + 30
        while decided(scratch_database)[0] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        raise AssertionError("fails on purpose, with a hub process consuming")
    finally:
        stop(proc)


def test_leaves_its_streams_behind(nats_url: str, nats_prefix: str) -> None:
    async def run() -> None:
        nc = await nats.connect(nats_url)
        streams = Streams(f"{nats_prefix}LEAK_")
        await ensure_streams(nc.jetstream(), streams)
        await nc.jetstream().publish(streams.ingest_subject("harvest", "client"), b"{}")
        await nc.close()

    asyncio.run(run())


def test_leaves_a_database_behind(make_database: Databases) -> None:
    with psycopg.connect(make_database.server_url, autocommit=True) as conn:
        name = f"{make_database.prefix}leak"
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
