"""Resolving the placeholders of hub.contracts.feeds.target_ref when an item is delivered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from hub.contracts.feeds import PLACEHOLDER

Lookup = Callable[[UUID, str], str | None]


class Waiting(Exception):
    """The item names a record the target does not hold yet."""

    def __init__(self, canonical_id: str, type_: str) -> None:
        super().__init__(f"waiting for {type_} {canonical_id} to be delivered first")
        self.canonical_id = canonical_id


def references(payload: Any) -> list[str]:
    """The canonical ids a payload's placeholders name."""
    if isinstance(payload, dict):
        if PLACEHOLDER in payload:
            return [payload[PLACEHOLDER]]
        return [ref for value in payload.values() for ref in references(value)]
    if isinstance(payload, list):
        return [ref for value in payload for ref in references(value)]
    return []


def resolve(payload: Any, lookup: Lookup) -> Any:
    """The payload with every placeholder replaced; raises Waiting for an unknown one."""
    if isinstance(payload, dict):
        if PLACEHOLDER in payload:
            found = lookup(UUID(payload[PLACEHOLDER]), payload.get("type", ""))
            if found is None:
                raise Waiting(payload[PLACEHOLDER], payload.get("type", "record"))
            return int(found) if payload.get("as") == "int" else found
        return {key: resolve(value, lookup) for key, value in payload.items()}
    if isinstance(payload, list):
        return [resolve(value, lookup) for value in payload]
    return payload
