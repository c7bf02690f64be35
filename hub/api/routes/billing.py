"""POST /v1/commands/run-billing: a billing run for one engagement and service period."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from domain.billing_rules import Period
from domain.billing_run import run_id
from hub.api.deps import HubDep, Operator
from hub.api.problems import Problem
from hub.api.routes.commands import command_meta
from hub.billing.corrections import Settled, settle
from hub.billing.run import existing, run_billing, summary
from hub.bootstrap import Hub
from hub.contracts.commands import RunBilling
from hub.errors import ConflictError

router = APIRouter(prefix="/v1/commands", tags=["commands"])
# How long the run waits for the metrics (which price the work) to reach the log's head.
CATCH_UP_SECONDS = 10.0


@router.post(
    "/run-billing",
    status_code=201,
    responses={
        200: {"description": "The engagement and period were run before: that run, unchanged"},
        400: {"description": "Malformed JSON (MALFORMED_PAYLOAD)"},
        401: {"description": "No or unknown token"},
        403: {"description": "The token lacks the operate scope"},
        422: {
            "description": "SCHEMA_VIOLATION; RULE_VIOLATION (period_order, "
            "one_work_contract); UNKNOWN_AGGREGATE (engagement_id)"
        },
        503: {"description": "The metrics projection, which prices the work, is behind"},
    },
)
def run_billing_route(
    body: RunBilling, request: Request, response: Response, hub: HubDep, principal: Operator
) -> dict[str, Any]:
    """Bills the engagement's approved, billable, unbilled work dated before the period's end
    at the rate card in force on each work date (time and materials, with a cap's write-down), its
    billing-ready milestones (fixed fee), or the period's retainer fee and overage: one
    invoice draft per currency, recorded in the log with the run, each line naming what it
    bills. Idempotent: a second run of the same engagement and period answers the first
    (200, `created: false`) and records nothing. First, drafts of earlier runs whose work was
    corrected since are re-drafted (`redrafted`), or, where the billing engine issued them, a
    RATE_MISMATCH case is opened per corrected item (`correction_cases`), unless the periodic
    settling pass (PSHUB_BILLING_SETTLE_INTERVAL) did it already."""
    period = Period(body.period_start, body.period_end)
    app = hub.app
    if hub.metrics is None:
        raise Problem(503, "the metrics projection is not open", headers={"Retry-After": "1"})
    if not _caught_up(hub, app.hub_recorder.select_head()[0]):
        raise Problem(
            503, "the metrics have not priced the latest work yet", headers={"Retry-After": "1"}
        )
    meta = command_meta(request, principal)
    # Work corrected since an earlier run drafted it: re-draft, or a case where it was issued.
    settled = settle(app, hub.metrics, body.engagement_id, meta)
    found = existing(app, body.engagement_id, period)
    if found is not None:
        response.status_code = 200
        return {**summary(found, False, None), **answer(settled)}
    try:
        outcome = run_billing(app, hub.metrics, body.engagement_id, period, meta)
    except ConflictError:
        # Another run of the same engagement and period was recorded first: answer it.
        app.evict(run_id(body.engagement_id, period))
        found = existing(app, body.engagement_id, period)
        if found is None:
            raise
        response.status_code = 200
        return {**summary(found, False, None), **answer(settled)}
    if not outcome.created:
        response.status_code = 200
    return {**summary(outcome.run, outcome.created, outcome.position), **answer(settled)}


def answer(settled: Settled) -> dict[str, Any]:
    return {"redrafted": settled.redrafted, "correction_cases": settled.cases}


def _caught_up(hub: Hub, head: int) -> bool:
    """Whether the metrics (which price the work) reached the log's head in time; where the
    projections run in another process, by watching their tracking table."""
    runner = hub.runners.get("metrics")
    if runner is not None:
        return runner.wait_for(head, CATCH_UP_SECONDS)
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while hub.metrics.position_now() < head:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
