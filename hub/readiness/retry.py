"""Retrying a billing-readiness case (POST /v1/exceptions/{id}/retry): the milestone's checks
run again now; the case is settled when its own check passes (or the milestone is ready)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.billing_readiness import REASONS
from hub.exception_retry import RetryResult, register_retry, rerun_stored_input
from hub.exceptions import ExceptionCase
from hub.readiness import entities
from hub.readiness.settle import MESSAGE_PREFIX, settle


def retry_readiness(hub: Any, case: ExceptionCase) -> RetryResult:
    """Re-runs the checks of the case's milestone; cases with the same reasons opened by
    others (ingest's RATE_MISMATCH on a time entry) keep the default retry."""
    if not case.message_id.startswith(f"{MESSAGE_PREFIX}:") or "milestone_id" not in (
        case.retry_with or {}
    ):
        return rerun_stored_input(hub, case)
    from hub.projecting import KINDS, READINESS, active_generation  # noqa: PLC0415 (cycle)

    index = KINDS[READINESS].view(hub.app, active_generation(hub.app, READINESS))
    settled = settle(
        hub.app,
        UUID(case.retry_with["milestone_id"]),
        members=index.members_now,
        countries=entities.countries(),
        cause=f"exception:{case.id}",
        keep=case.id,
    )
    check = case.retry_with.get("check", case.rule)
    still = next((f for f in settled.failed if f.check == check), None)
    if still is not None:
        return RetryResult("still_failing", False, still.reason, still.detail)
    outcome = "billing_ready" if settled.status == "billing_ready" else "check_passes"
    return RetryResult(outcome, True)


def register() -> None:
    """Makes a retry of each readiness reason re-run the checks."""
    for reason in REASONS:
        register_retry(reason, retry_readiness)
