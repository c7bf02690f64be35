"""A hub with ingest running on a database and NATS prefix of its own, driven as a user
would: HTTP through a TestClient, NATS through a client of the test's own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.auth import TokenStore
from hub.bootstrap import Hub, build_hub
from hub.settings import Settings
from hub.streams import Streams, remove_streams
from tests.support.hygiene import Databases


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
            acks = [
                await js.publish(self.streams.prefix + subject, data, headers=headers)
                for subject, data, headers in messages
            ]
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
                decided: dict[str, Any] = resp.json()
                # Reads after a settled message see it: wait for the golden records too
                # (as a client would with ?min_position=).
                runner = self.hub.runner
                if decided.get("position") and runner is not None:
                    runner.wait_for(decided["position"], max(deadline - time.monotonic(), 1))
                return decided
            time.sleep(0.05)
        raise AssertionError(f"message {message_id} was not decided within {timeout}s")

    def dead_letters(self, count: int, timeout: float = 30) -> list[Any]:
        async def run() -> list[Any]:
            nc = await nats.connect(self.nats_url)
            js = nc.jetstream()
            sub = await js.pull_subscribe(
                f"{self.streams.prefix}deadletter.>", stream=self.streams.deadletter
            )
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

    def token(self, *scopes: str) -> dict[str, str]:
        """Authorization headers for a new token with these scopes."""
        name = f"t-{uuid.uuid4().hex[:8]}"
        return {"Authorization": f"Bearer {TokenStore(self.hub.database_url).create(name, scopes)}"}

    def webhook(
        self,
        system: str,
        body: bytes,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POSTs a native payload to the adapter's webhook with a write:<system> token."""
        return self.api.post(
            f"/v1/adapters/{system}/webhook",
            content=body,
            params=params,
            headers={
                **self.token(f"write:{system}"),
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )

    def settle(self, message_ids: list[str], timeout: float = 30) -> list[dict[str, Any]]:
        """Waits until every message is decided; returns their outcomes."""
        return [self.outcome(i, timeout) for i in message_ids]

    def xref(self, system: str, type_: str, source_id: str, **params: str) -> Any:
        return self.api.get(
            f"/v1/xref/{system}/{type_}/{source_id}", params=params, headers=self.auth
        )


@contextlib.contextmanager
def running_hub(
    settings: Settings, make_database: Databases, nats_url: str, **overrides: Any
) -> Iterator[Running]:
    """Starts a hub (API, ingest) with its own database and NATS prefix (under the session's);
    when it ends, also by a failure, the hub stops and its streams and database are deleted."""
    prefix = f"{settings.nats_prefix}R{uuid.uuid4().hex[:6].upper()}_"
    with contextlib.ExitStack() as cleanup:
        # Run last to first: stop the hub, then delete its streams, then its database.
        url = make_database("run")
        cleanup.callback(make_database.drop, url)
        cleanup.callback(remove_streams, nats_url, prefix)
        custom = settings.model_copy(
            update={
                "database_url": url,
                "nats_prefix": prefix,
                "ingest_max_wait": 0.02,
                **overrides,
            }
        )
        hub = build_hub(custom)
        cleanup.callback(hub.close)
        with TestClient(create_app(hub), raise_server_exceptions=False) as api:
            yield Running(hub, api, nats_url)


@pytest.fixture
def running(settings: Settings, make_database: Databases, nats_url: str) -> Iterator[Running]:
    with running_hub(settings, make_database, nats_url, ingest_max_deliveries=3) as hub:
        yield hub
