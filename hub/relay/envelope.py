"""A recorded event as the CloudEvent published on `events.<entity>.<EventType>`.

The event's attributes come straight from the stored JSON (the transcoder's `_type_`
wrappers unwrapped as the JSON is parsed) rather than through domain objects: the relay
publishes every event of the log, and building each event object only to turn it back into
JSON would double its cost. Confidential and personal attributes are left out
(hub/event_fields.py), as the HTTP API leaves them out for a `read` token.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

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
    },
}  # fmt: skip

# The columns a page of the log is read with, in the order `encode` expects them.
COLUMNS = (
    "notification_id, entity, originator_id::text, originator_version, topic, state, "
    "recorded_at, occurred_at, system, message_id, correlation_id, causation_id, actor"
)
Row = Sequence[Any]

# Attributes every stored event has that are the library's bookkeeping, not the event's data.
_BOOKKEEPING = ("timestamp", "originator_topic", "originator_id", "originator_version")

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


def _plain(obj: dict[str, Any]) -> Any:
    # Called by the parser for every JSON object, innermost first: a transcoded value
    # ({"_type_": "Money", "_data_": {...}}) becomes its plain JSON form (ids and decimals as
    # strings, dates ISO, value objects as their fields).
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        data = obj["_data_"]
        return _uuid_text(data) if obj["_type_"] == "uuid_hex" else data
    return obj


_DECODER = json.JSONDecoder(object_hook=_plain)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def event_attributes(state: bytes) -> dict[str, Any]:
    """An event's own attributes as plain JSON values, from its stored state."""
    data: dict[str, Any] = _DECODER.decode(state.decode("utf-8"))
    for name in _BOOKKEEPING:
        data.pop(name, None)
    return data


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Envelopes:
    """Encodes rows of the event table as CloudEvents for one hub's events stream.

    The envelope is formatted around the JSON-encoded data rather than built as a dict and
    dumped: every value placed in it unescaped is a number, an id, a name from code or a
    formatted instant, and the rest goes through the JSON encoder. Consecutive events share
    their recording time and mostly their metadata (one transaction, one source message), so
    both are rendered once per run. This halves the encoding time (ops/bench/relay.py).
    """

    def __init__(self, streams: Streams, source: str) -> None:
        self.streams = streams
        self.source = source
        self._id_prefix = f"{streams.events}:"
        self._head = f'{{"specversion":"1.0","id":"{self._id_prefix}'
        self._source = f',"source":{_ENCODER.encode(source)},"type":"'
        self._time: tuple[datetime | None, str] = (None, "")
        self._metadata: tuple[tuple[Any, ...] | None, str] = (None, "")

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
        metadata = tuple(row[7:13])
        if metadata != self._metadata[0]:
            self._metadata = (metadata, _extensions(row))
        data = _ENCODER.encode(redact_event(entity, event_attributes(row[5])))
        return subject, (
            f'{self._head}{position}"{self._source}{kind}","subject":"{row[2]}",'
            f'"time":"{self._time[1]}","sequence":"{position:020d}",'
            f'"datacontenttype":"application/json","aggregateversion":{row[3]}'
            f'{self._metadata[1]},"data":{data}}}'
        ).encode()

    @lru_cache(maxsize=4096)  # noqa: B019 (one instance per relay, for its whole life)
    def _naming(self, entity: str, topic: str) -> tuple[str, str]:
        name = event_type(topic)
        return self.streams.event_subject(entity, name), f"pshub.{entity}.{name}.v1"


def _extensions(row: Row) -> str:
    # Metadata a row lacks is left out rather than null.
    parts = []
    for name, index in _METADATA:
        value = row[index]
        if value is not None:
            text = _instant(value) if index == 7 else value
            parts.append(f',"{name}":{_ENCODER.encode(text)}')
    return "".join(parts)
