"""The records a case involves, as the URLs of the routes that show them, and the cases
linked to an engagement (itself or a record under it), read from the golden-record view."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier

from domain.registry import COLLECTIONS
from projections.golden_records.columns import FILTERS
from projections.golden_records.view import GoldenRecordsView

# Records that belong to an engagement name it in this column of their table.
_UNDER = "engagement_id"
_UNDER_ENGAGEMENT = tuple(
    entity for entity, columns in FILTERS.items() if any(c.name == _UNDER for c in columns)
)


def under_engagement(
    golden: GoldenRecordsView, engagement_id: UUID
) -> tuple[Composable, tuple[Any, ...]]:
    """A query giving, as text, the engagement's id and the ids of the records under it."""
    parts: list[Composable] = [SQL("SELECT %s::text")]
    for entity in _UNDER_ENGAGEMENT:
        parts.append(
            SQL("SELECT id::text FROM {} WHERE {} = %s").format(
                golden.table(entity), Identifier(_UNDER)
            )
        )
    return SQL(" UNION ALL ").join(parts), (str(engagement_id),) + (engagement_id,) * len(
        _UNDER_ENGAGEMENT
    )


def add_links(golden: GoldenRecordsView | None, records: list[dict[str, Any]]) -> None:
    """Adds `links` to each case record: its golden records, their source records (xrefs),
    the record it waits for, and the ingest message it came from."""
    ids = sorted({i for r in records for i in r.get("canonical_ids", [])})
    entities, xrefs = _lookup(golden, ids) if ids and golden is not None else ({}, {})
    for record in records:
        linked = []
        for raw in record.get("canonical_ids", []):
            entity = entities.get(raw) or record.get("entity")
            linked.append(
                {
                    "entity": entity,
                    "id": raw,
                    "url": f"/v1/{COLLECTIONS[entity]}/{raw}" if entity in COLLECTIONS else None,
                    "xrefs": xrefs.get(raw, []),
                }
            )
        record["links"] = {
            "records": linked,
            "waiting_for": _waited(record.get("waiting_for")),
            "message": _message_url(record.get("message_id") or ""),
        }


def _lookup(
    golden: GoldenRecordsView, ids: list[str]
) -> tuple[dict[str, str], dict[str, list[dict[str, str]]]]:
    entity_of = SQL(" UNION ALL ").join(
        SQL("SELECT %s::text AS entity, id::text AS id FROM {} WHERE id = ANY(%s::uuid[])").format(
            golden.table(entity)
        )
        for entity in FILTERS
    )
    params: list[Any] = []
    for entity in FILTERS:
        params += [entity, ids]
    with golden.datastore.get_connection() as conn:
        found = conn.execute(entity_of, params).fetchall()
        sources = conn.execute(
            SQL(
                "SELECT id::text AS id, system, tenant, type, source_id FROM {} "
                "WHERE id = ANY(%s::uuid[]) ORDER BY system, tenant, type, source_id"
            ).format(golden.xref_table),
            (ids,),
        ).fetchall()
    xrefs: dict[str, list[dict[str, str]]] = {}
    for row in sources:
        xrefs.setdefault(row["id"], []).append(
            {
                "system": row["system"],
                "tenant": row["tenant"],
                "type": row["type"],
                "id": row["source_id"],
                "url": _xref_url(row["system"], row["tenant"], row["type"], row["source_id"]),
            }
        )
    return {r["id"]: r["entity"] for r in found}, xrefs


def _xref_url(system: str, tenant: str, type_: str, source_id: str) -> str:
    path = "/".join(quote(p, safe="") for p in (system, type_, source_id))
    return f"/v1/xref/{path}" + (f"?{urlencode({'tenant': tenant})}" if tenant else "")


def _waited(key: str | None) -> dict[str, str] | None:
    """The source record a case waits for (a claim key `xref:system|tenant|type|id`)."""
    if not key or not key.startswith("xref:"):
        return None
    parts = key[5:].split("|", 3)
    if len(parts) != 4:
        return None
    system, tenant, type_, source_id = parts
    return {
        "system": system,
        "tenant": tenant,
        "type": type_,
        "id": source_id,
        "url": _xref_url(system, tenant, type_, source_id),
    }


def _message_url(message_id: str) -> str | None:
    # Cases of fetches, held links and feeds name a key of their own, not an ingest message.
    if not message_id or message_id.split(":", 1)[0] in ("fetch", "link", "feed"):
        return None
    return f"/v1/ingest/{quote(message_id, safe=':')}"
