"""A recorded event as the CloudEvent published on `events.<entity>.<EventType>`.

The event's attributes come straight from the stored JSON (the transcoder's `_type_`
wrappers unwrapped) rather than through domain objects: the relay publishes every event of
the log, and building each event object only to turn it back into JSON would double its
cost. Confidential and personal attributes are left out (hub/event_fields.py), as the HTTP
API leaves them out for a `read` token. orjson parses and writes the JSON: half the CPU of
the standard library's json here (ops/bench/relay.py), which remains the fallback for what
orjson refuses (integers beyond 64 bits).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from hub.event_fields import redact_event
from hub.store.plain import event_type
from hub.streams import Streams

CLOUDEVENTS_JSON = "application/cloudevents+json"

# The envelope on events.*, as JSON Schema (published in the AsyncAPI document).
ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": "RelayedEvent",
    "description": "A recorded event as published on events.<entity>.<EventType>: a "
    "CloudEvent 1.0 in structured JSON mode. Confidential and personal fields are left out "
    "of data.",
    "type": "object",
    "required": [
        "specversion", "id", "source", "type", "subject", "time", "sequence",
        "datacontenttype", "aggregateversion", "system", "actor", "data",
    ],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "description": "<stream>:<position>; also Nats-Msg-Id"},
        "source": {"type": "string", "description": "/pshub or /pshub/<prefix>"},
        "type": {"type": "string", "description": "pshub.<entity>.<EventType>.v1"},
        "subject": {"type": "string", "format": "uuid", "description": "the canonical id"},
        "time": {"type": "string", "format": "date-time", "description": "when recorded"},
        "sequence": {"type": "string", "description": "the log position, 20 digits"},
        "datacontenttype": {"const": "application/json"},
        "aggregateversion": {"type": "integer", "description": "the record's version"},
        "occurredat": {"type": "string", "format": "date-time", "description": "source time"},
        "system": {"type": "string"},
        "messageid": {"type": "string"},
        "correlationid": {"type": "string"},
        "causationid": {"type": "string"},
        "actor": {"type": "string"},
        "data": {"type": "object", "description": "the event's attributes"},
        "dataomitted": {
            "type": "string",
            "description": "why data is missing (too_large: read the record over HTTP)",
        },
    },
}  # fmt: skip

# The columns a page of the log is read with, in the order `encode` expects them.
COLUMNS = (
    "notification_id, entity, originator_id::text, originator_version, topic, state, "
    "recorded_at, occurred_at, system, message_id, correlation_id, causation_id, actor"
)
Row = Sequence[Any]

# Attributes every stored event has that are the library's bookkeeping, not the event's data.
_BOOKKEEPING = frozenset({"timestamp", "originator_topic", "originator_id", "originator_version"})

# CloudEvents extension attributes (lower-case letters and digits only) for the metadata, with
# the row columns they come from.
_METADATA = (
    ("occurredat", 7),
    ("system", 8),
    ("messageid", 9),
    ("correlationid", 10),
    ("causationid", 11),
    ("actor", 12),
)


def _uuid_text(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


class _Inexact(Exception):
    """orjson read a number as a float: an integer beyond 64 bits loses digits that way."""


def _plain(value: Any) -> Any:
    # A transcoded value ({"_type_": "Money", "_data_": {...}}) becomes its plain JSON form:
    # ids and decimals as strings, dates ISO, value objects as their fields.
    kind = type(value)
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            data = value["_data_"]
            return _uuid_text(data) if value["_type_"] == "uuid_hex" else _plain(data)
        return {k: _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if kind is float:
        raise _Inexact
    return value


def event_attributes(state: bytes) -> dict[str, Any]:
    """An event's own attributes as plain JSON values, from its stored state."""
    try:
        data: dict[str, Any] = orjson.loads(state)
        return {k: _plain(v) for k, v in data.items() if k not in _BOOKKEEPING}
    except (orjson.JSONDecodeError, _Inexact):
        # The standard library keeps every integer exact; a float (domain events hold none)
        # stays the text it was written as.
        data = json.loads(state, parse_float=str)
        return {k: _plain(v) for k, v in data.items() if k not in _BOOKKEEPING}


def _dumps(envelope: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(envelope)
    except TypeError:
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Envelopes:
    """Encodes rows of the event table as CloudEvents for one hub's events stream."""

    def __init__(self, streams: Streams, source: str, *, max_bytes: int = 1_048_576) -> None:
        self.streams = streams
        self.source = source
        self.max_bytes = max_bytes  # the NATS server's max_payload
        self._id_prefix = f"{streams.events}:"
        # Consecutive events share their recording time (one transaction): render it once.
        self._time: tuple[datetime | None, str] = (None, "")

    def message_id(self, position: int) -> str:
        """The CloudEvent id and Nats-Msg-Id of the event at a log position."""
        return f"{self._id_prefix}{position}"

    @staticmethod
    def position_of(message_id: str) -> int | None:
        """The log position a relayed message id names (None for any other id)."""
        _, _, tail = message_id.rpartition(":")
        return int(tail) if tail.isdigit() else None

    def encode(self, row: Row) -> tuple[str, bytes]:
        """Returns the subject and the CloudEvent (structured JSON) of one event row."""
        position, entity = row[0], row[1]
        subject, kind = self._naming(entity, row[4])
        if row[6] != self._time[0]:
            self._time = (row[6], _instant(row[6]))
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": f"{self._id_prefix}{position}",
            "source": self.source,
            "type": kind,
            "subject": row[2],
            "time": self._time[1],
            "sequence": f"{position:020d}",
            "datacontenttype": "application/json",
            "aggregateversion": row[3],
        }
        for name, index in _METADATA:  # metadata a row lacks is left out rather than null
            value = row[index]
            if value is not None:
                envelope[name] = _instant(value) if index == 7 else value
        envelope["data"] = redact_event(entity, event_attributes(row[5]))
        body = _dumps(envelope)
        if len(body) > self.max_bytes:
            # NATS refuses it, and the log must flow on: the event goes without its data.
            envelope["data"] = {}
            envelope["dataomitted"] = "too_large"
            body = _dumps(envelope)
        return subject, body

    @lru_cache(maxsize=4096)  # noqa: B019 (one instance per relay, for its whole life)
    def _naming(self, entity: str, topic: str) -> tuple[str, str]:
        name = event_type(topic)
        return self.streams.event_subject(entity, name), f"pshub.{entity}.{name}.v1"
