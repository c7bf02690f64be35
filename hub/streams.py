"""The hub's JetStream streams and subjects (CONTRACT.md), under PSHUB_NATS_PREFIX."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import nats
from nats.js import JetStreamContext, JetStreamManager
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

# How long JetStream itself drops a re-published message id; the hub's own message table
# catches duplicates beyond it, with no time limit.
DUPLICATE_WINDOW_SECONDS = 120.0


@dataclass(frozen=True)
class Streams:
    """Stream names and subjects for one prefix (several hubs or test runs share a server)."""

    prefix: str = ""

    @property
    def ingest(self) -> str:
        return f"{self.prefix}PSHUB_INGEST"

    @property
    def events(self) -> str:
        return f"{self.prefix}PSHUB_EVENTS"

    @property
    def feeds(self) -> str:
        return f"{self.prefix}PSHUB_FEEDS"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}PSHUB_DEADLETTER"

    def ingest_subject(self, system: str, entity: str) -> str:
        return f"{self.prefix}ingest.{system}.{entity}"

    def deadletter_subject(self, original_subject: str) -> str:
        return f"{self.prefix}deadletter.{original_subject}"

    def event_subject(self, entity: str, event_type: str) -> str:
        return f"{self.prefix}events.{entity}.{event_type}"

    def feed_subject(self, target: str, entity: str) -> str:
        return f"{self.prefix}feed.{target}.{entity}"

    def strip(self, subject: str) -> str:
        """The subject without this hub's prefix."""
        return subject[len(self.prefix) :] if subject.startswith(self.prefix) else subject

    def configs(self) -> list[StreamConfig]:
        return [
            self.config(name) for name in (self.ingest, self.events, self.feeds, self.deadletter)
        ]

    def config(self, name: str) -> StreamConfig:
        """The configuration of one of this hub's streams, by name."""
        subjects = {
            self.ingest: "ingest",
            self.events: "events",
            self.feeds: "feed",
            self.deadletter: "deadletter",
        }
        return StreamConfig(
            name=name,
            subjects=[f"{self.prefix}{subjects[name]}.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )


async def ensure_streams(js: JetStreamContext, streams: Streams) -> None:
    """Creates the hub's streams, or brings an existing one to this configuration."""
    for config in streams.configs():
        await ensure_stream(js, config)


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Creates one stream, or brings it to this configuration."""
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:
            pass  # created meanwhile by another hub process: update it below
    await js.update_stream(config)


# The server lists streams by name, a page (256) at a time, by offset: a stream that another
# client deletes meanwhile shifts the next page, which would skip one of ours. Pages re-read
# the end of the previous one, and deleting lists again until nothing of the prefix is left.
_PAGE_OVERLAP = 32
_DELETE_ROUNDS = 5


async def stream_names(jsm: JetStreamManager, prefix: str) -> list[str]:
    """Names of the streams on the server whose name starts with prefix."""
    names: set[str] = set()
    offset = 0
    while True:
        page = await jsm.streams_info_iterator(offset=offset)
        infos = list(page) if page.streams else []
        names.update(info.config.name for info in infos if info.config.name.startswith(prefix))
        if len(infos) <= _PAGE_OVERLAP or offset + len(infos) >= page.total:
            return sorted(names)
        offset += len(infos) - _PAGE_OVERLAP


async def delete_streams(jsm: JetStreamManager, prefix: str) -> list[str]:
    """Deletes every stream whose name starts with prefix (their consumers go with them);
    returns the names deleted."""
    if not prefix:
        # An empty prefix names every stream on the server, other hubs' included.
        raise ValueError("refusing to delete streams without a prefix")
    deleted: list[str] = []
    for _ in range(_DELETE_ROUNDS):
        names = await stream_names(jsm, prefix)
        if not names:
            break
        for name in names:
            try:
                await jsm.delete_stream(name)
            except NotFoundError:
                continue  # deleted meanwhile
            deleted.append(name)
    return deleted


def remove_streams(nats_url: str, prefix: str) -> list[str]:
    """Connects to nats_url and deletes every stream of prefix (for tests and benchmarks that
    run on a shared server); returns the names deleted."""

    async def run() -> list[str]:
        nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=2)
        try:
            return await delete_streams(nc.jsm(), prefix)
        finally:
            await nc.close()

    return asyncio.run(run())
