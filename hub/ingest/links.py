"""Links held on records: which records wait for which source record, in `hub_links`.

A link is a reference to a record the hub does not know yet (an invoice's customer, an ERP
project's client). The record is recorded at once and holds the link as the source named it
(domain.base `pending_links`); this table finds the holders when the source record becomes
known, by the claim key it will be known under, so the ingest transaction that claims the key
resolves them. It is bookkeeping of the write side, kept in the same transactions as the
events that hold, resolve and release links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.values import PendingLink, SourceRef
from hub.store.sql_params import array


@dataclass(frozen=True)
class Held:
    """One link a record holds: the claim key it waits for, the holder and the link."""

    key: str
    holder_id: UUID
    holder_entity: str
    link: PendingLink
    held_at: datetime | None = None
    case_id: UUID | None = None


def _held(row: dict[str, Any]) -> Held:
    ref = SourceRef(row["system"], row["tenant"], row["type"], row["source_id"])
    return Held(
        row["key"],
        row["holder_id"],
        row["holder_entity"],
        PendingLink(row["field"], row["entity"], ref),
        row["held_at"],
        row["case_id"],
    )


class LinkBook:
    """Reads and writes of `hub_links` (writes run inside the ingest transaction)."""

    def __init__(self, datastore: Any) -> None:
        self._datastore = datastore
        self._table = Identifier(datastore.schema, "hub_links")
        self._columns = SQL(
            "key, holder_id, field, holder_entity, entity, system, tenant, type, source_id, "
            "held_at, case_id"
        )

    def _rows(self, statement: SQL, params: Sequence[Any]) -> list[Held]:
        with self._datastore.get_connection() as conn:
            rows = conn.execute(statement.format(self._columns, self._table), params).fetchall()
        return [_held(dict(r)) for r in rows]

    def waiting_for(self, keys: Sequence[str]) -> list[Held]:
        """The links held for any of these claim keys."""
        if not keys:
            return []
        return self._rows(SQL("SELECT {} FROM {} WHERE key = ANY(%s::text[])"), (array(keys),))

    def held_by(self, holder_id: UUID) -> list[Held]:
        return self._rows(SQL("SELECT {} FROM {} WHERE holder_id = %s"), (holder_id,))

    def overdue(self, before: datetime, limit: int) -> list[Held]:
        """Links held since before `before` for which no exception case is open yet."""
        return self._rows(
            SQL(
                "SELECT {} FROM {} WHERE held_at < %s AND case_id IS NULL ORDER BY held_at LIMIT %s"
            ),
            (before, limit),
        )

    def unresolved(
        self, *, system: str | None, entity: str | None, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Source records that links wait for, grouped, with counts per system."""
        conditions, params = [SQL("TRUE")], []  # type: ignore[var-annotated]
        if system is not None:
            conditions.append(SQL("system = %s"))
            params.append(system)
        if entity is not None:
            conditions.append(SQL("entity = %s"))
            params.append(entity)
        where = SQL(" AND ").join(conditions)
        paged = [*conditions]
        page_params = list(params)
        if after is not None:
            paged.append(SQL("key > %s"))
            page_params.append(after)
        with self._datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT key, min(system) AS system, min(tenant) AS tenant, min(type) AS type, "
                    "min(source_id) AS source_id, min(entity) AS entity, min(held_at) AS since, "
                    "count(*) AS waiting, bool_or(case_id IS NOT NULL) AS overdue, "
                    "jsonb_agg(jsonb_build_object('entity', holder_entity, 'id', holder_id, "
                    "'field', field) ORDER BY holder_id, field) AS holders "
                    "FROM {} WHERE {} GROUP BY key ORDER BY key LIMIT %s"
                ).format(self._table, SQL(" AND ").join(paged)),
                [*page_params, limit],
            ).fetchall()
            counts = conn.execute(
                SQL(
                    "SELECT system, count(DISTINCT key) AS n FROM {} WHERE {} GROUP BY system"
                ).format(self._table, where),
                params,
            ).fetchall()
        return [dict(r) for r in rows], {r["system"]: r["n"] for r in counts}

    # Writes, inside the ingest transaction ------------------------------------------------

    def write(
        self,
        cur: Cursor[DictRow],
        *,
        held: Sequence[Held],
        dropped: Sequence[tuple[UUID, str]],
        resolved: Sequence[tuple[str, UUID, str]],
        now: datetime,
    ) -> None:
        """Deletes released fields' and resolved links' rows, then inserts newly held ones."""
        if dropped:
            cur.executemany(
                SQL("DELETE FROM {} WHERE holder_id = %s AND field = %s").format(self._table),
                list(dropped),
            )
        if resolved:
            cur.executemany(
                SQL("DELETE FROM {} WHERE key = %s AND holder_id = %s AND field = %s").format(
                    self._table
                ),
                list(resolved),
            )
        if held:
            cur.executemany(
                SQL(
                    "INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL) "
                    "ON CONFLICT (key, holder_id, field) DO NOTHING"
                ).format(self._table, self._columns),
                [
                    (
                        h.key,
                        h.holder_id,
                        h.link.field,
                        h.holder_entity,
                        h.link.entity,
                        *h.link.ref.key[:2],
                        h.link.ref.type,
                        h.link.ref.id,
                        now,
                    )
                    for h in held
                ],
            )

    def mark_cases(self, cur: Cursor[DictRow], cases: Sequence[tuple[UUID, Held]]) -> None:
        """Notes the exception case opened for each overdue link."""
        cur.executemany(
            SQL(
                "UPDATE {} SET case_id = %s WHERE key = %s AND holder_id = %s AND field = %s"
            ).format(self._table),
            [(case_id, h.key, h.holder_id, h.link.field) for case_id, h in cases],
        )
