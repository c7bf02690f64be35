"""ExceptionsProjection: the exception queue from ExceptionCase events (others are tracked)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking

from projections.exceptions.view import ExceptionsView

CASE_TOPIC_PREFIX = "hub.exceptions:ExceptionCase."
# The actions that set a case's status (a retry leaves it as it was).
STATUS_ACTIONS = ("raised", "assigned", "resolved", "dismissed")


class ExceptionsProjection:
    name = "exceptions"

    def __init__(
        self,
        view: ExceptionsView,
        *,
        mapper: Mapper[UUID],
        load: Callable[[UUID, int], Any],
        application_name: str,
    ) -> None:
        self.view = view
        self.mapper = mapper
        self.load = load
        self.application_name = application_name
        self._position: int | None = None

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.application_name)
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        cases: dict[UUID, Any] = {}
        for notification in notifications:
            if not notification.topic.startswith(CASE_TOPIC_PREFIX):
                continue
            case = cases.get(notification.originator_id)
            if case is None and notification.originator_version > 1:
                case = self.load(notification.originator_id, notification.originator_version - 1)
            cases[notification.originator_id] = self.mapper.to_domain_event(notification).mutate(
                case
            )
        try:
            self.view.write(
                [case_row(case) for case in cases.values() if case is not None],
                Tracking(self.application_name, notifications[-1].id),
            )
        except Exception:
            # What committed is the truth (another writer may have taken this page, e.g.
            # across a generation switch): read the position again rather than retry the
            # same page for ever, as the other projections do.
            self._position = None
            raise
        self._position = notifications[-1].id


def case_row(case: Any) -> dict[str, Any]:
    """The view's row of a case: its filter columns and the record GET /v1/exceptions shows
    (age and links to the records are added when it is read: they change with time and with
    the golden records)."""
    raised_at = case.created_on.astimezone(UTC).isoformat()
    history = [
        {**entry, "at": entry.get("at") or raised_at}
        for entry in getattr(case, "history", None)
        or [{"action": "raised", "by": "hub", "at": raised_at, "comment": ""}]
    ]
    changes = [h for h in history if h["action"] in STATUS_ACTIONS]
    last = changes[-1] if changes else history[0]
    waiting_for = getattr(case, "waiting_for", "") or None
    record = {
        "id": str(case.id),
        "version": case.version,
        "status": str(case.status),
        "status_changed": {"by": last["by"], "at": last["at"]},
        "reason": case.reason,
        "rule": case.rule or None,
        "detail": case.detail,
        "waiting_for": waiting_for,
        # What the case failed on when it waits for nothing: the rule, or the reason itself.
        "failed_on": None if waiting_for else (case.rule or case.reason),
        "owner": case.owner,
        "assignee": getattr(case, "assignee", "") or None,
        "region": getattr(case, "region", "") or None,
        "legal_entity": getattr(case, "legal_entity", "") or None,
        "entity": case.entity or None,
        "system": case.system or None,
        "message_id": case.message_id,
        "subject": case.subject or None,
        "canonical_ids": [str(i) for i in case.canonical_ids],
        "raised_at": raised_at,
        "updated_at": case.modified_on.astimezone(UTC).isoformat(),
        "closed_at": getattr(case, "closed_at", "") or None,
        "closed_by": getattr(case, "closed_by", "") or None,
        "resolved_by": case.resolved_by or None,
        "resolution": case.resolution or None,
        "retries": case.retries,
        "history": history,
    }
    return {
        "id": case.id,
        "version": case.version,
        "status": record["status"],
        "reason": case.reason,
        "owner": case.owner,
        "entity": case.entity or None,
        "system": case.system or None,
        "message_id": case.message_id,
        "raised_at": case.created_on,
        "updated_at": case.modified_on,
        "record": record,
    }
