"""Running a hub with its feeds pointed at loopback targets, and reading what reached them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError
from psycopg.sql import SQL

from hub.sandbox.harvest import Harvest
from hub.sandbox.netsuite import NetSuite
from projections.feeds.view import FeedView
from tests.support.running import Running, running_hub

NETSUITE_ACCOUNT = "TSTDRV1234"
HARVEST_ACCOUNT = "998877"
OTHERS = ("QUICKBOOKS", "XERO", "SHAREPOINT")


@dataclass
class Fed:
    running: Running
    netsuite: NetSuite
    harvest: Harvest
    # The knowledge base's drive API, where the test asked for it (`sharepoint=GraphApi(...)`).
    sharepoint: Any = None

    @property
    def app(self) -> Any:
        return self.running.hub.app

    def feed_messages(self) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
        return read_stream(self.running.nats_url, self.running.hub.streams.feeds)

    def feed_state(self, target: str) -> dict[str, Any]:
        items = self.running.api.get("/v1/projections", headers=self.running.token("read"))
        assert items.status_code == 200, items.text
        [found] = [i for i in items.json()["items"] if i["name"] == f"feed.{target}"]
        return found


@contextlib.contextmanager
def fed_hub(
    settings: Any, make_database: Any, nats_url: str, monkeypatch: pytest.MonkeyPatch, **over: Any
) -> Iterator[Fed]:
    netsuite, harvest = NetSuite(), Harvest(HARVEST_ACCOUNT)
    sharepoint = over.pop("sharepoint", None)  # a started GraphApi, with its drive as tenant
    netsuite.server.start()
    harvest.server.start()
    try:
        for name, server, tenant in (
            ("NETSUITE", netsuite.server, NETSUITE_ACCOUNT),
            ("HARVEST", harvest.server, HARVEST_ACCOUNT),
        ):
            monkeypatch.setenv(f"PSHUB_FEED_{name}_BASE_URL", server.base_url)
            monkeypatch.setenv(f"PSHUB_FEED_{name}_TOKEN", f"token-{name.lower()}")
            monkeypatch.setenv(f"PSHUB_FEED_{name}_TENANT", tenant)
        for name in OTHERS:  # the billing and knowledge targets have tests of their own
            monkeypatch.setenv(f"PSHUB_FEED_{name}_ENABLED", "false")
        if sharepoint is not None:
            [drive] = sharepoint.items
            monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_ENABLED", "true")
            monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_BASE_URL", sharepoint.base_url)
            monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_TOKEN", sharepoint.token)
            monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_TENANT", drive)
        options = {"feed_backoff": 0.05, "feed_backoff_cap": 1.0, **over}
        with running_hub(settings, make_database, nats_url, **options) as running:
            yield Fed(running, netsuite, harvest, sharepoint)
    finally:
        netsuite.server.stop()
        harvest.server.stop()


def until(check: Callable[[], Any], timeout: float = 90, what: str = "") -> Any:
    """Waits for a condition the hub's background work makes true. The timeout is a bound
    that only catches a hang (a busy machine running the suite in three workers is slow), never
    a timing."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def read_stream(nats_url: str, stream: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """Every message on a stream, in order: subject, CloudEvent, headers."""

    async def run() -> list[tuple[str, dict[str, Any], dict[str, str]]]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                return []
            found = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg(stream, seq=seq)
                found.append((msg.subject, json.loads(msg.data or b"{}"), dict(msg.headers or {})))
            return found
        finally:
            await nc.close()

    return asyncio.run(run())


def outbox(fed: Fed, target: str, generation: int) -> list[dict[str, Any]]:
    """A feed generation's outbox, every column a rebuild must give back the same."""
    view = FeedView(fed.app.hub_recorder.datastore, target, generation=generation)
    with view.datastore.get_connection() as conn:
        return conn.execute(
            SQL(
                "SELECT canonical_id, key, entity, version, position, idempotency_key, payload, "
                "payload_hash, target_id, occurred_at, published, state FROM {} "
                "ORDER BY canonical_id, key"
            ).format(view.outbox)
        ).fetchall()


def writes(fed: Fed) -> int:
    return sum(
        r.method in ("PUT", "POST", "PATCH")
        for r in fed.netsuite.server.requests + fed.harvest.server.requests
    )
