"""The exception queue's cases: input the hub could not apply, and who should look at it.

A case is event-sourced like everything else, so the queue is a projection of the log and
its handling (resolved, retried, by whom) is part of the audit trail.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import natural_id

# Who works a case, by reason: data stewards match records, integration engineers fix feeds,
# finance operations handle broken billing rules.
OWNERS = {
    "PROBABLE_MATCH": "data-stewardship",
    "UNKNOWN_AGGREGATE": "data-stewardship",
    "UNRESOLVED_LINK": "data-stewardship",
    "FETCH_FAILED": "integration",
    "PROCESSING_FAILED": "integration",
    "MALFORMED_PAYLOAD": "integration",
    "SCHEMA_VIOLATION": "integration",
    "MISSING_REQUIRED_ID": "integration",
    "PAYLOAD_TOO_LARGE": "integration",
    "FORBIDDEN": "integration",
    "INVALID_CURRENCY": "integration",
    "NEGATIVE_QUANTITY": "integration",
    # A downstream target did not take what a feed delivered (hub/feeds).
    "DOWNSTREAM_TIMEOUT": "integration",
    "DOWNSTREAM_REJECTED": "integration",
}


class CaseStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ExceptionCase(Aggregate):
    """One exception-queue entry: what failed, why (reason code and rule), and its handling."""

    ENTITY = "exception"

    @staticmethod
    def id_for(message_id: str, reason: str, *key: str) -> UUID:
        return natural_id("exception", message_id, reason, *key)

    @event("Raised")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        reason: str,
        rule: str,
        detail: str,
        entity: str,
        system: str,
        message_id: str,
        subject: str,
        canonical_ids: list[UUID],
        owner: str,
    ) -> None:
        self.reason = reason
        self.rule = rule
        self.detail = detail
        self.entity = entity
        self.system = system
        self.message_id = message_id
        self.subject = subject
        self.canonical_ids = list(canonical_ids)
        self.owner = owner
        self.status = CaseStatus.OPEN
        self.resolution = ""
        self.resolved_by = ""
        self.retries = 0

    @classmethod
    def open(
        cls,
        *,
        message_id: str,
        reason: str,
        rule: str = "",
        detail: str = "",
        entity: str = "",
        system: str = "",
        subject: str = "",
        canonical_ids: list[UUID] | None = None,
        key: tuple[str, ...] = (),
    ) -> ExceptionCase:
        """Opens a case for a message (one per message, reason and optional key)."""
        return cls(
            id=cls.id_for(message_id, reason, *key),
            reason=reason,
            rule=rule,
            detail=detail[:2000],
            entity=entity,
            system=system,
            message_id=message_id,
            subject=subject,
            canonical_ids=list(canonical_ids or []),
            owner=OWNERS.get(reason, "finance-ops"),
        )

    def resolve(self, by: str, note: str = "") -> None:
        """Closes the case; a resolved case stays in the history."""
        if self.status == CaseStatus.OPEN:
            self._resolved(by=by, note=note)

    @event("Resolved")
    def _resolved(self, by: str, note: str) -> None:
        self.status = CaseStatus.RESOLVED
        self.resolved_by = by
        self.resolution = note

    def note_retry(self, by: str) -> None:
        """Records that someone asked for the input to be tried again."""
        self._retried(by=by)

    @event("Retried")
    def _retried(self, by: str) -> None:
        self.retries += 1
