"""The business metrics for people: an engagement's financials, WIP, utilization and
realization, read from the metrics projection (DOMAIN 3.13).

Figures derived from rates (WIP, billed against standard value, margins) need the scope
`read:confidential`; hours and utilization need `read`. Every money figure is per currency.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request

from domain.engagement import Engagement
from hub.api.deps import HubDep, Reader, require
from hub.api.problems import Problem
from hub.auth import Principal
from hub.bootstrap import Hub
from projections.metrics import reads, setup
from projections.metrics.view import MetricsView

router = APIRouter(tags=["metrics"])

Confidential = Annotated[
    Principal,
    Depends(
        require(
            lambda p: p.has("read") and p.has("read:confidential"), "read and read:confidential"
        )
    ),
]
EngagementId = Annotated[UUID, Path(alias="id")]
Text = Annotated[str | None, Query(max_length=100)]
MAX_PERIOD_DAYS = 366
PERIOD = ("period", "work_date_from", "work_date_to")
MIN_POSITION_WAIT = 5.0


def _bad(field: str, rule: str, message: str) -> Problem:
    return Problem(
        400,
        message,
        reason="SCHEMA_VIOLATION",
        errors=[{"field": field, "rule": rule, "message": message}],
    )


def allowed(*names: str) -> Callable[[Request], None]:
    """A dependency that refuses query parameters the route does not know (400)."""

    async def check(request: Request) -> None:
        for name in request.query_params:
            if name not in names:
                raise _bad(
                    name,
                    "unknown_filter",
                    f"'{name}' is not a parameter of this route; parameters: {', '.join(names)}",
                )

    return check


def _view(hub: Hub, min_position: str | None) -> MetricsView:
    """The metrics view, once it has reached `min_position` (read your own writes)."""
    if hub.metrics is None:
        raise Problem(503, "the metrics projection is not open", headers={"Retry-After": "1"})
    if min_position is not None:
        if not (min_position.isascii() and min_position.isdigit()):
            raise _bad("min_position", "integer", "min_position is a log position (0 or more)")
        position = int(min_position)
        head = hub.app.hub_recorder.select_head()[0]
        if position > head:
            # As the records' routes answer it: a position never handed out yet.
            problem = _bad(
                "min_position", "maximum", f"min_position is beyond the log's head {head}"
            )
            problem.status = 422
            raise problem
        if not _reached(hub, hub.metrics, position):
            raise Problem(
                503,
                f"the metrics have not reached position {position} yet",
                headers={"Retry-After": "1"},
            )
    return hub.metrics


def _reached(hub: Hub, view: MetricsView, position: int) -> bool:
    runner = hub.runners.get("metrics")
    if runner is not None:
        return runner.wait_for(position, MIN_POSITION_WAIT)
    # The projections run in another process: watch the tracking table.
    deadline = time.monotonic() + MIN_POSITION_WAIT
    while view.position_now() < position:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _date(field: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(field, "date", f"{field} {raw!r} is not a date (YYYY-MM-DD)") from None


def _period(
    period: str | None, start: str | None, end: str | None
) -> tuple[date | None, date | None]:
    """The work-date range asked for: `period` (YYYY-MM or YYYY) or `work_date_from` and
    `work_date_to` (both included); either end may be open."""
    if period is not None and (start is not None or end is not None):
        raise _bad("period", "exclusive", "give period or work_date_from/work_date_to, not both")
    if period is not None:
        try:
            if len(period) == 4:
                year = int(period)
                return date(year, 1, 1), date(year, 12, 31)
            year, month = (int(part) for part in period.split("-"))
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        except ValueError:
            raise _bad("period", "period", f"period {period!r} is not YYYY-MM or YYYY") from None
    first = None if start is None else _date("work_date_from", start)
    last = None if end is None else _date("work_date_to", end)
    if first is not None and last is not None and last < first:
        raise _bad("work_date_to", "date_order", "work_date_to is before work_date_from")
    return first, last


def _bounded(first: date | None, last: date | None) -> tuple[date, date]:
    """A closed range for capacity: open ends close on their month (this month by default)."""
    if first is None:
        first = (last or datetime.now(UTC).date()).replace(day=1)
    if last is None:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise _bad("work_date_to", "max_days", f"a period is at most {MAX_PERIOD_DAYS} days")
    return first, last


def _uuid(field: str, raw: str | None) -> UUID | None:
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise _bad(field, "uuid", f"{field} {raw!r} is not a UUID") from None


def _known_engagement(hub: Hub, view: MetricsView, engagement_id: UUID) -> None:
    if reads.engagement(view, engagement_id) is not None:
        return
    # Just recorded and not projected yet: known to the log, so its figures are (still) empty.
    found = hub.app.find(engagement_id, Engagement)
    if found is None:
        raise Problem(404, f"no engagement {engagement_id}")
    if found.deleted:
        # As the record's own route answers a tombstone.
        raise Problem(410, f"engagement {engagement_id} was deleted at its source")


def _params(*extra: str) -> Iterable[Any]:
    return [Depends(allowed(*extra))]


@router.get("/v1/engagements/{id}/financials", dependencies=_params("min_position"))
def engagement_financials(
    engagement_id: EngagementId, hub: HubDep, _: Confidential, min_position: Text = None
) -> Any:
    """WIP, billed, credited, paid, written down, revenue, cost and margin of one engagement,
    one entry per currency (never summed across currencies)."""
    view = _view(hub, min_position)
    _known_engagement(hub, view, engagement_id)
    return reads.financials(view, engagement_id)


@router.get("/v1/metrics/wip", dependencies=_params("engagement_id", "as_of", "min_position"))
def metrics_wip(
    hub: HubDep,
    _: Confidential,
    engagement_id: Text = None,
    as_of: Text = None,
    min_position: Text = None,
) -> Any:
    """WIP per engagement and currency, totals per currency, and its age by work date as of
    a date (today by default: work dated after it is left out)."""
    view = _view(hub, min_position)
    wanted = _uuid("engagement_id", engagement_id)
    if wanted is not None:
        _known_engagement(hub, view, wanted)
    day = datetime.now(UTC).date() if as_of is None else _date("as_of", as_of)
    return reads.wip(view, wanted, day)


@router.get(
    "/v1/metrics/utilization",
    dependencies=_params("resource_id", "team", "engagement_id", *PERIOD, "min_position"),
)
def metrics_utilization(
    hub: HubDep,
    _: Reader,
    resource_id: Text = None,
    team: Text = None,
    engagement_id: Text = None,
    period: Text = None,
    work_date_from: Text = None,
    work_date_to: Text = None,
    min_position: Text = None,
) -> Any:
    """Billable and total utilization (hours / capacity) per person and team, and the billable
    share of each engagement's hours, over a period of work dates (this month by default)."""
    view = _view(hub, min_position)
    start, end = _bounded(*_period(period, work_date_from, work_date_to))
    return reads.utilization(
        view,
        start,
        end,
        resource_id=_uuid("resource_id", resource_id),
        team=team,
        engagement_id=_uuid("engagement_id", engagement_id),
    )


@router.get(
    "/v1/metrics/realization",
    dependencies=_params("resource_id", "team", "engagement_id", *PERIOD, "min_position"),
)
def metrics_realization(
    hub: HubDep,
    _: Confidential,
    resource_id: Text = None,
    team: Text = None,
    engagement_id: Text = None,
    period: Text = None,
    work_date_from: Text = None,
    work_date_to: Text = None,
    min_position: Text = None,
) -> Any:
    """Billing realization (billed value / standard value of the hours billed) per person,
    team and engagement and currency, over billed work of a period (all time by default)."""
    view = _view(hub, min_position)
    start, end = _period(period, work_date_from, work_date_to)
    wanted = _uuid("engagement_id", engagement_id)
    if wanted is not None:
        _known_engagement(hub, view, wanted)
    return reads.realization(
        view,
        start,
        end,
        resource_id=_uuid("resource_id", resource_id),
        team=team,
        engagement_id=wanted,
    )


@router.get("/v1/metrics/setup", dependencies=_params("engagement_id", "min_position"))
def metrics_setup(
    hub: HubDep, _: Reader, engagement_id: Text = None, min_position: Text = None
) -> Any:
    """Project setup lead time: each won engagement's win, when it was set up (ready in every
    downstream system, where quote-to-cash runs) and the seconds between, with the count,
    mean, median, 90th percentile and longest of those set up."""
    view = _view(hub, min_position)
    wanted = _uuid("engagement_id", engagement_id)
    if wanted is not None:
        _known_engagement(hub, view, wanted)
    return setup.report(view, wanted)
