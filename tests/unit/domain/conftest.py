"""Replay helpers: rebuild an aggregate from its events, directly and through a JSON store codec."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoding,
    UUIDAsHex,
)

from domain.registry import VALUE_TYPES


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def value_transcoding(cls: type) -> Transcoding:
    """A transcoding that stores a frozen dataclass by its fields and rebuilds it with cls(**)."""

    class ValueTranscoding(Transcoding):
        type = cls
        name = cls.__qualname__

        def encode(self, obj: Any) -> dict[str, Any]:
            return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

        def decode(self, data: dict[str, Any]) -> Any:
            return cls(**data)

    return ValueTranscoding()


def make_mapper() -> Mapper:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    for cls in VALUE_TYPES:
        transcoder.register(value_transcoding(cls))
    return Mapper(transcoder=transcoder)


def replay(events: list[DomainEvent]) -> Any:
    aggregate = None
    for e in events:
        aggregate = e.mutate(aggregate)
    return aggregate


def state(aggregate: Aggregate) -> dict[str, tuple[type, Any]]:
    # Types too: a StrEnum that came back from the store as a plain str should be noticed.
    return {k: (type(v), v) for k, v in vars(aggregate).items()}


@pytest.fixture
def check_replay() -> Callable[[Aggregate], None]:
    """Asserts that the aggregate's pending events rebuild it, directly and via JSON storage."""

    def check(aggregate: Aggregate) -> None:
        events = aggregate.collect_events()
        assert events, "nothing to replay"
        direct = replay(events)
        assert state(direct) == state(aggregate)
        mapper = make_mapper()
        stored = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
        assert state(replay(stored)) == state(aggregate)

    return check
