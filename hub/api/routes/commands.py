"""Synchronous, validated commands: POST /v1/commands/<command>."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Request, Response

from domain.client import Contact
from domain.values import SourceRef
from hub.api.deps import HubDep, Operator, Writer
from hub.auth import Principal
from hub.contracts.commands import CreateEngagement, MapXref, RegisterClient
from hub.records import redact, to_record
from hub.store.recorder import EventMeta

router = APIRouter(prefix="/v1/commands", tags=["commands"])

_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON (MALFORMED_PAYLOAD)"},
    401: {"description": "No or unknown token"},
    403: {"description": "The token lacks a write scope"},
    409: {"description": "Conflicts with recorded state (DUPLICATE)"},
    413: {"description": "Body too large (PAYLOAD_TOO_LARGE)"},
    422: {
        "description": "A broken rule: SCHEMA_VIOLATION, INVALID_CURRENCY, NEGATIVE_QUANTITY, "
        "UNKNOWN_AGGREGATE, RULE_VIOLATION"
    },
}


def command_meta(request: Request, principal: Principal) -> EventMeta:
    """Metadata of a command's events: the caller, and the request as message and cause."""
    request_id = request.headers.get("x-request-id") or str(uuid4())
    return EventMeta(
        system="api",
        actor=principal.name,
        message_id=request_id[:200],
        correlation_id=(request.headers.get("x-correlation-id") or request_id)[:200],
        causation_id=request_id[:200],
    )


def _created(
    response: Response,
    collection: str,
    record: dict[str, Any],
    position: int,
    entity: str,
    principal: Principal,
) -> dict[str, Any]:
    response.headers["Location"] = f"/v1/{collection}/{record['id']}"
    response.headers["ETag"] = f'"{record["version"]}"'
    return {**redact(entity, record, principal), "position": position}


@router.post("/register-client", status_code=201, responses=_REFUSALS)
def register_client(
    body: RegisterClient, request: Request, response: Response, hub: HubDep, principal: Writer
) -> dict[str, Any]:
    """Registers a client; answers the golden record and its log position."""
    client, position = hub.app.register_client(
        legal_name=body.legal_name,
        country=body.country,
        billing_currency=body.billing_currency,
        tax_id=body.tax_id,
        contacts=[
            Contact(name=c.name, email=c.email or "", phone=c.phone, role=c.role)
            for c in body.contacts
        ],
        xref=body.xref.to_ref() if body.xref else None,
        meta=command_meta(request, principal),
    )
    return _created(response, "clients", to_record(client), position, "client", principal)


@router.post("/create-engagement", status_code=201, responses=_REFUSALS)
def create_engagement(
    body: CreateEngagement, request: Request, response: Response, hub: HubDep, principal: Writer
) -> dict[str, Any]:
    """Creates an engagement for an active client; answers the record and its log position."""
    engagement, position = hub.app.create_engagement(
        client_id=body.client_id,
        code=body.code,
        name=body.name,
        currency=body.currency,
        service_line=body.service_line,
        region=body.region,
        legal_entity=body.legal_entity,
        start_date=body.start_date,
        end_date=body.end_date,
        budget=body.budget.to_money() if body.budget else None,
        manager_id=body.manager_id,
        xref=body.xref.to_ref() if body.xref else None,
        meta=command_meta(request, principal),
    )
    return _created(
        response, "engagements", to_record(engagement), position, "engagement", principal
    )


@router.post(
    "/map-xref",
    responses={
        **_REFUSALS,
        403: {"description": "The token lacks the operate scope"},
        409: {"description": "That source record already maps to another record (DUPLICATE)"},
    },
)
def map_xref(body: MapXref, hub: HubDep, principal: Operator) -> dict[str, Any]:
    """Maps a source record the hub could not resolve to a golden record: it becomes one of
    its xrefs, every record linked to it resolves at once, and changes parked for it are
    applied. Mapping it again to the same record changes nothing (200)."""
    engine = hub.ingest_engine()
    ref = SourceRef(body.system, body.tenant, body.type, body.id)
    mapped = engine.map_xref(ref, body.canonical_id, actor=principal.name)
    applied = [o.message_id for o in engine.unpark() if o.outcome == "applied"]
    record = to_record(mapped.record)
    return {
        "record": redact(mapped.record.ENTITY, record, principal),
        "position": mapped.position,
        "resolved": [str(i) for i in mapped.resolved],
        "applied": applied,
    }
