"""The exception queue's cases: input the hub could not apply, and who should look at it.

A case is event-sourced like everything else, so the queue is a projection of the log and
its handling (assigned, retried, resolved, dismissed, by whom, when, why) is part of the
audit trail.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import natural_id
from hub import exception_routing
from hub.exception_routing import DEFAULT_OWNERS

# Kept for callers that read the built-in owners; the table in force is exception_routing's.
OWNERS = DEFAULT_OWNERS


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


CLOSED = frozenset({CaseStatus.RESOLVED, CaseStatus.DISMISSED})
# Open cases, worked or not: the backlog.
BACKLOG = frozenset({CaseStatus.OPEN, CaseStatus.IN_PROGRESS})


class CaseClosedError(Exception):
    """An action on a case that is already resolved or dismissed."""


class ExceptionCase(Aggregate):
    """One exception-queue entry: what failed, why (reason code and rule), and its handling."""

    ENTITY = "exception"

    class Event(Aggregate.Event):
        def mutate(self, aggregate: Any) -> Any:
            # An action's history entry takes its time from its event (the method body runs
            # before the library stamps the aggregate), so a replay gives the same history.
            case = super().mutate(aggregate)
            if case is not None and getattr(case, "closed_at", "") is None:
                case.closed_at = self.timestamp.isoformat()
            for entry in getattr(case, "history", ()):
                if entry.get("at") is None:
                    entry["at"] = self.timestamp.isoformat()
            return case

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
        waiting_for: str = "",
        region: str = "",
        legal_entity: str = "",
        raised_by: str = "",
        retry_with: dict[str, Any] | None = None,
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
        self.waiting_for = waiting_for
        self.region = region
        self.legal_entity = legal_entity
        # What a retry needs to re-run the failed step (a fetch's request), for its handler.
        self.retry_with = dict(retry_with or {})
        self.status = CaseStatus.OPEN
        self.resolution = ""
        self.resolved_by = ""
        self.assignee = ""
        self.closed_by = ""
        self.closed_at = ""
        self.retries = 0
        # The raise itself is stamped from created_on by readers (its event is a creation).
        self.history: list[dict[str, Any]] = [
            {"action": "raised", "by": raised_by or "hub", "at": "", "comment": ""}
        ]

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
        waiting_for: str = "",
        region: str = "",
        legal_entity: str = "",
        owner: str = "",
        raised_by: str = "",
        retry_with: dict[str, Any] | None = None,
    ) -> ExceptionCase:
        """Opens a case for a message (one per message, reason and optional key); its owner
        comes from the routing table by reason, region and legal entity unless given."""
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
            owner=owner
            or exception_routing.owner_for(reason, region=region, legal_entity=legal_entity),
            waiting_for=waiting_for,
            region=region,
            legal_entity=legal_entity,
            raised_by=raised_by,
            retry_with=dict(retry_with or {}),
        )

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def _require_open(self) -> None:
        if self.closed:
            raise CaseClosedError(f"the case is {self.status}")

    def resolve(self, by: str, note: str = "") -> None:
        """Closes the case; a resolved case stays in the history. Resolving a closed case does
        nothing (ingest closes cases whose record arrived, maybe after a person did)."""
        if not self.closed:
            self._resolved(by=by, note=note)

    @event("Resolved")
    def _resolved(self, by: str, note: str) -> None:
        self.status = CaseStatus.RESOLVED
        self.resolved_by = by
        self.resolution = note
        self._close(by)
        self._log("resolved", by, note)

    def note_retry(self, by: str, outcome: str = "", comment: str = "") -> None:
        """Records that someone asked for the input to be tried again, and what came of it."""
        self._retried(by=by, outcome=outcome, comment=comment)

    @event("Retried")
    def _retried(self, by: str, outcome: str = "", comment: str = "") -> None:
        self.retries += 1
        self._log("retried", by, comment, outcome=outcome or None)

    def assign(self, by: str, assignee: str = "", owner: str = "", comment: str = "") -> None:
        """Gives the case to a person, to another owning team, or both: in progress. A case
        given to a team alone waits for someone there (its person is cleared)."""
        self._require_open()
        if not (assignee.strip() or owner.strip()):
            raise ValueError("an assignment names a person or an owning team")
        self._assigned(by=by, assignee=assignee, owner=owner, comment=comment)

    @event("Assigned")
    def _assigned(self, by: str, assignee: str, owner: str, comment: str) -> None:
        self.status = CaseStatus.IN_PROGRESS
        self.assignee = assignee
        if owner:
            self.owner = owner
        self._log("assigned", by, comment, assignee=assignee or None, owner=self.owner)

    def dismiss(self, by: str, comment: str) -> None:
        """Closes the case without a fix (not a fault, or not worth one); the comment says
        why."""
        self._require_open()
        if not comment.strip():
            raise ValueError("a dismissal needs a comment")
        self._dismissed(by=by, comment=comment)

    @event("Dismissed")
    def _dismissed(self, by: str, comment: str) -> None:
        self.status = CaseStatus.DISMISSED
        self.resolution = comment
        self._close(by)
        self._log("dismissed", by, comment)

    def _close(self, by: str) -> None:
        self.closed_by = by
        self.closed_at = None  # stamped with the event's time with its history entry

    def _log(self, action: str, by: str, comment: str, **extra: Any) -> None:
        entry = {"action": action, "by": by, "at": None, "comment": comment}
        entry.update({k: v for k, v in extra.items() if v is not None})
        if not hasattr(self, "history"):  # a snapshot taken before cases kept a history
            self.history = []
        self.history.append(entry)
