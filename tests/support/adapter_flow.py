"""Driving a source adapter end to end: native payloads into the webhook, outcomes and golden
records back over HTTP, and what the ingest stream holds (for refusals that publish nothing)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nats

from tests.support.running import Running

FIXTURES = Path(__file__).parents[1] / "fixtures"


def native(system: str, name: str) -> dict[str, Any]:
    """A payload the adapter's author left in tests/fixtures/<system>/, parsed."""
    return json.loads((FIXTURES / system / name).read_text())


def native_bytes(system: str, name: str) -> bytes:
    """A fixture payload byte for byte, as the vendor sends it."""
    return (FIXTURES / system / name).read_bytes()


def deliver(
    running: Running, system: str, payload: bytes | dict[str, Any], **params: str
) -> list[dict[str, Any]]:
    """POSTs one native payload to the webhook (202 with message ids) and returns the outcome of
    every message it published, once ingest has decided each."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = running.webhook(system, body, params=params or None)
    assert response.status_code == 202, response.text
    ids = response.json()["message_ids"]
    assert ids, response.text
    return running.settle(ids)


def by_source(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Outcomes keyed by the source record id each message was about."""
    return {o["source"]["id"]: o for o in outcomes}


def wait_for(running: Running, message_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    """Waits while a message is parked for it to reach this status (a parked change is
    applied once what it waits for is known); fails with the last outcome seen."""
    deadline = time.monotonic() + timeout
    outcome = running.outcome(message_id, timeout)
    while outcome["status"] == "parked" and status != "parked" and time.monotonic() < deadline:
        time.sleep(0.05)
        outcome = running.outcome(message_id, timeout)
    assert outcome["status"] == status, outcome
    return outcome


def record(
    running: Running,
    system: str,
    type_: str,
    source_id: str,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The golden record a source record maps to (GET /v1/xref/...), which must exist."""
    response = (
        running.xref(system, type_, source_id)
        if headers is None
        else running.api.get(f"/v1/xref/{system}/{type_}/{source_id}", headers=headers)
    )
    assert response.status_code == 200, response.text
    return response.json()


def ingest_last_sequence(running: Running) -> int:
    """The sequence of the last message the ingest stream stored (it only ever grows)."""

    async def read() -> int:
        nc = await nats.connect(running.nats_url)
        try:
            info = await nc.jetstream().stream_info(running.streams.ingest)
            return int(info.state.last_seq)
        finally:
            await nc.close()

    return asyncio.run(read())


def assert_malformed_json_is_refused(running: Running, system: str, body: bytes) -> None:
    """400 problem+json MALFORMED_PAYLOAD, and the ingest stream gets nothing."""
    before = ingest_last_sequence(running)
    response = running.webhook(system, body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["reason"] == "MALFORMED_PAYLOAD"
    assert problem["type"] == "urn:pshub:problem:MALFORMED_PAYLOAD"
    assert ingest_last_sequence(running) == before


def assert_wrong_scope_is_forbidden(running: Running, system: str, body: bytes) -> None:
    """A token without write:<system> gets 403 FORBIDDEN, and nothing is published."""
    before = ingest_last_sequence(running)
    other = "odoo" if system != "odoo" else "harvest"
    for scopes in (("read", "read:pii", "read:confidential"), (f"write:{other}",)):
        response = running.api.post(
            f"/v1/adapters/{system}/webhook",
            content=body,
            headers={**running.token(*scopes), "Content-Type": "application/json"},
        )
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["reason"] == "FORBIDDEN"
    assert ingest_last_sequence(running) == before
