"""The ingest consumer: a durable JetStream pull consumer on `ingest.>`, in batches.

Acknowledgement policy (STYLE.md): a message is acked only after the transaction holding
its effect commits. Invalid input is dead-lettered (original bytes, reason in headers) and
acked. An infrastructure failure (the store is down) acks nothing: every message of the batch
is nak'ed with a growing delay and comes back. A message that fails for any other reason is
tried on its own, so it never holds up the messages behind it, and after a bounded number of
deliveries it is dead-lettered as PROCESSING_FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

from eventsourcing.persistence import InterfaceError, OperationalError
from faststream import AckPolicy, Context
from faststream.message import StreamMessage
from faststream.nats import JStream, NatsBroker, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout

from hub.contracts.adapters import RecordWanted
from hub.errors import ConflictError
from hub.ingest.decode import Incoming, Refusal
from hub.ingest.engine import DEAD_LETTERED, Decoded, IngestEngine, Outcome
from hub.intake import record_fetch_failures, refetch_in
from hub.publish import note_pending, publish_changes
from hub.streams import Streams

log = logging.getLogger(__name__)

INFRASTRUCTURE = (
    OperationalError,
    InterfaceError,
    PsycopgOperationalError,
    PoolTimeout,
    ConnectionError,
    TimeoutError,
)

OUTCOMES = Counter(
    "pshub_ingest_messages_total", "Ingested messages by outcome and reason", ["outcome", "reason"]
)
BATCHES = Counter("pshub_ingest_batches_total", "Ingest batches committed")
FAILURES = Counter("pshub_ingest_failures_total", "Ingest batches that failed", ["kind"])
PARKED = Gauge("pshub_ingest_parked", "Changes parked until the record they refer to exists")


def backoff(deliveries: int) -> float:
    """Seconds before a failed message comes back: 0.5, 1, 2, ... up to 30."""
    return min(30.0, 0.5 * 2 ** max(0, deliveries - 1))


async def _undecoded(message: StreamMessage[Any]) -> Any:
    """The handler reads the raw messages and validates them itself: FastStream need not
    JSON-decode every body first."""
    return message.body


class IngestConsumer:
    """Feeds JetStream batches to the engine and settles every message afterwards."""

    def __init__(
        self,
        engine: IngestEngine,
        streams: Streams,
        *,
        batch_size: int = 500,
        max_wait: float = 0.05,
        max_deliveries: int = 5,
        ack_wait: float = 30.0,
        durable: str = "pshub-ingest",
    ) -> None:
        self.engine = engine
        self.streams = streams
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.max_deliveries = max_deliveries
        self.ack_wait = ack_wait
        self.durable = f"{streams.prefix}{durable}"
        self.js: JetStreamContext | None = None
        # Batches decoded and waiting for the writer: one, so the next fetch and decode
        # overlap the current batch's transaction (the GIL is free while PostgreSQL works).
        self._ready: asyncio.Queue[tuple[Sequence[Msg], list[Incoming], list[Decoded]]] = (
            asyncio.Queue(maxsize=1)
        )
        self._writer: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False
        self._accepting = 0  # accept() calls in progress

    def subscribe(self, broker: NatsBroker) -> None:
        """Registers the batch subscriber (before the broker starts)."""

        @broker.subscriber(
            f"{self.streams.prefix}ingest.>",
            stream=JStream(self.streams.ingest, declare=False),
            durable=self.durable,
            pull_sub=PullSub(batch_size=self.batch_size, timeout=self.max_wait, batch=True),
            ack_policy=AckPolicy.MANUAL,
            decoder=_undecoded,
            config=ConsumerConfig(
                ack_wait=self.ack_wait,
                max_deliver=-1,
                max_ack_pending=self.batch_size * 20,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
        async def ingest(message: Annotated[Any, Context("message")]) -> None:
            await self.accept(message.raw_message)

    async def accept(self, raw: Sequence[Msg]) -> None:
        """Decodes a batch and hands it to the writer, returning once the writer can take it:
        the subscriber fetches the next batch while this one's transaction runs. A batch that
        arrives while the consumer closes is released at once (nak) for another consumer."""
        self._accepting += 1
        try:
            if self._closing:
                await self._release(raw)
                return
            incoming = [self._incoming(m) for m in raw]
            # Validation is CPU work: off the event loop, once.
            decoded = await asyncio.to_thread(self.engine.decode_all, incoming)
            if self._closing:  # close() began while this batch was decoded
                await self._release(raw)
                return
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(
                    self._write_batches(), name="pshub-ingest-writer"
                )
            await self._ready.put((raw, incoming, decoded))
        finally:
            self._accepting -= 1

    async def _write_batches(self) -> None:
        while True:
            raw, incoming, decoded = await self._ready.get()
            try:
                await self._handle_decoded(raw, incoming, decoded)
            except Exception:  # unacked messages come back; the writer must live on
                log.exception("ingest: a batch of %d could not be settled", len(raw))
            finally:
                self._ready.task_done()

    async def close(self, timeout: float = 30.0) -> None:
        """Stops taking batches; the writer finishes every batch handed to it (including one
        being handed over now) before it stops."""
        self._closing = True
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._ready.join()
                    if not self._accepting:
                        break
                    await asyncio.sleep(0.01)  # a batch being decoded, released or queued
        except TimeoutError:
            log.warning("ingest: batches still being written at shutdown will come back")
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        for task in list(self._background):
            # A fetch still running: its parked change waits for the next one (or a retry).
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @staticmethod
    async def _release(raw: Sequence[Msg]) -> None:
        # Back to the stream now rather than after ack_wait; if even that fails (the
        # connection is closing), the server redelivers after ack_wait anyway.
        with contextlib.suppress(Exception):
            await asyncio.gather(*(m.nak() for m in raw))

    async def _handle_decoded(
        self, raw: Sequence[Msg], incoming: list[Incoming], decoded: list[Decoded]
    ) -> None:
        # Only the writer task comes here, one batch at a time: per-record order holds.
        # Dead letters go out before the outcome commits: a crash in between only
        # repeats the dead letter, which its Nats-Msg-Id de-duplicates.
        for message, item in zip(raw, decoded, strict=True):
            if isinstance(item[0], Refusal):
                await self.dead_letter(message, item[0].reason, item[0].text, item[0].message_id)
        try:
            outcomes = await self._process(decoded)
        except INFRASTRUCTURE as exc:
            FAILURES.labels("infrastructure").inc()
            log.warning("ingest: store unavailable (%s); %d messages will come back", exc, len(raw))
            await asyncio.gather(*(m.nak(delay=backoff(self._deliveries(m))) for m in raw))
            return
        except Exception:  # isolate the message at fault, keep the rest
            FAILURES.labels("processing").inc()
            log.exception("ingest: a batch of %d failed; trying its messages one by one", len(raw))
            await self._one_by_one(raw, incoming)
            return
        await self._settle(raw, outcomes)
        self._refetch_after(outcomes)
        await self._unpark_after(outcomes)

    async def _process(self, decoded: list[Decoded]) -> list[Outcome]:
        for attempt in range(3):
            try:
                return await asyncio.to_thread(self.engine.process_decoded, decoded)
            except ConflictError:
                # Another writer changed an aggregate or took a key first: decide again.
                log.info("ingest: conflict with another writer; retrying (attempt %d)", attempt + 1)
        return await asyncio.to_thread(self.engine.process_decoded, decoded)

    async def _settle(self, raw: Sequence[Msg], outcomes: list[Outcome]) -> None:
        BATCHES.inc()
        for outcome in outcomes:
            OUTCOMES.labels(outcome.outcome, outcome.reason or "").inc()
        for message in raw:
            await message.ack()  # a publish into the client's buffer: no round trip each

    def _refetch_after(self, outcomes: list[Outcome]) -> None:
        """Partial changes of records the hub has never seen wait for the whole record: where
        the source can be read, it is fetched and published (in the background)."""
        wanted = [
            (
                c.system,
                RecordWanted(c.source_type, c.source_id, c.tenant, c.sequence, c.occurred_at),
            )
            for o in outcomes
            if o.outcome == "parked"
            and (c := o.change) is not None
            and c.partial
            and o.waiting_for == c.record_key
        ]
        if wanted and self.js is not None:
            task = asyncio.create_task(self._refetch(wanted), name="pshub-refetch")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _refetch(self, wanted: list[tuple[str, RecordWanted]]) -> None:
        for system in sorted({s for s, _ in wanted}):
            try:
                intake = await asyncio.to_thread(
                    refetch_in, [(s, r) for s, r in wanted if s == system]
                )
                if intake.events:
                    assert self.js is not None
                    await publish_changes(self.js, self.streams, intake.events)
                    await asyncio.to_thread(note_pending, self.engine.app, intake.events)
                if intake.failures:
                    await asyncio.to_thread(
                        record_fetch_failures, self.engine.app, system, intake.failures
                    )
            except Exception:  # a process edge: the parked change still waits, visibly
                log.exception("ingest: fetching whole %s records failed", system)

    async def _one_by_one(self, raw: Sequence[Msg], incoming: list[Incoming]) -> None:
        for message, single in zip(raw, incoming, strict=True):
            try:
                outcomes = await asyncio.to_thread(self.engine.process, [single])
            except INFRASTRUCTURE:
                await message.nak(delay=backoff(self._deliveries(message)))
                continue
            except Exception as exc:  # a poison message: count its deliveries
                deliveries = self._deliveries(message)
                if deliveries < self.max_deliveries:
                    log.warning(
                        "ingest: message failed (delivery %d of %d): %s",
                        deliveries,
                        self.max_deliveries,
                        exc,
                    )
                    await message.nak(delay=backoff(deliveries))
                    continue
                text = f"failed on {deliveries} deliveries: {type(exc).__name__}: {exc}"
                message_id = (message.headers or {}).get("Nats-Msg-Id")
                await self.dead_letter(message, "PROCESSING_FAILED", text, message_id)
                try:
                    await asyncio.to_thread(self.engine.record_poison, single, text)
                except INFRASTRUCTURE:
                    await message.nak(delay=backoff(deliveries))
                    continue
                OUTCOMES.labels(DEAD_LETTERED, "PROCESSING_FAILED").inc()
                await message.ack()
                continue
            await self._settle([message], outcomes)

    async def _unpark_after(self, outcomes: list[Outcome]) -> None:
        if not any(o.outcome == "applied" for o in outcomes) and not any(
            o.outcome == "parked" for o in outcomes
        ):
            return
        try:
            await asyncio.to_thread(self.engine.unpark)
            PARKED.set(await asyncio.to_thread(self.engine.parked_count))
        except INFRASTRUCTURE as exc:
            log.warning("ingest: could not apply parked changes now (%s)", exc)

    async def dead_letter(
        self, message: Msg, reason: str, text: str, message_id: str | None
    ) -> None:
        """Publishes the original bytes to deadletter.<subject> with the reason in headers."""
        assert self.js is not None, "the consumer needs the JetStream context"
        original = self.streams.strip(message.subject)
        original_id = message_id or (message.headers or {}).get("Nats-Msg-Id") or ""
        headers = {
            "Pshub-Reason": reason,
            "Pshub-Reason-Text": text.replace("\r", " ").replace("\n", " ")[:1000],
            "Pshub-Original-Subject": original,
            "Pshub-Original-Id": original_id,
            "Content-Type": (message.headers or {}).get("Content-Type", "application/json"),
        }
        if original_id:
            headers["Nats-Msg-Id"] = f"deadletter:{original_id}"
        await self.js.publish(
            self.streams.deadletter_subject(original), message.data, headers=headers, timeout=10
        )

    def _incoming(self, message: Msg) -> Incoming:
        # The delivery count is read from the reply subject only when a message fails.
        return Incoming(
            self.streams.strip(message.subject), message.data, dict(message.headers or {})
        )

    @staticmethod
    def _deliveries(message: Msg) -> int:
        try:
            return int(message.metadata.num_delivered or 1)
        except Exception:  # a message without JetStream metadata
            return 1


async def sweep_overdue(engine: IngestEngine, grace: timedelta) -> None:
    """Opens exception cases for what has waited longer than `grace` (a parked change, an
    unresolved link), every quarter of the grace period (at most every 5 minutes)."""
    interval = min(300.0, max(0.2, grace.total_seconds() / 4))
    while True:
        try:
            opened = await asyncio.to_thread(engine.sweep_overdue, grace)
            if opened:
                log.info("ingest: %d overdue waits became exception cases", len(opened))
        except INFRASTRUCTURE as exc:
            log.warning("ingest: could not look for overdue waits now (%s)", exc)
        except Exception:  # a process edge: log, and look again next time
            log.exception("ingest: looking for overdue waits failed")
        await asyncio.sleep(interval)
