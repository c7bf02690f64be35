"""The consumer's hand-over between the subscriber and its writer task, and its shutdown.

A stub engine stands in for the store here so that a batch can be held in the middle of its
decoding, which no timing against real servers can do reliably; tests/integration and
tests/e2e run the same consumer against real NATS and PostgreSQL (kill -9 included)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from hub.ingest.consumer import IngestConsumer
from hub.ingest.engine import Outcome
from hub.streams import Streams


class Message:
    def __init__(self, n: int) -> None:
        self.subject, self.data, self.headers = "ingest.harvest.client", b"{}", {"n": str(n)}
        self.settled: str | None = None

    async def ack(self) -> None:
        self.settled = "ack"

    async def nak(self, delay: float | None = None) -> None:
        self.settled = "nak"


class Engine:
    def __init__(self) -> None:
        self.decoding = threading.Event()
        self.may_finish = threading.Event()
        self.may_finish.set()
        self.written: list[list[str]] = []

    def decode_all(self, incoming: list[Any]) -> list[Any]:
        self.decoding.set()
        self.may_finish.wait(10)
        return [(object(), m) for m in incoming]

    def process_decoded(self, decoded: list[Any]) -> list[Outcome]:
        self.written.append([m.headers["n"] for _, m in decoded])
        return [Outcome(m.headers["n"], m.subject, "applied") for _, m in decoded]

    def unpark(self) -> list[Outcome]:
        return []

    def parked_count(self) -> int:
        return 0


def consumer(engine: Engine) -> IngestConsumer:
    return IngestConsumer(engine, Streams(""))  # type: ignore[arg-type]


def test_batches_handed_over_are_written_in_order_and_acked_before_close_returns() -> None:
    async def run() -> tuple[list[list[str]], list[Message]]:
        engine = Engine()
        ingest = consumer(engine)
        batches = [[Message(3 * b + i) for i in range(3)] for b in range(4)]
        # One after another, as the subscriber hands them over (each decode runs in a
        # thread: batches accepted at once could finish decoding in any order).
        for batch in batches:
            await ingest.accept(batch)
        await ingest.close()
        return engine.written, [m for batch in batches for m in batch]

    written, messages = asyncio.run(run())
    assert [n for batch in written for n in batch] == [str(n) for n in range(12)]
    assert {m.settled for m in messages} == {"ack"}


def test_a_batch_still_decoding_when_close_begins_is_released_not_written() -> None:
    async def run() -> tuple[Engine, IngestConsumer, list[Message]]:
        engine = Engine()
        engine.may_finish.clear()
        ingest = consumer(engine)
        batch = [Message(1), Message(2)]
        accepting = asyncio.create_task(ingest.accept(batch))
        await asyncio.to_thread(engine.decoding.wait, 10)
        closing = asyncio.create_task(ingest.close(timeout=10))
        await asyncio.sleep(0.05)
        assert not closing.done()  # close waits for the hand-over in progress
        engine.may_finish.set()
        await asyncio.wait_for(asyncio.gather(accepting, closing), 10)
        return engine, ingest, batch

    engine, ingest, batch = asyncio.run(run())
    assert engine.written == []
    assert [m.settled for m in batch] == ["nak", "nak"]  # back to the stream at once
    assert ingest._writer is None  # no writer was started after close began


def test_a_batch_arriving_after_close_is_released() -> None:
    async def run() -> tuple[Engine, list[Message]]:
        engine = Engine()
        ingest = consumer(engine)
        await ingest.close()
        batch = [Message(1)]
        await ingest.accept(batch)
        return engine, batch

    engine, batch = asyncio.run(run())
    assert engine.written == []
    assert batch[0].settled == "nak"
