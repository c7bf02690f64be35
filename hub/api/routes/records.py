"""Reads of golden records by id (the query API grows here)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Response

from domain.base import CanonicalAggregate
from domain.registry import AGGREGATES, COLLECTIONS
from hub.api.deps import HubDep, Reader
from hub.api.problems import Problem
from hub.contracts.records import RECORD_MODELS
from hub.records import redact, to_record

router = APIRouter(prefix="/v1", tags=["records"])


def _get(
    entity: str,
    record_id: UUID,
    hub: HubDep,
    principal: Reader,
    if_none_match: str | None,
    response: Response,
) -> Any:
    aggregate = hub.app.find(record_id, AGGREGATES[entity])
    if aggregate is None:
        raise Problem(404, f"no {entity} with id {record_id}")
    record = redact(entity, to_record(aggregate), principal)
    etag = f'"{aggregate.version}"'
    if aggregate.deleted:
        raise Problem(
            410, f"{entity} {record_id} was deleted at its source", extra={"record": record}
        )
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return record


def _route(entity: str, collection: str) -> None:
    def get_record(
        record_id: Annotated[UUID, Path(alias="id")],
        hub: HubDep,
        principal: Reader,
        response: Response,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Any:
        return _get(entity, record_id, hub, principal, if_none_match, response)

    get_record.__doc__ = f"Returns the golden record of one {entity.replace('_', ' ')}."
    router.add_api_route(
        f"/{collection}/{{id}}",
        get_record,
        methods=["GET"],
        name=f"get_{entity}",
        responses={
            304: {"description": "Not modified"},
            404: {"description": "Unknown id"},
            410: {"description": "Deleted at its source"},
        },
    )


for _entity in AGGREGATES:
    if _entity in RECORD_MODELS:
        _route(_entity, COLLECTIONS[_entity])


@router.get(
    "/xref/{system}/{type}/{source_id}",
    responses={404: {"description": "No record has that xref"},
               410: {"description": "The record was deleted at its source"}},
)
def get_by_xref(
    system: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)],
    type: Annotated[str, Path(min_length=1, max_length=100)],
    source_id: Annotated[str, Path(min_length=1, max_length=200)],
    hub: HubDep,
    principal: Reader,
    response: Response,
    tenant: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """Returns the golden record a source record maps to; the type matches case-insensitively."""
    owner = hub.app.owner_of_xref(system, tenant, type, source_id)
    if owner is None:
        raise Problem(404, f"no record has the xref {system}:{type}:{source_id}")
    aggregate = hub.app.find(owner, CanonicalAggregate)
    if aggregate is None:
        raise Problem(404, f"no record has the xref {system}:{type}:{source_id}")
    return _get(aggregate.ENTITY, owner, hub, principal, None, response)
