"""The exception cases quote-to-cash opens: one per failed provisioning check, one per target
that did not acknowledge in time. Their ids are deterministic (engagement, reason, field or
target, round), so a replay finds the case it opened rather than opening another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.provisioning_checks import Failure
from hub.exceptions import ExceptionCase

ACTOR = "process:quote-to-cash"
TIMEOUT = "DOWNSTREAM_TIMEOUT"
# A case still waiting for someone (main's queue adds in_progress to open).
OPEN = frozenset({"open", "in_progress"})
ROUNDS = 100


def message_id(engagement_id: UUID) -> str:
    return f"provisioning:{engagement_id}"


def is_open(case: Any) -> bool:
    return case is not None and str(case.status) in OPEN


Find = Callable[[UUID], Any]


def check_case_id(engagement_id: UUID, reason: str, field: str, round_: int) -> UUID:
    return ExceptionCase.id_for(message_id(engagement_id), reason, field, str(round_))


def find_check_case(find: Find, engagement_id: UUID, reason: str, field: str) -> tuple[Any, int]:
    """The open case of a failed check (else None) and its round: a check fixed and failing
    again later opens the next round's case, and the first stays closed."""
    for round_ in range(ROUNDS):
        case = find(check_case_id(engagement_id, reason, field, round_))
        if case is None or is_open(case):
            return case, round_
    raise RuntimeError(f"check {field} of {engagement_id} failed {ROUNDS} times")


def check_case(engagement_id: UUID, client_id: Any, failure: Failure, round_: int) -> Any:
    return ExceptionCase.open(
        message_id=message_id(engagement_id),
        reason=failure.reason,
        rule=failure.rule,
        detail=f"engagement {engagement_id} cannot be provisioned: {failure.detail} "
        f"({failure.field})",
        entity="engagement",
        system="hub",
        subject=failure.field,
        canonical_ids=[engagement_id, *([client_id] if client_id else [])],
        key=(failure.field, str(round_)),
    )


def timeout_case_id(engagement_id: UUID, target: str) -> UUID:
    return ExceptionCase.id_for(message_id(engagement_id), TIMEOUT, target)


def timeout_case(engagement_id: UUID, target: str, category: str, seconds: float) -> Any:
    return ExceptionCase.open(
        message_id=message_id(engagement_id),
        reason=TIMEOUT,
        rule="provisioning_acknowledgement",
        detail=f"{target} ({category}) has not acknowledged engagement {engagement_id} "
        f"within {seconds:g} seconds of provisioning being requested",
        entity="engagement",
        system=target,
        subject=f"feed.{target}.engagement",
        canonical_ids=[engagement_id],
        key=(target,),
    )
