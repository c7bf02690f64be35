"""Stored event state as plain JSON: the transcoder's type wrappers unwrapped."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

# Attributes every stored event has that are not the event's own data.
_ENVELOPE = frozenset({"originator_id", "originator_version", "originator_topic"})


def unwrap(value: Any) -> Any:
    """Replaces {"_type_": ..., "_data_": ...} wrappers by their plain JSON value."""
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            if value["_type_"] == "uuid_hex":
                return str(UUID(value["_data_"]))
            return unwrap(value["_data_"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def event_data(state: bytes) -> dict[str, Any]:
    """Returns an event's own attributes as plain JSON (ids, decimals and dates as strings)."""
    data = unwrap(json.loads(state))
    return {k: v for k, v in data.items() if k not in _ENVELOPE}


def event_type(topic: str) -> str:
    """The event's type name: `domain.client:Client.Registered` -> `Registered`."""
    return topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
