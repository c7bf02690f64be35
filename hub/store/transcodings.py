"""How event attribute values are written to and read from the store's JSON."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import Transcoder, Transcoding


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
