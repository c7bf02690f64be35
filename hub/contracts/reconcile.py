"""What a downstream target's connector offers a reconcile pass (hub/reconciliation/): a
reader over the target's own API that lists what the target holds, entity by entity, in the
shape of the feed's payloads (so the hub's side and the target's compare field by field).

Adapters implement `Reader` in adapters/<system>/reads.py and expose it as
`Target.reader(settings, client)` beside `Target.writer`; a target without one is not
reconciled (GET /v1/reconciliation says so).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

# What a reader yields and the money it finds, as the comparison (domain/reconciliation.py)
# takes them: re-exported here, the contract adapters import.
from domain.reconciliation import Held, Money

__all__ = ["Held", "Money", "ReadFailed", "Reader"]


class ReadFailed(Exception):
    """The target could not be read: `unreachable` (no connection, a timeout, 5xx),
    `throttled` (429 after the retries a pass allows), or `refused` (any other answer)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class Reader(Protocol):
    # The target's entities the reader lists (as FeedItem.entity names them).
    entities: tuple[str, ...]
    # Field names whose values are rates or derived from them: a difference in one shows its
    # values only to read:confidential.
    confidential: frozenset[str]
    # Payload fields the writer does not always write, so the target's value is not the
    # hub's to judge (NetSuite's externalId, left as it is on a record NetSuite had first).
    not_compared: frozenset[str]

    def held(self, entity: str) -> Iterator[Held]:
        """Every record of the entity the target holds (all pages); raises ReadFailed."""
        ...

    def xref_types(self, entity: str) -> tuple[str, ...]:
        """The xref types (lower case) a record of the entity is known to the hub by, when
        the hub has it from ingest rather than from its own feed."""
        ...

    def money(self, entity: str, fields: Mapping[str, Any]) -> Money | None:
        """The money a record of the entity carries (a payload or a held record), if any."""
        ...
