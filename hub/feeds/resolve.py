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


# An optional placeholder for a record the target does not hold: its field is left out.
_OMIT = object()


def resolve(payload: Any, lookup: Lookup, left_out: list[str] | None = None) -> Any:
    """The payload with every placeholder replaced; raises Waiting for an unknown one (an
    optional one's field is left out, and its canonical id added to `left_out`: the ledger
    keeps what the target was not told, hub/feeds/left_out.py)."""
    resolved = _resolve(payload, lookup, [] if left_out is None else left_out)
    return None if resolved is _OMIT else resolved


def _resolve(payload: Any, lookup: Lookup, left_out: list[str]) -> Any:
    if isinstance(payload, dict):
        if PLACEHOLDER in payload:
            found = lookup(UUID(payload[PLACEHOLDER]), payload.get("type", ""))
            if found is None:
                if payload.get("optional"):
                    left_out.append(payload[PLACEHOLDER])
                    return _OMIT
                raise Waiting(payload[PLACEHOLDER], payload.get("type", "record"))
            shape = payload.get("as")
            return int(found) if shape == "int" else {"id": found} if shape == "ref" else found
        values = {key: _resolve(value, lookup, left_out) for key, value in payload.items()}
        return {key: value for key, value in values.items() if value is not _OMIT}
    if isinstance(payload, list):
        found = (_resolve(value, lookup, left_out) for value in payload)
        return [v for v in found if v is not _OMIT]
    return payload
