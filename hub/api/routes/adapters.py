"""POST /v1/adapters/{system}/webhook: a source's native payload in, canonical events out."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from hub.adapters import config_for, registry
from hub.api.deps import HubDep, authenticated
from hub.api.problems import Problem
from hub.auth import Principal
from hub.contracts.adapters import AdapterError
from hub.intake import (
    adapter_for,
    fetch_in,
    owns_cursor,
    record_fetch_failures,
    save_cursor,
)
from hub.publish import note_pending, publish_changes

router = APIRouter(prefix="/v1/adapters", tags=["adapters"])

System = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


@router.post(
    "/{system}/webhook",
    status_code=202,
    responses={
        202: {
            "description": 'The mapped change events are durably published: {"message_ids": [...]}'
        },
        400: {"description": "MALFORMED_PAYLOAD"},
        401: {"description": "No token, or the source's signature does not match (FORBIDDEN)"},
        403: {"description": "The token lacks write:<system>"},
        404: {"description": "No adapter for that system"},
        413: {"description": "PAYLOAD_TOO_LARGE, decided from the byte count"},
        422: {
            "description": "MISSING_REQUIRED_ID, INVALID_CURRENCY, NEGATIVE_QUANTITY, "
            "SCHEMA_VIOLATION"
        },
        503: {"description": "NATS unavailable: nothing was published; send it again"},
    },
)
async def webhook(
    system: System,
    request: Request,
    hub: HubDep,
    principal: Annotated[Principal, Depends(authenticated)],
    event: Annotated[
        str | None,
        Query(
            max_length=100,
            description="the event name, where the source does not put it in the body",
        ),
    ] = None,
    tenant: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Maps exactly one native payload (an event, or a page for page-shaped sources) and
    publishes its canonical change events; key-only notifications are fetched first."""
    if system not in registry():
        raise Problem(404, f"no adapter for system '{system}'")
    if not principal.may_write(system):
        raise Problem(403, f"this route needs the scope write:{system}")
    adapter = adapter_for(system)
    config = config_for(system)
    body = await request.body()
    headers = dict(request.headers)
    if not adapter.verify_signature(body, headers, config):
        raise Problem(401, f"the {system} signature does not match", reason="FORBIDDEN")
    try:
        mapped = await asyncio.to_thread(
            adapter.map_payload, body, config=config, headers=headers, event=event, tenant=tenant
        )
    except AdapterError as error:
        raise _refusal(error) from error
    if mapped.ignored:
        token = request.query_params.get("validationToken")
        if token is not None:
            # A subscription handshake (Microsoft Graph) expects its token echoed back.
            return PlainTextResponse(token[:1000])
        return JSONResponse({"message_ids": [], "ignored": mapped.ignored}, status_code=200)
    cursor_tenant = tenant or config.tenant or ""
    intake = await asyncio.to_thread(
        fetch_in, hub.app, system, cursor_tenant, mapped, config=config
    )
    if hub.broker is None or not await hub.nats_ready():
        raise Problem(
            503, "NATS is unavailable; nothing was published", headers={"Retry-After": "5"}
        )
    try:
        ids = await publish_changes(hub.js, hub.streams, intake.events)
    except Exception as error:  # any NATS failure: the source must send it again
        raise Problem(
            503, f"publishing failed: {error}; send it again", headers={"Retry-After": "5"}
        ) from error
    await asyncio.to_thread(note_pending, hub.app, intake.events)
    body_out: dict[str, Any] = {"message_ids": ids}
    if intake.failures:
        cases = await asyncio.to_thread(record_fetch_failures, hub.app, system, intake.failures)
        body_out["exceptions"] = [str(c) for c in cases]
        body_out["fetch_failed"] = [f"{r.kind}:{r.id}" for r, _ in intake.failures]
    if intake.cursor and owns_cursor(system):
        await asyncio.to_thread(save_cursor, hub.app, system, cursor_tenant, intake.cursor)
    return JSONResponse(body_out, status_code=202)


def _refusal(error: AdapterError) -> Problem:
    status = error.status if error.status in (400, 401, 403, 413, 422) else 422
    errors = (
        [{"field": error.field, "rule": error.reason.lower(), "message": error.message}]
        if error.field
        else None
    )
    return Problem(status, error.message, reason=error.reason, errors=errors)
