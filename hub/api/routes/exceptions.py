"""The exception queue: what could not be applied, who should act, and acting on it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import Field

from hub import queries
from hub.api.deps import HubDep, Reader, scope
from hub.api.problems import Problem
from hub.auth import Principal
from hub.contracts.common import ContractModel
from hub.exceptions import ExceptionCase
from hub.feeds.cases import is_feed_case
from hub.ingest.decode import Incoming
from hub.store.recorder import EventMeta
from projections.exceptions.projection import case_row

router = APIRouter(prefix="/v1/exceptions", tags=["exceptions"])

Operator = Annotated[Principal, Depends(scope("operate"))]
CaseId = Annotated[UUID, Path(alias="id")]
Short = Annotated[str | None, Query(max_length=100)]


class Resolution(ContractModel):
    note: Annotated[str, Field(max_length=2000)] = ""


@router.get("")
def list_exceptions(
    hub: HubDep,
    _: Reader,
    status: Short = None,
    reason: Short = None,
    owner: Short = None,
    entity: Short = None,
    system: Short = None,
    limit: Annotated[int, Query(ge=1)] = queries.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Lists exception cases (filters: status, reason, owner, entity, system) in id order."""
    assert hub.exceptions is not None
    filters = {
        k: v
        for k, v in (
            ("status", status),
            ("reason", reason),
            ("owner", owner),
            ("entity", entity),
            ("system", system),
        )
        if v is not None
    }
    after = None
    if cursor is not None:
        try:
            after = UUID(cursor)
        except ValueError:
            raise Problem(400, "the cursor is malformed", reason="SCHEMA_VIOLATION") from None
    size = min(limit, queries.MAX_LIMIT)
    items = hub.exceptions.list(filters, limit=size + 1, after=after)
    more = len(items) > size
    items = items[:size]
    return {
        "items": items,
        "next_cursor": items[-1]["id"] if more else None,
        "counts": hub.exceptions.counts(),
    }


@router.get("/{id}")
def get_exception(case_id: CaseId, hub: HubDep, _: Reader) -> dict[str, Any]:
    """One exception case."""
    assert hub.exceptions is not None
    record = hub.exceptions.get(case_id)
    if record is None:
        case = hub.app.find(case_id, ExceptionCase)  # raised just now, not projected yet
        if case is None:
            raise Problem(404, f"no exception case {case_id}")
        record = case_row(case)["record"]
    return record


@router.post("/{id}/resolve")
def resolve_exception(
    case_id: CaseId,
    hub: HubDep,
    principal: Operator,
    body: Annotated[Resolution | None, Body()] = None,
) -> dict[str, Any]:
    """Closes a case with a note; its handling stays in the audit trail."""
    case = hub.app.find(case_id, ExceptionCase)
    if case is None:
        raise Problem(404, f"no exception case {case_id}")
    case.resolve(by=principal.name, note=body.note if body else "")
    position = hub.app.record(case, meta=EventMeta(system="api", actor=principal.name))
    return {"id": str(case.id), "status": str(case.status), "position": position}


@router.post("/{id}/retry", status_code=202)
async def retry_exception(case_id: CaseId, hub: HubDep, principal: Operator) -> dict[str, Any]:
    """Tries the input again (the stored message, re-decided); resolves the case if it applies
    now."""
    case = await asyncio.to_thread(hub.app.find, case_id, ExceptionCase)
    if case is None:
        raise Problem(404, f"no exception case {case_id}")
    if is_feed_case(case):
        return await asyncio.to_thread(_retry_feed_item, hub, case, principal)
    stored = await asyncio.to_thread(_stored_message, hub, case.message_id)
    if stored is None or hub.engine is None:
        raise Problem(409, "this case has no stored input to try again", reason="DUPLICATE")
    subject, payload = stored
    outcomes = await asyncio.to_thread(
        hub.engine.retry, Incoming(subject, payload, {}), case.message_id
    )
    case.note_retry(by=principal.name)
    outcome = outcomes[0]
    if outcome.outcome == "applied":
        case.resolve(by=principal.name, note="applied on retry")
    position = await asyncio.to_thread(
        hub.app.record, case, meta=EventMeta(system="api", actor=principal.name)
    )
    return {
        "id": str(case.id),
        "status": str(case.status),
        "outcome": outcome.outcome,
        "reason": outcome.reason,
        "detail": outcome.detail or None,
        "position": position,
    }


def _retry_feed_item(hub: Any, case: ExceptionCase, principal: Principal) -> dict[str, Any]:
    """A feed item a target did not take goes back in its target's queue; the case resolves
    when it is delivered."""
    if not hub.feeds_of().requeue(case.id):
        raise Problem(409, "this case's feed item is not waiting for a retry", reason="DUPLICATE")
    case.note_retry(by=principal.name)
    position = hub.app.record(case, meta=EventMeta(system="api", actor=principal.name))
    return {
        "id": str(case.id),
        "status": str(case.status),
        "outcome": "requeued",
        "reason": case.reason,
        "detail": None,
        "position": position,
    }


def _stored_message(hub: Any, message_id: str) -> tuple[str, bytes] | None:
    from psycopg.sql import SQL, Identifier  # noqa: PLC0415

    datastore = hub.app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        row = conn.execute(
            SQL("SELECT subject, payload FROM {} WHERE message_id = %s").format(
                Identifier(datastore.schema, "hub_ingest_messages")
            ),
            (message_id,),
        ).fetchone()
    if row is None or row["payload"] is None:
        return None
    return row["subject"], bytes(row["payload"])
