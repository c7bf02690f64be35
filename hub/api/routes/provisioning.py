"""Quote-to-cash: where a won engagement's provisioning stands in the downstream systems."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Path

from domain.engagement import Engagement
from hub.api.deps import HubDep, Reader
from hub.api.problems import Problem
from hub.quote_to_cash.store import ProvisioningStore

router = APIRouter(prefix="/v1", tags=["quote-to-cash"])


@router.get(
    "/engagements/{id}/provisioning",
    responses={404: {"description": "No such engagement, or it has not been won"}},
)
async def get_provisioning(
    engagement_id: Annotated[UUID, Path(alias="id")], hub: HubDep, _: Reader
) -> dict[str, Any]:
    """The engagement's provisioning: its state (won, blocked, requested, ready, closed), the
    checks that failed, each target's acknowledgement, and the setup lead time (won to ready,
    seconds) once ready."""

    def read() -> tuple[dict[str, Any] | None, bool]:
        try:
            record = ProvisioningStore(hub.app.hub_recorder.datastore).get(engagement_id)
        except psycopg.errors.UndefinedTable:  # provisioning never ran on this database
            record = None
        known = record is not None or hub.app.find(engagement_id, Engagement) is not None
        return record, known

    record, known = await asyncio.to_thread(read)
    if record is None:
        raise Problem(
            404,
            f"engagement {engagement_id} has not been won: it has no provisioning"
            if known
            else f"no engagement with id {engagement_id}",
        )
    return record
