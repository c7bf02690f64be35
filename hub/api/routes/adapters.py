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
    fetch_in,
    owns_cursor,
    record_fetch_failures,
    save_cursor,
    take_in,
)
from hub.publish import note_pending, publish_changes

router = APIRouter(prefix="/v1/adapters", tags=["adapters"])

System = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


@router.post(
    "/{system}/webhook",
    status_code=202,
    responses={
        200: {
            "description": 'Nothing to do, and why: {"message_ids": [], "ignored": "..."} for a '
            "handshake (Xero intent to receive; Graph's validation echoes validationToken as "
            "text/plain), an empty page, or changes the hub does not map"
        },
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
    adapter = registry()[system]
    config = config_for(system)
    body = await request.body()
    headers = dict(request.headers)
    if not adapter.verify_signature(body, headers, config):
        raise Problem(401, f"the {system} signature does not match", reason="FORBIDDEN")
    token = request.query_params.get("validationToken")
    try:
        mapped = await asyncio.to_thread(
            take_in,
            system,
            body,
            config=config,
            headers=headers,
            event=event,
            tenant=tenant,
            validation_token=token,
        )
    except AdapterError as error:
        raise _refusal(error) from error
    cursor_tenant = tenant or config.tenant or ""
    if mapped.ignored:
        if token is not None and not body.strip():
            # A subscription handshake (Microsoft Graph) expects its token echoed back.
            return PlainTextResponse(token[:1000])
        if mapped.cursor and owns_cursor(system):
            # An empty delta page still moves the source's cursor on.
            await asyncio.to_thread(save_cursor, hub.app, system, cursor_tenant, mapped.cursor)
        return JSONResponse({"message_ids": [], "ignored": mapped.ignored}, status_code=200)
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


_ABOUT_THE_BODY = frozenset({"MALFORMED_PAYLOAD", "SCHEMA_VIOLATION"})


def _refusal(error: AdapterError) -> Problem:
    status = error.status if error.status in (400, 401, 403, 413, 422) else 422
    # A refusal of the body's form that names no part of it is about the whole body.
    field = error.field or ("body" if error.reason in _ABOUT_THE_BODY else "")
    errors = [{"field": field, "rule": error.rule, "message": error.message}] if field else None
    return Problem(status, error.message, reason=error.reason, errors=errors)
