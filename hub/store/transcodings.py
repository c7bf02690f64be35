"""How event attribute values are written to and read from the store's JSON."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoder, Transcoding


class DateAsISO(Transcoding):
    """Calendar dates as YYYY-MM-DD: a work date is never shifted by a time zone."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A frozen value-object dataclass as a dict of its fields (nested values transcoded)."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__qualname__
        self._fields = tuple(f.name for f in dataclasses.fields(cls))

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def register_value_types(transcoder: Transcoder, value_types: tuple[type, ...]) -> None:
    """Registers the date transcoding and one transcoding per domain value type."""
    transcoder.register(DateAsISO())
    for cls in value_types:
        transcoder.register(DataclassAsDict(cls))


class OrjsonTranscoder(JSONTranscoder):
    """The library's JSON transcoder, reading with orjson: parsing the stored JSON was half
    of decoding an event, and decoding events a quarter of a rebuild. Writing is unchanged,
    and so is what comes back: each object is given to the same hook as the library's
    `json` decoder gives it, innermost first (a value type's data before the value)."""

    def decode(self, data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            # What orjson refuses and `json` reads (NaN, integers beyond 64 bits).
            return super().decode(data)
        return self._revive(parsed)

    def _revive(self, obj: Any) -> Any:
        if type(obj) is dict:
            for key, value in obj.items():
                if type(value) is dict or type(value) is list:
                    obj[key] = self._revive(value)  # same keys: safe while iterating
            return self._decode_obj(obj) if len(obj) == 2 and "_type_" in obj else obj
        if type(obj) is list:
            for index, value in enumerate(obj):
                if type(value) is dict or type(value) is list:
                    obj[index] = self._revive(value)
        return obj
