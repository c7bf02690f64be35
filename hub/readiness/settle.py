"""Settling one milestone: evaluate its readiness checks, then either record it billing-ready
or keep one exception case open per failed check (and close the cases of checks that pass).

Idempotent by construction: a milestone is made billing-ready only from `accepted`, and a
check's case has a deterministic id (milestone, reason, check, attempt), so a replay or a
second evaluation finds the case it opened instead of opening another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from uuid import UUID

from domain.billing_readiness import CHECK_REASONS, FailedCheck, Inputs, evaluate
from domain.client import Client
from domain.contract import Contract
from domain.engagement import Engagement
from domain.errors import DomainError
from domain.milestone import Milestone, MilestoneStatus
from hub.application import HubApplication
from hub.errors import ConflictError
from hub.exceptions import CaseStatus, ExceptionCase
from hub.store.recorder import EventMeta

log = logging.getLogger(__name__)

ACTOR = "process:billing-readiness"
SYSTEM = "hub"
MESSAGE_PREFIX = "billing-readiness"
# Milestone states that cannot have readiness cases yet (they are opened from `accepted` on).
_BEFORE_ACCEPTANCE = frozenset({MilestoneStatus.PLANNED, MilestoneStatus.DELIVERED})

# (engagement id, record kinds) -> ids of the records of those kinds under the engagement.
Members = Callable[[UUID, Sequence[str]], list[UUID]]


@dataclass
class Settled:
    """What one evaluation found and did."""

    milestone_id: UUID
    status: str = ""
    failed: list[FailedCheck] = field(default_factory=list)
    made_ready: bool = False
    opened: list[UUID] = field(default_factory=list)
    closed: list[UUID] = field(default_factory=list)


def message_id(milestone_id: UUID) -> str:
    return f"{MESSAGE_PREFIX}:{milestone_id}"


def case_id(milestone_id: UUID, check: str, attempt: int) -> UUID:
    return ExceptionCase.id_for(message_id(milestone_id), CHECK_REASONS[check], check, str(attempt))


def latest_case(app: HubApplication, milestone_id: UUID, check: str) -> tuple[int, Any]:
    """The number of cases opened so far for the check, and the last of them (or None)."""
    last = None
    for attempt in count():
        found = app.find(case_id(milestone_id, check, attempt), ExceptionCase)
        if found is None:
            return attempt, last
        last = found


def gather(
    app: HubApplication,
    milestone: Milestone,
    members: Members,
    countries: Mapping[str, str],
) -> Inputs:
    """Loads what the checks read: the milestone's contract, engagement, client, and the
    engagement's knowledge assets, time entries and expenses."""
    engagement = app.find(milestone.engagement_id, Engagement)
    client = None
    if engagement is not None and engagement.client_id is not None:
        client = app.find(engagement.client_id, Client)
    work = members(milestone.engagement_id, ("knowledge_asset", "time_entry", "expense"))
    app.preload([*work, *milestone.prerequisites])
    records = [r for r in (app.find_any(i) for i in work) if r is not None]
    return Inputs(
        milestone=milestone,
        contract=app.find(milestone.contract_id, Contract),
        engagement=engagement,
        client=client,
        assets=[r for r in records if r.ENTITY == "knowledge_asset"],
        time_entries=[r for r in records if r.ENTITY == "time_entry"],
        expenses=[r for r in records if r.ENTITY == "expense"],
        prerequisites=[
            p for p in (app.find(i, Milestone) for i in milestone.prerequisites) if p is not None
        ],
        entity_countries=countries,
    )


def settle(
    app: HubApplication,
    milestone_id: UUID,
    *,
    members: Members,
    countries: Mapping[str, str],
    cause: str,
    own_event: bool = True,
    keep: UUID | None = None,
) -> Settled:
    """Evaluates the milestone and records what follows, with `cause` as causation. `keep`
    is a case the caller records itself (a retry): it is left untouched here. `own_event`
    says the milestone itself changed (only then is a milestone past `accepted` looked at,
    to close cases a person's billing-ready left open)."""
    milestone = app.find(milestone_id, Milestone)
    result = Settled(milestone_id)
    if milestone is None or milestone.status in _BEFORE_ACCEPTANCE:
        return result
    result.status = str(milestone.status)
    meta = EventMeta(system=SYSTEM, actor=ACTOR, causation_id=cause, correlation_id=cause)
    if milestone.status != MilestoneStatus.ACCEPTED or milestone.deleted:
        if own_event:
            note = "the milestone is deleted" if milestone.deleted else f"it is {milestone.status}"
            closing = _close(app, milestone_id, set(CHECK_REASONS), note, keep, result)
            _record(app, closing, meta, result)
        return result
    inputs = gather(app, milestone, members, countries)
    result.failed = evaluate(inputs)
    if not result.failed:
        try:
            milestone.make_billing_ready(inputs.contract, inputs.prerequisites)
        except DomainError as refused:  # the aggregate's own guard disagrees: say so, act not
            log.warning("milestone %s not made billing-ready: %s", milestone_id, refused)
            return result
        closing = _close(app, milestone_id, set(CHECK_REASONS), "billing-ready", keep, result)
        if _record(app, [milestone, *closing], meta, result):
            result.made_ready = True
            result.status = str(milestone.status)
        return result
    failing = {f.check: f for f in result.failed}
    changed = [
        *_close(app, milestone_id, set(CHECK_REASONS) - set(failing), "check passes", keep, result),
        *_open(app, inputs, failing.values(), result),
    ]
    _record(app, changed, meta, result)
    return result


def _record(app: HubApplication, changed: list[Any], meta: EventMeta, result: Settled) -> bool:
    """Records the changes; False if another writer changed one of them first. That writer
    was either a twin of this process (a rebuild beside the live one: it decided the same) or
    a change of an input, whose own event brings the milestone back here: either way there
    is nothing to redo now."""
    if not changed:
        return True
    try:
        app.record(*changed, meta=meta)
    except ConflictError:
        log.info("billing readiness of %s: changed meanwhile, left", result.milestone_id)
        result.opened, result.closed = [], []
        return False
    return True


def _close(
    app: HubApplication,
    milestone_id: UUID,
    checks: set[str],
    note: str,
    keep: UUID | None,
    result: Settled,
) -> list[ExceptionCase]:
    closing = []
    for check in sorted(checks):
        _, case = latest_case(app, milestone_id, check)
        if case is None or case.closed or case.id == keep:
            continue
        case.resolve(by=ACTOR, note=f"{check}: {note}")
        closing.append(case)
        result.closed.append(case.id)
    return closing


def _open(app: HubApplication, inputs: Inputs, failed: Any, result: Settled) -> list[ExceptionCase]:
    milestone, engagement = inputs.milestone, inputs.engagement
    opening = []
    for check in failed:
        attempts, last = latest_case(app, milestone.id, check.check)
        # An open case already says it; a dismissed one was judged not worth a fix. A case
        # resolved (by this process or a person) whose check fails again gets a new one.
        if last is not None and (not last.closed or last.status == CaseStatus.DISMISSED):
            continue
        case = ExceptionCase.open(
            message_id=message_id(milestone.id),
            reason=check.reason,
            rule=check.check,
            detail=check.detail,
            entity="milestone",
            system=SYSTEM,
            subject=milestone.name,
            canonical_ids=[
                i for i in (milestone.id, milestone.contract_id, milestone.engagement_id) if i
            ],
            key=(check.check, str(attempts)),
            waiting_for=check.field,
            region=getattr(engagement, "region", "") or "",
            legal_entity=getattr(engagement, "legal_entity", "") or "",
            raised_by=ACTOR,
            retry_with={"milestone_id": str(milestone.id), "check": check.check},
        )
        opening.append(case)
        result.opened.append(case.id)
    return opening
