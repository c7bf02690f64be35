"""Unresolved links: the source records that golden records reference and the hub does not
know yet, grouped, with counts per system (stewardship works from this list; a steward maps
one with POST /v1/commands/map-xref)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub import queries
from hub.api.deps import HubDep, Reader
from hub.api.problems import Problem

router = APIRouter(prefix="/v1", tags=["stewardship"])

Short = Annotated[str | None, Query(max_length=100, pattern=r"^[a-z][a-z0-9_]*$")]


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Problem(
            400,
            "the cursor is malformed",
            reason="SCHEMA_VIOLATION",
            errors=[{"field": "cursor", "rule": "cursor", "message": "not a cursor of this list"}],
        ) from None


@router.get("/unresolved-links")
async def list_unresolved_links(
    hub: HubDep,
    _: Reader,
    system: Short = None,
    entity: Short = None,
    limit: Annotated[int, Query(ge=1)] = queries.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    """Source records that records link to and the hub does not know yet: each with the
    records waiting (holders), since when, and whether an exception case is open (overdue);
    `counts` gives the number of such source records per system. Filters: system, entity."""
    size = min(limit, queries.MAX_LIMIT)
    after = _after(cursor) if cursor is not None else None
    items, counts = await asyncio.to_thread(
        hub.ingest_engine().links.unresolved,
        system=system,
        entity=entity,
        limit=size + 1,
        after=after,
    )
    more = len(items) > size
    items = items[:size]
    return {
        "items": [
            {
                "system": i["system"],
                "tenant": i["tenant"],
                "type": i["type"],
                "id": i["source_id"],
                "entity": i["entity"],
                "since": i["since"],
                "overdue": i["overdue"],
                "waiting": i["waiting"],
                "holders": i["holders"],
            }
            for i in items
        ],
        "counts": {"by_system": counts, "total": sum(counts.values())},
        "next_cursor": _cursor(items[-1]["key"]) if more else None,
    }
