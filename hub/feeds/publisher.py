"""Publishing a feed's outbox on feed.<target>.<entity>, as CloudEvents.

The outbox is the truth and publishing follows it (a transactional outbox): an item is marked
published only after JetStream acknowledged it, in the same transaction as the stream sequence
of the batch's last item (`hub_feed_published`). A crash (or a lost connection) between the
acknowledgement and that commit leaves items published but not marked: before it publishes
anything, a publisher reads the stream after the sequence it last recorded, for its target's
subjects, and marks the items it finds there by their `Nats-Msg-Id` (their idempotency key), so
they are not published again however long the restart took (JetStream's duplicate window, two
minutes, would drop them only within it). The key of the item at the recorded sequence is kept
with it: a stream deleted and made again (its sequences start afresh) holds another item there,
or none, and is then read from its first message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import nats
import orjson
from nats.js.errors import NotFoundError
from psycopg.sql import SQL

from hub.relay.envelope import CLOUDEVENTS_JSON
from hub.store.sql_params import array
from hub.streams import Streams, ensure_stream
from projections.feeds.view import FeedView

log = logging.getLogger(__name__)


# The envelope on feed.*, as JSON Schema (published in the AsyncAPI document).
FEED_ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": "FeedItem",
    "description": "One thing a downstream system must hold, as a CloudEvent 1.0 in structured "
    "JSON mode; data is the target's own payload (another record's id in the target appears "
    'as {"$target_id": "<canonical id>", "type": ...} until it is delivered).',
    "type": "object",
    "required": [
        "specversion", "id", "source", "type", "subject", "sequence", "datacontenttype",
        "aggregateversion", "itemkey", "data",
    ],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "description": "the idempotency key; also Nats-Msg-Id"},
        "source": {"type": "string", "description": "/pshub or /pshub/<prefix>"},
        "type": {"type": "string", "description": "pshub.feed.<target>.<entity>.v1"},
        "subject": {"type": "string", "format": "uuid", "description": "the canonical id"},
        "time": {"type": "string", "format": "date-time",
                 "description": "the record's last change"},
        "sequence": {"type": "string", "description": "the log position, 20 digits"},
        "datacontenttype": {"const": "application/json"},
        "aggregateversion": {"type": "integer", "description": "the record's version"},
        "itemkey": {"type": "string", "description": "the item within the record"},
        "data": {"type": "object", "description": "the target's payload"},
    },
}  # fmt: skip


def envelope(target: str, row: dict[str, Any], source: str) -> dict[str, Any]:
    """The CloudEvent of one outbox item (CONTRACT.md: type pshub.feed.<target>.<entity>.v1,
    subject the canonical id, data the target's payload)."""
    occurred = row["occurred_at"]
    event = {
        "specversion": "1.0",
        "id": row["idempotency_key"],
        "source": source,
        "type": f"pshub.feed.{target}.{row['entity']}.v1",
        "subject": str(row["canonical_id"]),
        "time": occurred.isoformat().replace("+00:00", "Z") if occurred else None,
        "sequence": f"{row['position']:020d}",
        "datacontenttype": "application/json",
        "aggregateversion": row["version"],
        "itemkey": row["key"],
        "data": row["payload"],
    }
    if event["time"] is None:
        del event["time"]  # a CloudEvent leaves out what it does not know
    return event


class FeedPublisher:
    """Publishes unpublished outbox rows of one target; a thread with an event loop of its own."""

    def __init__(
        self,
        target: str,
        view: Callable[[], FeedView],
        nats_url: str,
        streams: Streams,
        *,
        source: str,
        batch: int = 500,
        idle_wait: float = 0.5,
    ) -> None:
        self.target = target
        self.view = view
        self.nats_url = nats_url
        self.streams = streams
        self.source = source
        self.batch = batch
        self.idle_wait = idle_wait
        self.published = 0
        self.settled = 0  # items found on the stream, not published again (settle)
        self.error: str | None = None
        self._stop = threading.Event()
        self._nudge = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name=f"feed-publish-{self.target}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()
        if self._thread is not None:
            self._thread.join(10)

    def nudge(self) -> None:
        self._nudge.set()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                nc = await nats.connect(self.nats_url, connect_timeout=3)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                await asyncio.to_thread(self._stop.wait, 1.0)
                continue
            try:
                # Room for a whole batch's acknowledgements in flight at once.
                js = nc.jetstream(publish_async_max_pending=2 * self.batch)
                await ensure_stream(js, self.streams.config(self.streams.feeds))
                self.settled += await self.settle(js)
                while not self._stop.is_set():
                    # Cleared before looking, not after waiting: a nudge that comes while
                    # this batch goes out is seen at once, not half a second later.
                    self._nudge.clear()
                    sent = await self.publish_once(js)
                    self.error = None
                    if sent < self.batch:
                        await asyncio.to_thread(self._nudge.wait, self.idle_wait)
            except Exception as exc:  # a process edge: report it, reconnect, go on
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("feed %s publisher: %s", self.target, self.error)
                await asyncio.to_thread(self._stop.wait, 1.0)
            finally:
                with contextlib.suppress(Exception):
                    await nc.close()

    async def publish_once(self, js: Any) -> int:
        """Publishes one batch of unpublished items in log order; returns how many."""
        view = self.view()
        rows = await asyncio.to_thread(self._unpublished, view)
        if not rows:
            return 0
        subject = self.streams.feed_subject

        # Sent one after another on the connection, acknowledged together: `publish` makes
        # a request (a new inbox, random bytes from the system) and awaits each answer.
        acks = [
            await js.publish_async(
                subject(self.target, row["entity"]),
                orjson.dumps(envelope(self.target, row, self.source), default=str),
                headers={"Nats-Msg-Id": row["idempotency_key"], "Content-Type": CLOUDEVENTS_JSON},
            )
            for row in rows
        ]
        answers = await asyncio.gather(*acks)
        last = max(range(len(rows)), key=lambda i: answers[i].seq)
        marking = (answers[last].seq, rows[last]["idempotency_key"])
        await asyncio.to_thread(self._mark, view, rows, marking)
        self.published += len(rows)
        return len(rows)

    async def settle(self, js: Any) -> int:
        """Marks published the outbox items JetStream holds after the sequence this target's
        publisher last recorded (a batch acknowledged but not marked); returns how many."""
        view = self.view()
        last = await asyncio.to_thread(self._last_sequence, view)
        if last is None:
            return 0  # never published to this stream from this store
        stream = self.streams.feeds
        mine = self.streams.feed_subject(self.target, ">")
        found: dict[str, int] = {}
        since, key = last
        sequence = since + 1 if await self._holds(js, since, key) else 1
        while True:
            try:
                msg = await js.get_msg(stream, seq=sequence, subject=mine, next=True)
            except NotFoundError:
                break
            key = (msg.headers or {}).get("Nats-Msg-Id")
            if key:
                found[key] = msg.seq
            sequence = msg.seq + 1
        if not found:
            return 0
        marked = await asyncio.to_thread(self._mark_found, view, found)
        log.info("feed %s publisher: %d item(s) were on the stream already", self.target, marked)
        return marked

    async def _holds(self, js: Any, sequence: int, key: str | None) -> bool:
        """Whether the stream is the one the marking was recorded against: the item marked
        last is still at its sequence. Not so after the stream was deleted and made again
        (or purged): then the whole stream is looked at. Unknown for a marking recorded
        before the key was kept with it."""
        if key is None:
            return True
        try:
            msg = await js.get_msg(self.streams.feeds, seq=sequence)
        except NotFoundError:
            return False
        return (msg.headers or {}).get("Nats-Msg-Id") == key

    def _unpublished(self, view: FeedView) -> list[Any]:
        """The next batch; each payload as PostgreSQL's JSON text, which goes into the
        envelope as it is (an orjson Fragment), not parsed into Python and written again."""
        with view.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT canonical_id, key, entity, version, position, idempotency_key, "
                    "payload::text AS payload, payload_hash, occurred_at FROM {} "
                    "WHERE NOT published "
                    # Held: waiting for its engagement's provisioning (projections/feeds/gate.py)
                    # or not to go out at a wrong value (FeedItem.hold).
                    "AND state <> 'held' ORDER BY position, canonical_id, key LIMIT %s"
                ).format(view.outbox),
                (self.batch,),
            ).fetchall()
        for row in rows:
            row["payload"] = orjson.Fragment(row["payload"])
        return rows

    def _last_sequence(self, view: FeedView) -> tuple[int, str | None] | None:
        """The stream sequence this target's publisher last recorded, and the key there."""
        with view.datastore.get_connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT sequence, idempotency_key FROM {} WHERE target = %s AND stream = %s"
                ).format(view.published_table),
                (self.target, self.streams.feeds),
            ).fetchone()
        return None if row is None else (int(row["sequence"]), row["idempotency_key"])

    def _mark_found(self, view: FeedView, found: dict[str, int]) -> int:
        """Marks the unpublished items whose idempotency key is on the stream."""
        with view.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT canonical_id, key, idempotency_key, payload_hash FROM {} "
                    "WHERE NOT published AND idempotency_key = ANY(%s::text[])"
                ).format(view.outbox),
                (array(found),),
            ).fetchall()
        if rows:
            key, sequence = max(found.items(), key=lambda item: item[1])
            self._mark(view, rows, (sequence, key))
        return len(rows)

    def _mark(self, view: FeedView, rows: list[Any], last: tuple[int, str]) -> None:
        """The batch published and its hashes in the ledger: two statements over arrays, not
        two per row (the per-row updates were half the publisher's database time); and the
        stream sequence it reached and the item there (see settle), in the same transaction."""
        ids = array(r["canonical_id"] for r in rows)
        keys = array(r["key"] for r in rows)
        with view.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} (target, stream, sequence, idempotency_key) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (target, stream) DO UPDATE SET "
                    "sequence = EXCLUDED.sequence, idempotency_key = EXCLUDED.idempotency_key"
                ).format(view.published_table),
                (self.target, self.streams.feeds, *last),
            )
            # Only the payload that went out: a newer one written meanwhile goes out next.
            curs.execute(
                SQL(
                    "UPDATE {} o SET published = true "
                    "FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS u(cid, k, ik) "
                    "WHERE o.canonical_id = u.cid AND o.key = u.k AND o.idempotency_key = u.ik"
                ).format(view.outbox),
                (ids, keys, array(r["idempotency_key"] for r in rows)),
            )
            curs.execute(
                SQL(
                    "INSERT INTO {} (canonical_id, key, published_hash) "
                    "SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[]) "
                    "ON CONFLICT (canonical_id, key) DO UPDATE SET "
                    "published_hash = EXCLUDED.published_hash"
                ).format(view.ledger),
                (ids, keys, array(r["payload_hash"] for r in rows)),
            )
