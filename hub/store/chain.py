"""The audit hash chain: each event's hash covers its stored content and the previous hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

GENESIS = bytes(32)


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


def _field(value: object) -> bytes:
    if value is None:
        data = b"\x00"
    elif isinstance(value, bytes):
        data = b"b" + value
    elif isinstance(value, datetime):
        data = b"t" + value.astimezone(UTC).isoformat().encode()
    else:
        data = b"s" + str(value).encode()
    # Length-prefixed, so that no two different rows encode to the same bytes.
    return len(data).to_bytes(8, "big") + data


def state_digest(state: bytes) -> bytes:
    """The chain covers the state through its digest, so that an export with personal data
    left out can still be verified link by link."""
    return hashlib.sha256(state).digest()


def event_hash(prev_hash: bytes, row: ChainedRow, digest_of_state: bytes | None = None) -> bytes:
    """Returns sha256(prev_hash || every covered column, length-prefixed)."""
    digest = hashlib.sha256(prev_hash)
    for value in (
        row.position,
        row.entity,
        row.originator_id,
        row.originator_version,
        row.topic,
        digest_of_state if digest_of_state is not None else state_digest(row.state),
        row.recorded_at,
        row.occurred_at,
        row.system,
        row.message_id,
        row.correlation_id,
        row.causation_id,
        row.actor,
    ):
        digest.update(_field(value))
    return digest.digest()


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
