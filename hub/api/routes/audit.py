"""The audit trail over HTTP: chain verification and a streamed JSON Lines export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from hub import audit
from hub.api.deps import HubDep, scope
from hub.api.problems import Problem
from hub.auth import Principal
from hub.contracts.records import RECORD_MODELS
from hub.records import hidden_event_attributes

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(scope("audit"))]


@router.get("/verify")
def verify(hub: HubDep, _: Auditor) -> dict[str, Any]:
    """Recomputes the hash chain over the whole log; names the first broken position."""
    recorder = hub.app.hub_recorder
    return audit.verify(hub.database_url, recorder.events_table_name).as_json()


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One event per line, oldest first, with its chain hashes",
        }
    },
)
def export(
    hub: HubDep,
    principal: Auditor,
    since: Annotated[AwareDatetime | None, Query(description="recorded at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="recorded before")] = None,
) -> StreamingResponse:
    """Streams the log as JSON Lines; fields the token may not see are left out of `data`."""
    if since is not None and until is not None and until <= since:
        raise Problem(
            422,
            "until must be after since",
            reason="SCHEMA_VIOLATION",
            errors=[
                {"field": "until", "rule": "date_order", "message": "until must be after since"}
            ],
        )
    hidden = {entity: hidden_event_attributes(entity, principal) for entity in RECORD_MODELS}
    lines = audit.export(
        hub.database_url,
        hub.app.hub_recorder.events_table_name,
        since=since,
        until=until,
        hidden=hidden,
    )
    return StreamingResponse(lines, media_type="application/x-ndjson")
