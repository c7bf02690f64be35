"""Reconciliation with the downstream targets: what the last pass found per target, and a
pass on demand (CONTRACT.md GET /v1/reconciliation; README, contract additions).

Money figures and the values of rate-derived fields in differences need `read:confidential`
as well as `read` (as GET /v1/engagements/{id}/financials): without it they are left out and
`confidential_hidden` says so.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from hub.adapters import registry
from hub.api.deps import HubDep, Operator, Reader
from hub.api.problems import Problem
from hub.bootstrap import Hub
from hub.feeds.registry import connector, enabled, known_targets
from hub.reconciliation.passes import reconcilable
from hub.reconciliation.sources import source_passes
from hub.reconciliation.store import Busy, ReconciliationStore

router = APIRouter(prefix="/v1/reconciliation", tags=["reconciliation"])

TargetName = Annotated[str | None, Query(max_length=64, description="one downstream target")]
SystemName = Annotated[str | None, Query(max_length=64, description="a target or a source")]
MAX_DRIFT = 1000


class RunRequest(BaseModel):
    targets: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="the targets to reconcile; all when left out",
    )


def _unknown(name: str, field: str) -> Problem:
    known = ", ".join(known_targets())
    return Problem(
        404,
        f"no downstream target {name!r}; targets: {known}",
        reason="NOT_FOUND",
        errors=[{"field": field, "rule": "known_target", "message": f"one of {known}"}],
    )


def _store(hub: Hub) -> ReconciliationStore:
    return ReconciliationStore(hub.app.hub_recorder.datastore)


@router.get("", responses={404: {"description": "No such downstream target"}})
async def get_reconciliation(
    hub: HubDep,
    caller: Reader,
    target: TargetName = None,
    system: SystemName = None,
    limit: Annotated[int, Query(ge=0, le=MAX_DRIFT)] = 100,
) -> dict[str, Any]:
    """Per downstream target, its last pass: status (`reconciled`, or why the target could not
    be read: `unreachable`, `throttled`, `refused`, `empty_listing`), counts by entity and
    outcome (matching, missing_downstream, missing_in_hub, differing), money per currency by
    outcome, and the drift itself (field by field, with its DRIFT case); the last run with its
    progress; and per pull-only source system, what its last complete listing showed against
    what the hub holds from it (records deleted at the source are tombstoned). `system`
    filters both: a target, or a source system."""
    if target is not None and target not in known_targets():
        raise _unknown(target, "target")
    if system is not None and system not in known_targets() and system not in registry():
        known = ", ".join(sorted({*known_targets(), *registry()}))
        raise Problem(
            404,
            f"no system {system!r}; systems: {known}",
            reason="NOT_FOUND",
            errors=[{"field": "system", "rule": "known_system", "message": f"one of {known}"}],
        )
    wanted = target or system
    confidential = caller.has("read:confidential")

    def read() -> dict[str, Any]:
        store = _store(hub)
        states = store.target_states()
        readable = reconcilable()
        items = []
        for name, spec in known_targets().items():
            if wanted is not None and name != wanted:
                continue
            reader = spec.reader if hasattr(spec, "reader") else None
            state = states.get(name)
            items.append(
                {
                    "target": name,
                    "category": spec.category,
                    "reconcilable": name in readable,
                    "why_not": None if name in readable else _why_not(name, reader),
                    "status": state["status"] if state else "never_reconciled",
                    "error": state["error"] if state else None,
                    "checked_at": state["checked_at"] if state else None,
                    "reconciled_at": state["reconciled_at"] if state else None,
                    "run_id": state["run_id"] if state else None,
                    "totals": _totals(state["totals"] if state else {}, confidential),
                    "drift": [_drift(row, confidential) for row in store.drift(name, limit)],
                }
            )
        run = store.last_run()
        return {
            "run": _run(run) if run else None,
            "targets": items,
            "sources": [] if target is not None else source_passes(store, system),
            "confidential_hidden": not confidential,
        }

    return await asyncio.to_thread(read)


@router.post(
    "/run",
    status_code=202,
    responses={
        404: {"description": "No such downstream target"},
        409: {"description": "A run is in progress, or a target cannot be reconciled"},
    },
)
async def run_reconciliation(
    hub: HubDep, _: Operator, response: Response, body: RunRequest | None = None
) -> dict[str, Any]:
    """Starts a pass over every reconcilable target (or those named); it runs in the
    background: its progress shows at GET /v1/reconciliation/runs/{id} and in
    GET /v1/reconciliation."""
    only = body.targets if body is not None else None
    readable = reconcilable()
    for n, name in enumerate(only or []):
        if name not in known_targets():
            raise _unknown(name, f"targets.{n}")
        if name not in readable:
            spec = known_targets()[name]
            raise Problem(
                409,
                f"{name} cannot be reconciled: {_why_not(name, getattr(spec, 'reader', None))}",
                reason="CONFLICT",
                errors=[{"field": f"targets.{n}", "rule": "reconcilable", "message": name}],
            )
    try:
        run_id = await asyncio.to_thread(hub.reconciliation().start, "operate", only)
    except Busy as busy:
        raise Problem(409, str(busy), reason="CONFLICT") from busy
    response.headers["Location"] = f"/v1/reconciliation/runs/{run_id}"
    run = await asyncio.to_thread(_store(hub).run, run_id)
    return _run(run) if run else {"id": str(run_id), "status": "running"}


@router.get("/runs/{id}", responses={404: {"description": "No such run"}})
async def get_run(
    run_id: Annotated[UUID, Path(alias="id")], hub: HubDep, _: Reader
) -> dict[str, Any]:
    """A run: its trigger, status (`running`, `finished`, `incomplete` where a target could
    not be read, `failed`, `abandoned` by a process that stopped), progress and summary."""
    run = await asyncio.to_thread(_store(hub).run, run_id)
    if run is None:
        raise Problem(404, f"no reconciliation run {run_id}", reason="NOT_FOUND")
    return _run(run)


def _why_not(name: str, reader: Any) -> str:
    if not enabled(name):
        return "its feed is disabled"
    if connector(name) is None:
        return f"no connector: set PSHUB_FEED_{name.upper()}_BASE_URL"
    if reader is None:
        return "its connector cannot read the target yet"
    return ""


def _run(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "trigger": row["trigger"],
        "status": row["status"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "progress": row["progress"],
        "summary": row["summary"],
    }


def _totals(totals: dict[str, Any], confidential: bool) -> dict[str, Any]:
    if not totals:
        return {}
    return {**totals, "money": totals.get("money") if confidential else None}


def _drift(row: dict[str, Any], confidential: bool) -> dict[str, Any]:
    differences = [
        d if confidential or not d.get("confidential") else {**d, "hub": None, "system": None}
        for d in row["differences"]
    ]
    money = (
        {"currency": row["currency"], "amount": str(row["amount"])}
        if confidential and row["currency"]
        else None
    )
    return {
        "outcome": row["outcome"],
        "entity": row["entity"],
        "canonical_id": str(row["canonical_id"]) if row["canonical_id"] else None,
        "item_key": row["item_key"],
        "target_id": row["target_id"],
        "differences": differences,
        "money": money,
        "case_id": str(row["case_id"]) if row["case_id"] else None,
    }
