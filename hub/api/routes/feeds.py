"""Feeds: moving a category to another downstream system (a system migration)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import Field

from hub.api.deps import HubDep, scope
from hub.api.problems import Problem
from hub.auth import Principal
from hub.contracts.common import ContractModel
from hub.feeds.migration import MigrationRefused, MigrationRunning, check, migrate

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])

Operator = Annotated[Principal, Depends(scope("operate"))]
System = Annotated[str, Field(min_length=1, max_length=64)]


class MigrationRequest(ContractModel):
    category: System  # erp, billing, psa, knowledge
    source: System = Field(alias="from")
    target: System = Field(alias="to")


@router.post("/migrate")
async def migrate_category(
    request: Annotated[MigrationRequest, Body()], hub: HubDep, principal: Operator
) -> dict[str, Any]:
    """Moves a category to another system (as `pshub feeds migrate` does): records the
    migration and retires the old system's feed in every process, builds the new system's
    feed from the log and delivers what it must hold now. Idempotent: asked again, it
    records nothing (`changed` false) and delivers nothing twice. What the target does not
    take now waits in its backlog (`backlog`, and GET /v1/projections)."""
    try:
        check(request.category, request.source, request.target)
    except MigrationRefused as refused:
        raise _refusal(refused) from None
    feeds = hub.feeds_of()
    try:
        done = await asyncio.to_thread(
            migrate,
            hub.app,
            request.category,
            request.source,
            request.target,
            actor=f"api:{principal.name}",
            database_url=hub.database_url,
            acknowledge=feeds.acknowledge,
            backoff=feeds.backoff,
            await_provisioning=feeds.await_provisioning,
        )
    except MigrationRefused as refused:  # the settings changed meanwhile
        raise _refusal(refused) from None
    except MigrationRunning as running:
        raise Problem(409, str(running), reason="DUPLICATE") from None
    if feeds.running:  # this process's feeds follow at once (others within a second)
        await asyncio.to_thread(feeds.sync)
    return done.as_json()


def _refusal(refused: MigrationRefused) -> Problem:
    return Problem(
        422,
        str(refused),
        reason="RULE_VIOLATION",
        errors=[{"field": refused.field, "rule": refused.rule, "message": str(refused)}],
        extra={"rule": refused.rule},
    )
