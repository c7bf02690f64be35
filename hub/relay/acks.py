"""JetStream acknowledgements of the relay's publishes, matched to futures by reply subject.

nats-py's `publish_async` does this too, but a refusal (`wrong last sequence`) raises inside
its reply handler instead of failing the future, which then waits for its timeout; here a
refusal fails at once, and the acknowledgement is read without building nats-py's objects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription


@dataclass(frozen=True)
class Ack:
    """What JetStream answered to one publish: the stream sequence, or why it refused."""

    sequence: int = 0
    duplicate: bool = False
    error: str | None = None


class Acks:
    """One wildcard inbox for every acknowledgement the relay asks for."""

    def __init__(self) -> None:
        self._prefix = ""
        self._counter = itertools.count()
        self._waiting: dict[str, asyncio.Future[Ack]] = {}
        self._subscription: Subscription | None = None

    async def open(self, nc: NATS) -> None:
        self._prefix = nc.new_inbox() + "."
        self._subscription = await nc.subscribe(self._prefix + "*", cb=self._answered)

    def expect(self) -> tuple[str, asyncio.Future[Ack]]:
        """A reply subject to publish with, and the future its acknowledgement resolves."""
        reply = f"{self._prefix}{next(self._counter)}"
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._waiting[reply] = future
        future.add_done_callback(lambda _: self._waiting.pop(reply, None))
        return reply, future

    async def abandon(self) -> None:
        """Fails every awaited acknowledgement at once (the connection closed)."""
        for future in list(self._waiting.values()):
            if not future.done():
                future.set_result(Ack(error="the NATS connection closed"))

    async def _answered(self, msg: Msg) -> None:
        future = self._waiting.get(msg.subject)
        if future is None or future.done():
            return
        future.set_result(_parse(msg))


def _parse(msg: Msg) -> Ack:
    status = (msg.headers or {}).get("Status")
    if status and not msg.data:  # 503: no stream listens on the subject
        return Ack(error=f"status {status} {(msg.headers or {}).get('Description', '')}")
    try:
        answer = json.loads(msg.data)
    except ValueError:
        return Ack(error=f"unreadable acknowledgement {msg.data[:200]!r}")
    if "error" in answer:
        error = answer["error"]
        return Ack(error=f"{error.get('err_code', '')} {error.get('description', error)}")
    return Ack(sequence=int(answer.get("seq", 0)), duplicate=bool(answer.get("duplicate")))
