"""Reading what the relay published, as a downstream consumer would, and where it stands."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import nats
import psycopg

from hub.streams import Streams


@dataclass(frozen=True)
class Relayed:
    """One message on the events stream."""

    sequence: int  # the stream's own sequence
    subject: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def position(self) -> int:
        return int(self.event["sequence"])


def read_events(nats_url: str, streams: Streams, *, timeout: float = 30) -> list[Relayed]:
    """Every message on the events stream, in stream order (an ordered consumer, as a
    downstream system would read it)."""

    async def run() -> list[Relayed]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            total = (await js.stream_info(streams.events)).state.messages
            got: list[Relayed] = []
            if not total:
                return got
            sub = await js.subscribe(
                f"{streams.prefix}events.>", stream=streams.events, ordered_consumer=True
            )
            deadline = time.monotonic() + timeout
            while len(got) < total and time.monotonic() < deadline:
                try:
                    msg = await sub.next_msg(timeout=1)
                except nats.errors.TimeoutError:
                    continue
                got.append(
                    Relayed(
                        msg.metadata.sequence.stream,
                        msg.subject,
                        dict(msg.headers or {}),
                        msg.data,
                    )
                )
            await sub.unsubscribe()
            return got
        finally:
            await nc.close()

    return asyncio.run(run())


def recorded_position(database_url: str, streams: Streams) -> int:
    """The relay's position as recorded in PostgreSQL (0 before its first page)."""
    with psycopg.connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass('hub_relay')").fetchone()
        if exists is None or exists[0] is None:
            return 0
        row = conn.execute(
            "SELECT position FROM hub_relay WHERE stream = %s", (streams.events,)
        ).fetchone()
    return 0 if row is None else int(row[0])


def lease_holder(database_url: str) -> int | None:
    """The process id of the relay holding the lease on this database, if any (from its
    connection's application_name)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() "
            "AND a.application_name LIKE 'pshub relay %'"
        ).fetchone()
    return None if row is None else int(row[0].rsplit(" ", 1)[1])


def log_head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT coalesce(max(notification_id), 0) FROM hub_events").fetchone()
    return int(row[0]) if row else 0


def assert_each_position_once_in_order(messages: list[Relayed], head: int) -> None:
    """The stream holds positions 1..head, each once, in log order."""
    positions = [m.position for m in messages]
    assert positions == list(range(1, head + 1)), _describe(positions, head)


def _describe(positions: list[int], head: int) -> str:
    counts = Counter(positions)
    missing = sorted(set(range(1, head + 1)) - set(counts))[:10]
    doubled = sorted(p for p, n in counts.items() if n > 1)[:10]
    return f"{len(positions)} messages for {head} events; missing {missing}, doubled {doubled}"
