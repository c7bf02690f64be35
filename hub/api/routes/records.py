"""Golden records: lists with filters and keyset cursors, reads by id (as of any instant),
history, lineage, and lookup by cross-reference."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.persistence import ProgrammingError as StoreProgrammingError
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from psycopg.errors import InvalidSchemaName, UndefinedTable

from domain.base import CanonicalAggregate
from domain.registry import AGGREGATES, COLLECTIONS
from domain.tombstone import Tombstone
from hub import queries
from hub.api.deps import HubDep, Reader
from hub.api.problems import Problem
from hub.bootstrap import Hub
from hub.contracts.records import RECORD_MODELS
from hub.filters import QueryError, filter_parameters, is_search, parse_filters
from hub.records import hidden_event_attributes, hidden_fields, to_record

router = APIRouter(prefix="/v1", tags=["records"])

RecordId = Annotated[UUID, Path(alias="id", description="the canonical id (a UUID)")]
MIN_POSITION_WAIT = 5.0


def _problem(error: QueryError) -> Problem:
    reason = "FORBIDDEN" if error.status == 403 else "SCHEMA_VIOLATION"
    return Problem(
        error.status,
        error.message,
        reason=reason,
        errors=[{"field": error.field, "rule": error.rule, "message": error.message}],
    )


def _wait_for(hub: Hub, position: int | None) -> None:
    if position is None:
        return
    head = hub.app.hub_recorder.select_head()[0]
    if position > head:
        # Positions are assigned as events commit: one beyond the head was never handed out.
        raise Problem(
            422,
            f"min_position {position} is beyond the log's head ({head})",
            reason="SCHEMA_VIOLATION",
            errors=[
                {"field": "min_position", "rule": "maximum", "message": "beyond the log's head"}
            ],
        )
    if not _reached(hub, position):
        raise Problem(
            503,
            f"the golden records have not reached position {position} yet",
            headers={"Retry-After": "1"},
        )


def _reached(hub: Hub, position: int) -> bool:
    if hub.runner is not None:
        return hub.runner.wait_for(position, MIN_POSITION_WAIT)
    # The projections run in another process (`pshub worker --run projections`): poll their
    # tracking row.
    deadline = time.monotonic() + MIN_POSITION_WAIT
    while hub.golden.position(hub.app.name) < position:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _json(text: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=text, status_code=status, media_type="application/json", headers=headers
    )


# A record as answered: its JSON text (hidden fields left out), version and tombstone flag.
Found = tuple[str, int, bool]


async def read_record(hub: Hub, entity: str, record_id: UUID, hidden: set[str]) -> Found | None:
    """The golden record, or (not projected yet: just written) the record from the log."""
    found = await _projected(hub, entity, record_id, hidden)
    if found is not None:
        return found
    aggregate = await asyncio.to_thread(hub.app.find, record_id, AGGREGATES[entity])
    return None if aggregate is None else _rendered(aggregate, hidden)


async def _projected(hub: Hub, entity: str, record_id: UUID, hidden: set[str]) -> Found | None:
    rows = await _golden_rows(hub, lambda view: view.get_statement(entity, record_id, hidden))
    return (rows[0]["record"], rows[0]["version"], rows[0]["deleted"]) if rows else None


async def _golden_rows(
    hub: Hub, statement: Callable[[Any], tuple[Any, Any]], *, prepare: bool = True
) -> list[dict[str, Any]]:
    """Reads the live generation of the golden records. A rebuild switches generations and
    drops the old one moments later: a read that still named the old one reads again from the
    new one (every process follows the switch from the database)."""
    try:
        return await _fetch_all(hub, *statement(hub.golden), prepare=prepare)
    except (UndefinedTable, InvalidSchemaName, StoreProgrammingError):  # the sync pool's
        if hub.generations is not None:
            await asyncio.to_thread(hub.generations.refresh)
        return await _fetch_all(hub, *statement(hub.golden), prepare=prepare)


def _rendered(aggregate: CanonicalAggregate, hidden: set[str]) -> Found:
    record = {k: v for k, v in to_record(aggregate).items() if k not in hidden}
    return json.dumps(record), aggregate.version, aggregate.deleted


async def _fetch_all(
    hub: Hub, statement: Any, params: Any, *, prepare: bool = True
) -> list[dict[str, Any]]:
    if hub.read_pool is None:  # outside the API's lifespan: the sync pool

        def fetch() -> list[dict[str, Any]]:
            with hub.app.hub_recorder.datastore.get_connection() as conn:
                rows = conn.execute(statement, params, prepare=None if prepare else False)
                return [dict(r) for r in rows.fetchall()]

        return await asyncio.to_thread(fetch)
    async with hub.read_pool.connection() as conn:
        cursor = await conn.execute(statement, params, prepare=prepare)
        return list(await cursor.fetchall())


def _answer(
    entity: str, record_id: UUID, found: Found | None, if_none_match: str | None
) -> Response:
    if found is None:
        raise Problem(404, f"no {entity.replace('_', ' ')} with id {record_id}")
    text, version, deleted = found
    etag = f'"{version}"'
    if deleted:
        raise Problem(
            410,
            f"{entity.replace('_', ' ')} {record_id} was deleted at its source",
            extra={"record": json.loads(text)},
            headers={"ETag": etag},
        )
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return _json(text, headers={"ETag": etag})


def _routes(entity: str, collection: str) -> None:
    label = entity.replace("_", " ")
    filter_params = filter_parameters(entity)

    async def list_records(
        request: Request,
        hub: HubDep,
        principal: Reader,
        limit: Annotated[int | None, Query(ge=1, description="default 100, capped at 1000")] = None,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
        include_deleted: bool = False,
        min_position: Annotated[int | None, Query(ge=0)] = None,
    ) -> Response:
        params = dict(request.query_params)
        hidden = hidden_fields(entity, principal)
        try:
            filters = parse_filters(entity, params, hidden)
            size = queries.parse_limit(None if limit is None else str(limit))
            after = (
                None
                if cursor is None
                else hub_cursors(hub).read(cursor, entity, filters, include_deleted)
            )
        except QueryError as error:
            raise _problem(error) from error
        if min_position is not None:
            await asyncio.to_thread(_wait_for, hub, min_position)
        # A search is planned for its own pattern: a generic plan would not know how rare it
        # is, and might walk the whole table in id order instead of using the trigram index.
        rows = await _golden_rows(
            hub,
            lambda view: view.list_statement(
                entity,
                filters=filters,
                after=after,
                limit=size + 1,
                include_deleted=include_deleted,
                hidden=hidden,
            ),
            prepare=not is_search(filters),
        )
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = (
            hub_cursors(hub).make(entity, filters, include_deleted, rows[-1]["id"])
            if more
            else None
        )
        items = ",".join(r["record"] for r in rows)
        cursor_json = "null" if next_cursor is None else f'"{next_cursor}"'
        return _json(f'{{"items":[{items}],"next_cursor":{cursor_json}}}')

    async def get_record(
        request: Request,
        record_id: RecordId,
        hub: HubDep,
        principal: Reader,
        as_of: Annotated[
            str | None,
            Query(
                description="RFC 3339: the record as the hub knew it at that instant", max_length=64
            ),
        ] = None,
        min_position: Annotated[
            int | None,
            Query(ge=0, description="wait until the golden records include this log position"),
        ] = None,
    ) -> Response:
        hidden = hidden_fields(entity, principal)
        etags = request.headers.get("if-none-match")
        if as_of is not None:
            try:
                instant = queries.parse_as_of(as_of)
            except QueryError as error:
                raise _problem(error) from error
            aggregate = await asyncio.to_thread(queries.as_of, hub.app, record_id, instant)
            if aggregate is None or not isinstance(aggregate, AGGREGATES[entity]):
                raise Problem(404, f"no {label} with id {record_id} at {as_of}")
            return _answer(entity, record_id, _rendered(aggregate, hidden), etags)
        if min_position is not None:
            await asyncio.to_thread(_wait_for, hub, min_position)
        return _answer(entity, record_id, await read_record(hub, entity, record_id, hidden), etags)

    def get_history(record_id: RecordId, hub: HubDep, principal: Reader) -> dict[str, Any]:
        if hub.app.find(record_id, AGGREGATES[entity]) is None:
            raise Problem(404, f"no {label} with id {record_id}")
        return {
            "items": queries.history(
                hub.app, entity, record_id, hidden_event_attributes(entity, principal)
            )
        }

    def get_lineage(record_id: RecordId, hub: HubDep, principal: Reader) -> dict[str, Any]:
        if hub.app.find(record_id, AGGREGATES[entity]) is None:
            raise Problem(404, f"no {label} with id {record_id}")
        return {
            "id": str(record_id),
            "fields": queries.lineage(hub.app, record_id, hidden_fields(entity, principal)),
        }

    list_records.__doc__ = (
        f"Lists {label} golden records in id order, filtered by the query parameters named "
        "after fields, by text (`name`, `q`, `code` where there is one) and by cross-reference "
        "(`xref`); `next_cursor` continues."
    )
    get_record.__doc__ = f"Returns the golden record of one {label} (ETag: its version)."
    get_history.__doc__ = f"Every event of one {label}, oldest first, with its provenance."
    get_lineage.__doc__ = f"For each field of one {label}: the system, message and time."
    not_found = {404: {"description": "Unknown id"}}
    router.add_api_route(
        f"/{collection}",
        list_records,
        methods=["GET"],
        name=f"list_{entity}",
        openapi_extra={"parameters": filter_params},
        responses={
            400: {"description": "Unknown filter, bad cursor, or a NUL character"},
            403: {"description": "A text search over fields the token may not read"},
            422: {"description": "A filter value of the wrong type, empty or too long"},
        },
    )
    router.add_api_route(
        f"/{collection}/{{id}}",
        get_record,
        methods=["GET"],
        name=f"get_{entity}",
        responses={
            304: {"description": "Not modified"},
            **not_found,
            410: {"description": "Deleted at its source"},
        },
    )
    router.add_api_route(
        f"/{collection}/{{id}}/history",
        get_history,
        methods=["GET"],
        name=f"history_{entity}",
        responses=not_found,
    )
    router.add_api_route(
        f"/{collection}/{{id}}/lineage",
        get_lineage,
        methods=["GET"],
        name=f"lineage_{entity}",
        responses=not_found,
    )


def hub_cursors(hub: Hub) -> queries.Cursors:
    if hub.cursors is None:
        hub.cursors = queries.Cursors(queries.cursor_secret(hub.app))
    return hub.cursors


for _entity in AGGREGATES:
    if _entity in RECORD_MODELS:
        _routes(_entity, COLLECTIONS[_entity])


@router.get(
    "/xref/{system}/{type}/{source_id}",
    responses={
        404: {"description": "No record has that xref"},
        410: {"description": "The record was deleted at its source"},
    },
)
async def get_by_xref(
    system: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)],
    type: Annotated[str, Path(min_length=1, max_length=100)],
    source_id: Annotated[str, Path(min_length=1, max_length=200)],
    hub: HubDep,
    principal: Reader,
    request: Request,
    tenant: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Returns the golden record a source record maps to; the type matches case-insensitively."""
    owner = await asyncio.to_thread(hub.app.owner_of_xref, system, tenant, type, source_id)
    aggregate = None if owner is None else await asyncio.to_thread(hub.app.find_any, owner)
    if isinstance(aggregate, Tombstone):
        # Deleted at its source before the hub ever saw it: gone, with no last state.
        raise Problem(
            410,
            f"{system}:{type}:{source_id} was deleted at its source before the hub saw it",
            extra={
                "record": None,
                "entity": aggregate.entity,
                "xref": {
                    "system": aggregate.xref.system,
                    "tenant": aggregate.xref.tenant,
                    "type": aggregate.xref.type,
                    "id": aggregate.xref.id,
                },
                "deleted_at": aggregate.deleted_at.isoformat(),
                "deleted_reason": aggregate.reason,
            },
        )
    if not isinstance(aggregate, CanonicalAggregate):
        raise Problem(404, f"no record has the xref {system}:{type}:{source_id}")
    entity = aggregate.ENTITY
    hidden = hidden_fields(entity, principal)
    found = await _projected(hub, entity, aggregate.id, hidden)
    if found is None or found[1] < aggregate.version:
        # The lookup already read the record from the log; while the projection is behind
        # it, answer from that (a deletion just applied is a 410 at once, not a moment later).
        found = _rendered(aggregate, hidden)
    return _answer(entity, aggregate.id, found, request.headers.get("if-none-match"))
