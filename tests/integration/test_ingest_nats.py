"""Ingest over real NATS JetStream: exactly-once effect, dead letters with reasons, poison
messages bounded, infrastructure failures redelivered and never dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import nats
import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.auth import TokenStore
from hub.bootstrap import Hub, build_hub
from hub.ingest import appliers
from hub.settings import Settings
from hub.streams import Streams
from tests.support.changes import envelope


class Running:
    """A hub with ingest running (its own database and NATS prefix), and a NATS publisher."""

    def __init__(self, hub: Hub, api: TestClient, nats_url: str) -> None:
        self.hub = hub
        self.api = api
        self.nats_url = nats_url
        self.streams = Streams(hub.settings.nats_prefix)
        token = TokenStore(hub.database_url).create("reader", ["read", "read:pii"])
        self.auth = {"Authorization": f"Bearer {token}"}

    def publish(self, messages: list[tuple[str, bytes, dict[str, str]]]) -> list[Any]:
        async def run() -> list[Any]:
            nc = await nats.connect(self.nats_url)
            js = nc.jetstream()
            acks = [await js.publish(self.streams.prefix + subject, data, headers=headers)
                    for subject, data, headers in messages]
            await nc.close()
            return acks

        return asyncio.run(run())

    def publish_events(self, *bodies: dict[str, Any], header: bool = True) -> list[Any]:
        messages = []
        for body in bodies:
            system, entity = body["source"].split("/")[1], body["type"].split(".")[1]
            headers = {"Content-Type": "application/cloudevents+json"}
            if header:
                headers["Nats-Msg-Id"] = body["id"]
            messages.append((f"ingest.{system}.{entity}", json.dumps(body).encode(), headers))
        return self.publish(messages)

    def outcome(self, message_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.api.get(f"/v1/ingest/{message_id}", headers=self.auth)
            if resp.status_code == 200 and resp.json()["status"] != "pending":
                return resp.json()
            time.sleep(0.05)
        raise AssertionError(f"message {message_id} was not decided within {timeout}s")

    def dead_letters(self, count: int, timeout: float = 30) -> list[Any]:
        async def run() -> list[Any]:
            nc = await nats.connect(self.nats_url)
            js = nc.jetstream()
            sub = await js.pull_subscribe(f"{self.streams.prefix}deadletter.>",
                                          stream=self.streams.deadletter)
            got: list[Any] = []
            deadline = time.monotonic() + timeout
            while len(got) < count and time.monotonic() < deadline:
                try:
                    got.extend(await sub.fetch(count - len(got), timeout=1))
                except nats.errors.TimeoutError:
                    continue
            await nc.close()
            return got

        return asyncio.run(run())


@pytest.fixture
def running(settings: Settings, make_database: Callable[[str], str],
            nats_url: str) -> Iterator[Running]:
    prefix = f"T{uuid.uuid4().hex[:8].upper()}_"
    custom = settings.model_copy(update={
        "database_url": make_database("nats"), "nats_prefix": prefix,
        "ingest_max_deliveries": 3, "ingest_max_wait": 0.02})
    hub = build_hub(custom)
    with TestClient(create_app(hub), raise_server_exceptions=False) as api:
        yield Running(hub, api, nats_url)
    asyncio.run(_delete_streams(nats_url, Streams(prefix)))
    hub.close()


async def _delete_streams(url: str, streams: Streams) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for config in streams.configs():
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(config.name)
    await nc.close()


def _client(source: str, **fields: Any) -> dict[str, Any]:
    return {"id": source, "legal_name": f"Initech {source} Ltd", "country": "GB",
            "billing_currency": "GBP", **fields}


def test_a_change_published_on_nats_becomes_a_golden_record(running: Running) -> None:
    body = envelope("harvest", "client", _client("C1"), source_type="Client")
    running.publish_events(body)
    outcome = running.outcome(body["id"])
    assert outcome["status"] == "applied"
    record = running.api.get(f"/v1/clients/{outcome['canonical_ids'][0]}", headers=running.auth)
    assert record.json()["legal_name"] == "Initech C1 Ltd"
    assert record.json()["xrefs"] == [{"system": "harvest", "tenant": "t1", "type": "Client",
                                       "id": "C1"}]


def test_a_duplicate_publish_inside_the_window_is_dropped_by_jetstream(
    running: Running,
) -> None:
    body = envelope("harvest", "client", _client("C2"), source_type="Client")
    first, second = running.publish_events(body, body)
    assert (first.duplicate, second.duplicate) in ((None, True), (False, True))
    assert running.outcome(body["id"])["deliveries"] == 1


def test_the_same_id_re_sent_outside_the_window_has_no_second_effect(running: Running) -> None:
    body = envelope("harvest", "client", _client("C3"), source_type="Client")
    running.publish_events(body)
    running.outcome(body["id"])
    head = running.hub.app.hub_recorder.select_head()[0]
    # No Nats-Msg-Id: JetStream's window cannot catch it, the hub's message table must.
    running.publish_events(body, header=False)
    deadline = time.monotonic() + 20
    while running.outcome(body["id"])["deliveries"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.outcome(body["id"])["deliveries"] == 2
    assert running.hub.app.hub_recorder.select_head()[0] == head


def test_malformed_input_is_dead_lettered_with_reason_headers_and_an_exception(
    running: Running,
) -> None:
    running.publish([("ingest.harvest.client", b'{"specversion": "1.0", "id": "x1", ',
                      {"Nats-Msg-Id": "x1"})])
    [letter] = running.dead_letters(1)
    assert letter.subject == f"{running.streams.prefix}deadletter.ingest.harvest.client"
    assert letter.data == b'{"specversion": "1.0", "id": "x1", '
    assert letter.headers["Pshub-Reason"] == "MALFORMED_PAYLOAD"
    assert letter.headers["Pshub-Original-Subject"] == "ingest.harvest.client"
    assert letter.headers["Pshub-Original-Id"] == "x1"
    assert running.outcome("x1")["status"] == "dead_lettered"


def test_a_poison_message_is_dead_lettered_after_bounded_deliveries_without_blocking(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = appliers.APPLIERS["client"]

    def explode(ctx: Any, fields: dict[str, Any], new_id: Any) -> Any:
        if fields.get("legal_name") == "Poison plc":
            raise RuntimeError("a bug that this payload triggers")
        return original.create(ctx, fields, new_id)

    monkeypatch.setitem(appliers.APPLIERS, "client",
                        appliers.Applier(original.kind, explode, original.update))
    poison = envelope("harvest", "client", _client("P1", legal_name="Poison plc"))
    healthy = envelope("harvest", "client", _client("H1"))
    running.publish_events(poison, healthy)
    assert running.outcome(healthy["id"])["status"] == "applied"
    outcome = running.outcome(poison["id"], timeout=60)
    assert (outcome["status"], outcome["reason"]) == ("dead_lettered", "PROCESSING_FAILED")
    [letter] = running.dead_letters(1)
    assert letter.headers["Pshub-Reason"] == "PROCESSING_FAILED"


def test_a_store_outage_redelivers_and_never_dead_letters(running: Running,
                                                         server_url: str) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(running.hub.database_url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
        body = envelope("harvest", "client", _client("D1"), source_type="Client")
        running.publish_events(body)
        time.sleep(1.5)  # let ingest fail against the closed store at least once
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    outcome = running.outcome(body["id"], timeout=60)
    assert outcome["status"] == "applied"
    assert running.dead_letters(1, timeout=1) == []
