"""Ingest over real NATS JetStream: exactly-once effect, dead letters with reasons, poison
messages bounded, infrastructure failures redelivered and never dead-lettered."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from hub.ingest import appliers
from tests.support.changes import envelope
from tests.support.running import Running


def _client(source: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": source,
        "legal_name": f"Initech {source} Ltd",
        "country": "GB",
        "billing_currency": "GBP",
        **fields,
    }


def test_a_change_published_on_nats_becomes_a_golden_record(running: Running) -> None:
    body = envelope("harvest", "client", _client("C1"), source_type="Client")
    running.publish_events(body)
    outcome = running.outcome(body["id"])
    assert outcome["status"] == "applied"
    record = running.api.get(f"/v1/clients/{outcome['canonical_ids'][0]}", headers=running.auth)
    assert record.json()["legal_name"] == "Initech C1 Ltd"
    assert record.json()["xrefs"] == [
        {"system": "harvest", "tenant": "t1", "type": "Client", "id": "C1"}
    ]


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
    running.publish(
        [("ingest.harvest.client", b'{"specversion": "1.0", "id": "x1", ', {"Nats-Msg-Id": "x1"})]
    )
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

    monkeypatch.setitem(
        appliers.APPLIERS, "client", appliers.Applier(original.kind, explode, original.update)
    )
    poison = envelope("harvest", "client", _client("P1", legal_name="Poison plc"))
    healthy = envelope("harvest", "client", _client("H1"))
    running.publish_events(poison, healthy)
    assert running.outcome(healthy["id"])["status"] == "applied"
    outcome = running.outcome(poison["id"], timeout=60)
    assert (outcome["status"], outcome["reason"]) == ("dead_lettered", "PROCESSING_FAILED")
    [letter] = running.dead_letters(1)
    assert letter.headers["Pshub-Reason"] == "PROCESSING_FAILED"


def test_a_store_outage_redelivers_and_never_dead_letters(
    running: Running, server_url: str
) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(running.hub.database_url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
        body = envelope("harvest", "client", _client("D1"), source_type="Client")
        running.publish_events(body)
        time.sleep(1.5)  # let ingest fail against the closed store at least once
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
    outcome = running.outcome(body["id"], timeout=60)
    assert outcome["status"] == "applied"
    assert running.dead_letters(1, timeout=1) == []
