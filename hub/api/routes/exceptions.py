"""The exception queue: what could not be applied, who should act, and acting on it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BeforeValidator, Field

from hub import queries
from hub.api.deps import HubDep, Reader, scope
from hub.api.problems import UNAVAILABLE, Problem
from hub.auth import Principal
from hub.bootstrap import Hub
from hub.contracts.common import ContractModel
from hub.errors import HubError
from hub.exception_retry import NothingToRetry, RetryResult, retry_handler
from hub.exceptions import CaseClosedError, CaseStatus, ExceptionCase
from hub.fetch_retry import NotPublished
from hub.store.recorder import EventMeta
from projections.exceptions.links import add_links, under_engagement
from projections.exceptions.projection import case_row
from projections.exceptions.view import AGE_BANDS, CaseQuery

router = APIRouter(prefix="/v1/exceptions", tags=["exceptions"])
log = logging.getLogger(__name__)

Operator = Annotated[Principal, Depends(scope("operate"))]
CaseId = Annotated[UUID, Path(alias="id")]
Short = Annotated[str | None, Query(max_length=100)]
# A comment says something: at least one character that is not a space.
Comment = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


def _seconds(value: Any) -> Any:
    """Seconds as a plain number ("3600"); anything else goes to the ISO 8601 parser."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return float(value)
    return value


Age = Annotated[
    timedelta | None,
    Query(description="ISO 8601 duration (PT2H, P7D) or seconds"),
    BeforeValidator(_seconds),
]
STATUSES = tuple(str(s) for s in CaseStatus)
_UNKNOWN = {404: {"description": "No case has that id"}}
_ACTION = {
    **_UNKNOWN,
    409: {"description": "The case is resolved or dismissed (rule case_must_be_open)"},
    422: {"description": "A required field is missing or blank (named, with its rule)"},
}
_FILTERED = {422: {"description": "A filter of the wrong form (named, with its rule)"}}


class Resolution(ContractModel):
    note: Annotated[str, Field(max_length=2000)] = ""
    comment: Annotated[str, Field(max_length=2000)] = ""


class RetryRequest(ContractModel):
    comment: Annotated[str, Field(max_length=2000)] = ""


class Assignment(ContractModel):
    assignee: Name | None = None  # the person who works it
    owner: Name | None = None  # another owning team, when the case is re-routed
    comment: Annotated[str, Field(max_length=2000)] = ""


class Dismissal(ContractModel):
    comment: Comment


def _query(
    *,
    status: str | None,
    reason: str | None,
    owner: str | None,
    entity: str | None,
    system: str | None,
    age_min: timedelta | None,
    age_max: timedelta | None,
    engagement: UUID | None,
    hub: Hub,
) -> CaseQuery:
    statuses = _listed(status)
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise _invalid("status", "one_of", f"status must be one of {', '.join(STATUSES)}")
    for name, age in (("age_min", age_min), ("age_max", age_max)):
        if age is not None and age < timedelta(0):
            raise _invalid(name, "not_negative", f"{name} must not be negative")
    if age_min is not None and age_max is not None and age_min > age_max:
        raise _invalid("age_max", "not_below_age_min", "age_max must not be below age_min")
    linked = None
    if engagement is not None:
        assert hub.golden is not None
        linked = under_engagement(hub.golden, engagement)
    return CaseQuery(
        statuses=statuses,
        reasons=_listed(reason),
        owner=owner,
        entity=entity,
        system=system,
        age_min=age_min,
        age_max=age_max,
        linked=linked,
        now=datetime.now(UTC),
    )


# Read-your-writes: an action answers its log `position`; reads wait (briefly) for the queue.
MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Answer once the queue has followed the log to this position"),
]
MIN_POSITION_WAIT = 5.0


def _caught_up(hub: Hub, position: int | None) -> None:
    if position is None:
        return
    head = hub.app.hub_recorder.select_head()[0]
    if position > head:
        raise _invalid(
            "min_position", "maximum", f"min_position {position} is beyond the log's head ({head})"
        )
    runner = hub.runners.get("exceptions")
    if runner is not None:
        reached = runner.wait_for(position, MIN_POSITION_WAIT)
    else:  # the projections run in another process: poll their tracking row
        assert hub.exceptions is not None
        deadline = time.monotonic() + MIN_POSITION_WAIT
        while not (reached := hub.exceptions.position(hub.app.name) >= position):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
    if not reached:
        raise Problem(
            503,
            f"the exception queue has not reached position {position} yet",
            headers={"Retry-After": "1"},
        )


def _listed(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def _invalid(field: str, rule: str, message: str) -> Problem:
    return Problem(
        422,
        message,
        reason="SCHEMA_VIOLATION",
        errors=[{"field": field, "rule": rule, "message": message}],
    )


def _aged(records: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Adds each case's age: from its raise until it closed, or until now."""
    for record in records:
        end = datetime.fromisoformat(record["closed_at"]) if record.get("closed_at") else now
        record["age_seconds"] = max(
            0, int((end - datetime.fromisoformat(record["raised_at"])).total_seconds())
        )
    return records


@router.get("", responses=_FILTERED)
def list_exceptions(
    hub: HubDep,
    _: Reader,
    status: Short = None,
    reason: Short = None,
    owner: Short = None,
    entity: Short = None,
    system: Short = None,
    age_min: Age = None,
    age_max: Age = None,
    engagement: Annotated[UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1)] = queries.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Lists exception cases in id order. Filters: `status` and `reason` (comma-separated
    lists match any), `owner` (the owning team or the person assigned), `entity`, `system`,
    `age_min`/`age_max` (ISO 8601 durations or seconds; age runs from the raise until the
    case closed, or until now), `engagement` (cases touching the engagement or a record
    under it). `counts` holds every case by status; see `/v1/exceptions/counts` for counts by
    reason and age band. `min_position` waits for the queue to reach an action's position."""
    assert hub.exceptions is not None
    _caught_up(hub, min_position)
    query = _query(
        status=status,
        reason=reason,
        owner=owner,
        entity=entity,
        system=system,
        age_min=age_min,
        age_max=age_max,
        engagement=engagement,
        hub=hub,
    )
    after = None
    if cursor is not None:
        try:
            after = UUID(cursor)
        except ValueError:
            raise Problem(400, "the cursor is malformed", reason="SCHEMA_VIOLATION") from None
    size = min(limit, queries.MAX_LIMIT)
    items = hub.exceptions.list(query, limit=size + 1, after=after)
    more = len(items) > size
    items = items[:size]
    add_links(hub.golden, _aged(items, query.now))
    return {
        "items": items,
        "next_cursor": items[-1]["id"] if more else None,
        "counts": hub.exceptions.counts(),
    }


@router.get("/counts", responses=_FILTERED)
def count_exceptions(
    hub: HubDep,
    _: Reader,
    status: Short = None,
    reason: Short = None,
    owner: Short = None,
    entity: Short = None,
    system: Short = None,
    age_min: Age = None,
    age_max: Age = None,
    engagement: Annotated[UUID | None, Query()] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Counts the cases the filters of `GET /v1/exceptions` select: in all, by status, by
    reason, by age band (<1h, 1-24h, 1-7d, >7d) and by reason and age band. The backlog is
    `?status=open,in_progress`."""
    assert hub.exceptions is not None
    _caught_up(hub, min_position)
    query = _query(
        status=status,
        reason=reason,
        owner=owner,
        entity=entity,
        system=system,
        age_min=age_min,
        age_max=age_max,
        engagement=engagement,
        hub=hub,
    )
    tally = hub.exceptions.tally(query)
    bands = [label for label, _ in AGE_BANDS]
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    by_band = dict.fromkeys(bands, 0)
    by_reason_band: dict[str, dict[str, int]] = {}
    for case_status, case_reason, band, n in tally:
        by_status[case_status] = by_status.get(case_status, 0) + n
        by_reason[case_reason] = by_reason.get(case_reason, 0) + n
        by_band[band] += n
        row = by_reason_band.setdefault(case_reason, dict.fromkeys(bands, 0))
        row[band] += n
    return {
        "as_of": query.now.isoformat(),
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_reason": by_reason,
        "by_age_band": by_band,
        "by_reason_and_age_band": by_reason_band,
    }


@router.get("/{id}", responses=_UNKNOWN)
def get_exception(
    case_id: CaseId, hub: HubDep, _: Reader, min_position: MinPosition = None
) -> dict[str, Any]:
    """One exception case, with its history, age and links to the records involved;
    `min_position` waits for the queue to reach an action's position."""
    assert hub.exceptions is not None
    _caught_up(hub, min_position)
    record = hub.exceptions.get(case_id)
    if record is None:
        case = hub.app.find(case_id, ExceptionCase)  # raised just now, not projected yet
        if case is None:
            raise _not_found(case_id)
        record = case_row(case)["record"]
    add_links(hub.golden, _aged([record], datetime.now(UTC)))
    return record


def _not_found(case_id: UUID) -> Problem:
    return Problem(404, f"no exception case {case_id}", reason="UNKNOWN_AGGREGATE")


def _act(hub: Hub, case_id: UUID, principal: Principal, action: Callable[[Any], None]) -> Any:
    """Loads the case, applies the action and records its event with the actor."""
    case = hub.app.find(case_id, ExceptionCase)
    if case is None:
        raise _not_found(case_id)
    try:
        action(case)
    except CaseClosedError:
        raise _closed(case) from None
    position = hub.app.record(case, meta=EventMeta(system="api", actor=principal.name))
    return case, position


def _closed(case: ExceptionCase) -> Problem:
    message = f"exception case {case.id} is {case.status}: only an open case can be acted on"
    return Problem(
        409,
        message,
        reason="RULE_VIOLATION",
        errors=[{"field": "status", "rule": "case_must_be_open", "message": message}],
        extra={"rule": "case_must_be_open", "case_status": str(case.status)},
    )


def _answer(case: ExceptionCase, position: int) -> dict[str, Any]:
    return {
        "id": str(case.id),
        "status": str(case.status),
        "owner": case.owner,
        "assignee": case.assignee or None,
        "position": position,
    }


@router.post("/{id}/resolve", responses=_ACTION)
def resolve_exception(
    case_id: CaseId,
    hub: HubDep,
    principal: Operator,
    body: Annotated[Resolution | None, Body()] = None,
) -> dict[str, Any]:
    """Closes a case as fixed, with an optional comment (`comment`, or `note` as before)."""
    comment = (body.comment or body.note) if body else ""

    def resolve(case: ExceptionCase) -> None:
        if case.closed:
            raise CaseClosedError(case.status)
        case.resolve(by=principal.name, note=comment)

    case, position = _act(hub, case_id, principal, resolve)
    return _answer(case, position)


@router.post("/{id}/assign", responses=_ACTION)
def assign_exception(
    case_id: CaseId, hub: HubDep, principal: Operator, body: Annotated[Assignment, Body()]
) -> dict[str, Any]:
    """Gives a case to a person (`assignee`), to another owning team (`owner`), or both (one
    at least); the case is then in progress."""
    if body.assignee is None and body.owner is None:
        raise _invalid(
            "assignee", "assignee_or_owner_required", "an assignment names an assignee or an owner"
        )
    case, position = _act(
        hub,
        case_id,
        principal,
        lambda case: case.assign(
            by=principal.name,
            assignee=body.assignee or "",
            owner=body.owner or "",
            comment=body.comment,
        ),
    )
    return _answer(case, position)


@router.post("/{id}/dismiss", responses=_ACTION)
def dismiss_exception(
    case_id: CaseId, hub: HubDep, principal: Operator, body: Annotated[Dismissal, Body()]
) -> dict[str, Any]:
    """Closes a case without a fix; `comment` (required) says why."""
    case, position = _act(
        hub, case_id, principal, lambda case: case.dismiss(by=principal.name, comment=body.comment)
    )
    return _answer(case, position)


@router.post("/{id}/retry", status_code=202, responses=_ACTION)
async def retry_exception(
    case_id: CaseId,
    hub: HubDep,
    principal: Operator,
    body: Annotated[RetryRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Re-runs what failed: the handler registered for the case's reason (feeds re-deliver),
    by default the stored input re-decided by ingest. A retry that settles it resolves the
    case."""
    case = await asyncio.to_thread(hub.app.find, case_id, ExceptionCase)
    if case is None:
        raise _not_found(case_id)
    if case.closed:
        raise _closed(case)
    handler = retry_handler(case.reason)
    try:
        if inspect.iscoroutinefunction(handler):
            result = await handler(hub, case)
        else:
            result = await asyncio.to_thread(handler, hub, case)
    except NothingToRetry as nothing:
        raise Problem(409, str(nothing), reason="DUPLICATE") from None
    except NotPublished as unavailable:
        raise Problem(503, str(unavailable), headers={"Retry-After": "5"}) from None
    except (Problem, HubError, *UNAVAILABLE):
        raise
    except Exception as error:  # a handler's fault: recorded on the case, the case stays open
        log.exception("retry of exception case %s (%s) failed", case.id, case.reason)
        detail = f"{type(error).__name__}: {error}"[:500]
        result = RetryResult("error", False, "PROCESSING_FAILED", detail)
    case.note_retry(by=principal.name, outcome=result.outcome, comment=body.comment if body else "")
    if result.resolved:
        case.resolve(by=principal.name, note=f"{result.outcome} on retry")
    position = await asyncio.to_thread(
        hub.app.record, case, meta=EventMeta(system="api", actor=principal.name)
    )
    answer = {
        "id": str(case.id),
        "status": str(case.status),
        "outcome": result.outcome,
        "reason": result.reason,
        "detail": result.detail,
        "position": position,
    }
    if result.message_ids:
        answer["message_ids"] = list(result.message_ids)
    return answer
