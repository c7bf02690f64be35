"""The audit hash chain: each event's hash covers its stored content and the previous hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

GENESIS = bytes(32)

# One encoder for every row: json.dumps with options builds a new one per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class ChainedRow:
    """The columns of one recorded event that the chain covers, in table order."""

    position: int
    entity: str
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    recorded_at: datetime
    occurred_at: datetime | None
    system: str
    message_id: str | None
    correlation_id: str | None
    causation_id: str | None
    actor: str


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    # Most instants are UTC already (recorded_at always): skip the conversion for them.
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()


def state_digest(state: bytes) -> bytes:
    """The chain covers the state through its digest, so that an export with personal data
    left out can still be verified link by link."""
    return hashlib.sha256(state).digest()


def covered(row: ChainedRow, digest_of_state: bytes | None = None) -> bytes:
    """The bytes of a row the chain covers: a compact JSON array (unambiguous, and quick to
    build; the offline verifier builds the same array from an export line)."""
    return _COMPACT.encode(
        [
            row.position,
            row.entity,
            str(row.originator_id),
            row.originator_version,
            row.topic,
            (digest_of_state if digest_of_state is not None else state_digest(row.state)).hex(),
            _instant(row.recorded_at),
            _instant(row.occurred_at),
            row.system,
            row.message_id,
            row.correlation_id,
            row.causation_id,
            row.actor,
        ],
    ).encode()


def event_hash(prev_hash: bytes, row: ChainedRow, digest_of_state: bytes | None = None) -> bytes:
    """Returns sha256(prev_hash || the covered bytes of the row)."""
    return hashlib.sha256(prev_hash + covered(row, digest_of_state)).digest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    position: int
    reason: str


def verify_chain(
    rows: Iterable[tuple[ChainedRow, bytes]], prev_hash: bytes = GENESIS, expected_position: int = 1
) -> tuple[int, ChainBreak | None]:
    """Checks rows in position order; returns how many were checked and the first break."""
    checked = 0
    for row, stored_hash in rows:
        if row.position != expected_position:
            return checked, ChainBreak(
                expected_position,
                f"position {expected_position} is missing (next present is {row.position})",
            )
        if event_hash(prev_hash, row) != stored_hash:
            return checked, ChainBreak(
                row.position, "stored hash does not match the event's content and predecessor"
            )
        checked += 1
        prev_hash = stored_hash
        expected_position += 1
    return checked, None
