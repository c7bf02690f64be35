"""Helpers for the adapter end-to-end tests: vendor fixtures, the records an invoice refers
to, the golden records a webhook ends in, and what reached the ingest stream."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nats

from hub.contracts.adapters import EMBEDDED_PREFIX
from tests.support.changes import envelope
from tests.support.running import Running

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(system: str, name: str) -> dict[str, Any]:
    """A native payload exactly as the adapter's author captured it."""
    loaded: dict[str, Any] = json.loads((FIXTURES / system / name).read_text())
    return loaded


def raw(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def accepted(response: Any) -> list[str]:
    """The message ids of a webhook the hub accepted (202)."""
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["message_ids"]
    return ids


def documents(running: Running, message_ids: list[str]) -> list[str]:
    """The messages of the records themselves, once decided: without what a document says of
    the client it embeds (a Xero Contact, a QuickBooks CustomerRef), sent after it."""
    return [
        o["message_id"]
        for o in running.settle(message_ids)
        if not (o.get("sequence") or "").startswith(EMBEDDED_PREFIX)
    ]


def applied(running: Running, message_ids: list[str]) -> list[str]:
    """Waits for every message and returns the canonical ids each one applied to."""
    canonical: list[str] = []
    for outcome in running.settle(message_ids):
        assert outcome["status"] == "applied", outcome
        canonical.extend(outcome["canonical_ids"])
    return canonical


def record(running: Running, system: str, type_: str, source_id: str) -> dict[str, Any]:
    """The golden record a source record maps to, through GET /v1/xref."""
    response = running.xref(system, type_, source_id)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def problem(response: Any, status: int, reason: str) -> dict[str, Any]:
    """Asserts an RFC 9457 problem with the contract's reason code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["reason"] == reason, body
    return body


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def stream_messages(running: Running) -> int:
    """How many messages the hub's ingest stream holds (it is created with the hub)."""

    async def count() -> int:
        nc = await nats.connect(running.nats_url)
        try:
            info = await nc.jetstream().stream_info(running.streams.ingest)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def redeliver_outside_window(running: Running, message_id: str) -> dict[str, Any]:
    """Publishes the stored copy of a message again without its Nats-Msg-Id, as a redelivery
    after JetStream's duplicate window would arrive; returns the outcome once it is counted."""

    async def stored() -> tuple[str, bytes]:
        nc = await nats.connect(running.nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(running.streams.ingest)
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(running.streams.ingest, seq)
                if (message.headers or {}).get("Nats-Msg-Id") == message_id:
                    return running.streams.strip(message.subject), message.data
        finally:
            await nc.close()
        raise AssertionError(f"message {message_id} is not on the ingest stream")

    subject, data = asyncio.run(stored())
    before = running.outcome(message_id)["deliveries"]
    running.publish([(subject, data, {"Content-Type": "application/cloudevents+json"})])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        outcome = running.outcome(message_id)
        if outcome["deliveries"] > before:
            return outcome
        time.sleep(0.05)
    raise AssertionError(f"the redelivery of {message_id} was not counted within 30s")


def known_engagement(
    running: Running,
    *,
    code: str,
    currency: str,
    client: str,
    system: str = "harvest",
    legal_name: str = "Contoso Pharma Inc.",
    country: str = "US",
) -> tuple[str, str]:
    """Publishes a client and an engagement with this code, as a PSA would, and returns
    their canonical ids (client, engagement) once both are applied."""
    client_body = envelope(
        system,
        "client",
        {
            "id": client,
            "legal_name": legal_name,
            "country": country,
            "billing_currency": currency,
        },
        source_type="Client",
    )
    engagement_body = envelope(
        system,
        "engagement",
        {
            "id": f"P-{code}",
            "client": {"type": "Client", "id": client},
            "code": code,
            "name": f"Engagement {code}",
            "currency": currency,
            "status": "active",
        },
        source_type="Project",
    )
    running.publish_events(client_body, engagement_body)
    [client_id] = applied(running, [client_body["id"]])
    [engagement_id] = applied(running, [engagement_body["id"]])
    return client_id, engagement_id
