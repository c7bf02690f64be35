"""The event relay: every recorded event published on `events.<entity>.<EventType>`, in log
order, each position exactly once on the stream.

How it stays exactly-once without a distributed transaction:
- Each message carries `Nats-Expected-Last-Sequence`: JetStream stores it only if the stream
  ends where the relay expects. Messages go out in pipelined pages and only the last one of a
  page asks for an acknowledgement; since a lost or refused message makes every later one
  refused too, that one acknowledgement proves the whole page is stored, in order. Any
  refusal, timeout or lost connection sends the relay back to the stream's tail.
- The tail is the truth: on start, and after any refusal, the relay reads the last message on
  the stream and resumes after the larger of its position and the position recorded in
  PostgreSQL. Nothing depends on JetStream's duplicate window (the `Nats-Msg-Id`, derived from
  the position, is a second guard within it).
- Its position is recorded after JetStream acknowledged a page, through the connection that
  holds the relay's lease (an advisory lock): one relay per stream, and a second one waits
  and takes over when the first one's connection goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats
import psycopg
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from psycopg import AsyncConnection

from hub.nats_headers import use_fast_headers
from hub.relay.acks import Ack, Acks
from hub.relay.envelope import CLOUDEVENTS_JSON, Envelopes
from hub.relay.tracking import RelayBook
from hub.streams import Streams, ensure_stream

log = logging.getLogger(__name__)


class OutOfStepError(Exception):
    """JetStream refused, lost or did not acknowledge part of what was published."""


class StreamMismatchError(Exception):
    """The events stream holds messages this store's log did not produce."""


@dataclass
class _Page:
    """A published page waiting for the acknowledgement of its last message."""

    position: int  # the last log position in the page
    sequence: int  # the stream sequence that message must have been stored at
    ack: asyncio.Future[Ack]


class EventRelay:
    """Publishes the event log on the events stream; runs in a thread of its own (`start`) or
    as a coroutine in an existing event loop (`run`)."""

    name = "relay"

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        streams: Streams,
        *,
        source: str,
        events_table: str,
        channel: str,
        schema: str = "public",
        page: int = 1000,
        window: int = 4,
        ack_timeout: float = 10.0,
        idle_wait: float = 1.0,
        retry_wait: float = 1.0,
    ) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.streams = streams
        self.envelopes = Envelopes(streams, source)
        self.book = RelayBook(streams.events, schema=schema, events_table=events_table)
        self.channel = channel
        self.page = page
        self.window = window
        self.ack_timeout = ack_timeout
        self.idle_wait = idle_wait
        self.retry_wait = retry_wait
        self.state = "stopped"
        self.error: str | None = None
        self.published = 0  # events acknowledged by JetStream since this relay started
        self.resyncs = 0  # times it went back to the stream's tail
        self._acked: int | None = None
        self._advanced = threading.Condition()
        self._stopping = threading.Event()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # Running in a thread ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._thread_main, name="relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _thread_main(self) -> None:
        asyncio.run(self.run())

    def position(self) -> int | None:
        """The last position JetStream acknowledged and the relay recorded (None before it
        has taken the lease and read the stream's tail)."""
        return self._acked

    def wait_for(self, position: int, timeout: float) -> bool:
        """Waits until the relay has published up to a position; False on timeout."""
        with self._advanced:
            return self._advanced.wait_for(lambda: (self._acked or 0) >= position, timeout)

    # The relay ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Relays until stopped, reconnecting after any failure."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while not self._stopping.is_set():
                try:
                    await self._session()
                except Exception as exc:  # a process edge: report it, and try again
                    error = f"{type(exc).__name__}: {exc}"
                    if error != self.error:  # once, not every second while it lasts
                        log.exception("relay of %s failed; retrying", self.streams.events)
                    self.error = error
                    await self._pause(self.retry_wait)
        finally:
            self.state = "stopped"
            self._loop = None

    async def _pause(self, seconds: float) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _session(self) -> None:
        # Named after this process, so that an operator (or a test) sees who holds the lease.
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True, application_name=f"pshub relay {os.getpid()}"
        ) as conn:
            self.state = "waiting for the lease"
            while not await self.book.try_lease(conn):
                if self._stopping.is_set():
                    return
                await self._pause(self.retry_wait)
            await self.book.prepare(conn, self.channel)
            acks = Acks()
            # No reconnecting: a lost connection ends the session, and the next one starts
            # again from the stream's tail (messages buffered across a reconnect could reach
            # the stream after a gap, to be refused one by one).
            nc = await nats.connect(
                self.nats_url,
                connect_timeout=3,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.5,
                closed_cb=acks.abandon,
            )
            use_fast_headers(nc)
            # Room for the subject and headers within the server's limit on a message.
            self.envelopes.max_bytes = nc.max_payload - 1024
            try:
                js = nc.jetstream()
                await ensure_stream(js, self.streams.config(self.streams.events))
                await acks.open(nc)
                self.state = "relaying"
                while not self._stopping.is_set():
                    try:
                        await self._relay(conn, nc, js, acks)
                    except OutOfStepError as exc:
                        self.resyncs += 1
                        log.warning("relay back to the tail of %s: %s", self.streams.events, exc)
                        await self._pause(0.1)
            finally:
                await nc.close()

    async def _relay(
        self, conn: AsyncConnection[Any], nc: NATS, js: JetStreamContext, acks: Acks
    ) -> None:
        position, sequence = await self._resume(conn, js)
        self.error = None
        self._advance(position)
        pages: deque[_Page] = deque()
        reading = self._read(conn, position)
        try:
            while not self._stopping.is_set():
                rows = await reading
                if rows:
                    position = rows[-1][0]
                    # The next page is read while this one is encoded and published, and the
                    # acknowledgements of earlier pages come in meanwhile.
                    reading = self._read(conn, position)
                    await asyncio.sleep(0)  # lets the read start before the CPU work
                    pages.append(await self._publish(nc, acks, rows, sequence))
                    sequence += len(rows)
                    while pages and (len(pages) >= self.window or pages[0].ack.done()):
                        await self._settle(conn, pages.popleft())
                else:
                    while pages:
                        await self._settle(conn, pages.popleft())
                    await self._idle(conn)
                    reading = self._read(conn, position)
            while pages:  # a clean stop records what it published
                await self._settle(conn, pages.popleft())
        finally:
            for page in pages:
                page.ack.cancel()
            # Never cancelled half-way: the connection must stay usable for the next pass.
            with contextlib.suppress(Exception):
                await reading

    def _read(self, conn: AsyncConnection[Any], after: int) -> asyncio.Future[list[Any]]:
        return asyncio.ensure_future(self.book.page(conn, after, self.page))

    async def _resume(self, conn: AsyncConnection[Any], js: JetStreamContext) -> tuple[int, int]:
        """The position to resume after and the stream's last sequence: the stream's tail or
        the recorded position, whichever is further."""
        recorded = await self.book.position(conn)
        info = await js.stream_info(self.streams.events)
        sequence = info.state.last_seq
        on_stream = 0
        if info.state.messages:
            try:
                last = await js.get_msg(self.streams.events, seq=sequence)
            except NotFoundError:  # deleted by hand: fall back on the recorded position
                last = None
            if last is not None:
                on_stream = await self._check_tail(conn, last.headers or {}, last.data or b"")
        return max(recorded, on_stream), sequence

    async def _check_tail(
        self, conn: AsyncConnection[Any], headers: dict[str, str], data: bytes
    ) -> int:
        message_id = headers.get("Nats-Msg-Id", "")
        position = self.envelopes.position_of(message_id)
        if position is None or not message_id.startswith(self.streams.events + ":"):
            raise StreamMismatchError(
                f"the last message on {self.streams.events} ({message_id or 'no Nats-Msg-Id'}) "
                "was not published by the relay"
            )
        subject = json.loads(data).get("subject")
        if await self.book.subject_at(conn, position) != subject:
            raise StreamMismatchError(
                f"{self.streams.events} holds position {position} of another event log; "
                "delete the stream or set another PSHUB_NATS_PREFIX"
            )
        return position

    async def _publish(self, nc: NATS, acks: Acks, rows: Sequence[Any], sequence: int) -> _Page:
        encode, message_id = self.envelopes.encode, self.envelopes.message_id
        last = len(rows) - 1
        reply, ack = acks.expect()
        for index, row in enumerate(rows):
            subject, body = encode(row)
            headers = {
                "Nats-Msg-Id": message_id(row[0]),
                "Nats-Expected-Last-Sequence": str(sequence + index),
                "Content-Type": CLOUDEVENTS_JSON,
            }
            # Only the page's last message asks for an acknowledgement (see the module).
            await nc.publish(subject, body, reply=reply if index == last else "", headers=headers)
        return _Page(rows[-1][0], sequence + len(rows), ack)

    async def _settle(self, conn: AsyncConnection[Any], page: _Page) -> None:
        try:
            ack = await asyncio.wait_for(page.ack, self.ack_timeout)
        except TimeoutError as exc:
            raise OutOfStepError(f"no acknowledgement for position {page.position}") from exc
        if ack.error is not None:
            raise OutOfStepError(f"position {page.position} refused: {ack.error}")
        if ack.duplicate or ack.sequence != page.sequence:
            raise OutOfStepError(
                f"position {page.position} stored at {ack.sequence}, expected at {page.sequence}"
            )
        await self.book.record(conn, page.position, page.sequence)
        self.published += page.position - (self._acked or 0)
        self._advance(page.position)

    async def _idle(self, conn: AsyncConnection[Any]) -> None:
        """Waits for the store's next commit (NOTIFY), at most `idle_wait` seconds, or until
        the relay is stopped."""
        assert self._wake is not None
        notified = asyncio.ensure_future(self._notified(conn))
        stopped = asyncio.ensure_future(self._wake.wait())
        await asyncio.wait((notified, stopped), return_when=asyncio.FIRST_COMPLETED)
        # Cancelling the wait for a notification leaves no query half done on the connection.
        notified.cancel()
        stopped.cancel()

    async def _notified(self, conn: AsyncConnection[Any]) -> None:
        woken = False
        async for _ in conn.notifies(timeout=self.idle_wait, stop_after=1):
            woken = True
        if woken:  # one page read serves every commit notified meanwhile
            async for _ in conn.notifies(timeout=0):
                pass

    def _advance(self, position: int) -> None:
        with self._advanced:
            self._acked = position
            self._advanced.notify_all()
