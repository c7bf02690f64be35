"""The hub's JetStream streams and subjects (CONTRACT.md), under PSHUB_NATS_PREFIX."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
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
        def config(name: str, subject: str) -> StreamConfig:
            return StreamConfig(
                name=name,
                subjects=[f"{self.prefix}{subject}.>"],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
            )

        return [
            config(self.ingest, "ingest"),
            config(self.events, "events"),
            config(self.feeds, "feed"),
            config(self.deadletter, "deadletter"),
        ]


async def ensure_streams(js: JetStreamContext, streams: Streams) -> None:
    """Creates the hub's streams, or brings an existing one to this configuration."""
    for config in streams.configs():
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:
                pass  # created meanwhile by another hub process: update it below
        await js.update_stream(config)
