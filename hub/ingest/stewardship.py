"""Stewardship of what ingest could not settle by itself: mapped xrefs and overdue waits.

A steward maps a source record the hub could not resolve to a golden record (the links waiting
for it resolve in the same transaction), and a periodic sweep opens an exception case for each
parked change and held link that has waited too long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL

from domain.base import CanonicalAggregate
from domain.errors import RuleViolationError
from domain.values import SourceRef
from hub.errors import ConflictError, UnknownReferenceError
from hub.exceptions import ExceptionCase
from hub.ingest.batch import _Batch, add_claim
from hub.ingest.decode import xref_key
from hub.ingest.links import Held
from hub.ingest.outcomes import record
from hub.ingest.references import resolve_waiting
from hub.store.recorder import EventMeta

if TYPE_CHECKING:
    from hub.ingest.engine import IngestEngine
    from hub.ingest.tables import IngestTables


@dataclass(frozen=True)
class MappedXref:
    """What a steward's map-xref did: the record, the log position (None: it was mapped
    already), and the records whose links resolved."""

    record: CanonicalAggregate
    position: int | None
    resolved: list[UUID]


def map_xref(
    engine: IngestEngine, tables: IngestTables, ref: SourceRef, canonical_id: UUID, *, actor: str
) -> MappedXref:
    """Maps a source record the hub could not resolve to a golden record: it becomes an
    xref of that record, and every link waiting for it resolves in the same transaction
    (parked changes waiting for it are applied afterwards, by `unpark`)."""
    batch = _Batch()
    key = xref_key(*ref.key)
    tables.load_claims([key], batch)
    owner = batch.claims.get(key)
    target = engine.working(canonical_id, batch)
    if not isinstance(target, CanonicalAggregate):
        raise UnknownReferenceError(
            f"no golden record with id {canonical_id}", field="canonical_id"
        )
    if owner == canonical_id:
        return MappedXref(target, None, [])
    if owner is not None:
        raise ConflictError(
            f"{ref} already maps to {batch.claim_entities.get(key)} {owner}", field="id"
        )
    waiting = engine.links.waiting_for([key])
    wrong = sorted({h.link.entity for h in waiting} - {target.ENTITY})
    if wrong:
        raise RuleViolationError(
            f"records link {ref} as {' and '.join(wrong)}; {canonical_id} is {target.ENTITY}",
            rule="link_entity",
            field="canonical_id",
        )
    message_id = f"map-xref:{key}:{canonical_id}"
    batch.current_message = message_id
    batch.link_system, batch.link_actor = "api", actor
    before = len(target.pending_events)
    target.add_xref(ref)
    meta = EventMeta(
        system="api",
        actor=actor,
        message_id=message_id,
        correlation_id=message_id,
        causation_id=message_id,
    )
    for event in target.pending_events[before:]:
        batch.meta[(event.originator_id, event.originator_version)] = meta
    add_claim(batch, key, canonical_id, target.ENTITY)
    resolve_waiting(engine, batch)
    resolved = sorted({holder for _, holder, _ in batch.resolved}, key=str)
    position = record(engine.app, tables, engine.links, batch, [])
    return MappedXref(target, position, resolved)


def sweep_overdue(
    engine: IngestEngine,
    tables: IngestTables,
    grace: timedelta,
    *,
    now: datetime | None = None,
    limit: int = 500,
) -> list[UUID]:
    """Opens an exception case for each parked change and held link that has waited
    longer than `grace`, naming what it waits for; returns the cases opened. The case
    closes by itself when the record arrives."""
    before = (now or datetime.now(UTC)) - grace
    parked = tables.query(
        SQL(
            "SELECT message_id, waiting_for, subject, parked_at FROM {} "
            "WHERE parked_at < %s AND case_id IS NULL ORDER BY arrival LIMIT %s"
        ).format(tables.table("hub_ingest_parked")),
        (before, limit),
    )
    overdue = engine.links.overdue(before, limit)
    opened: list[tuple[ExceptionCase, Any]] = []
    for row in parked:
        parts = row["subject"].split(".")
        case = ExceptionCase.open(
            message_id=row["message_id"],
            reason="UNKNOWN_AGGREGATE",
            rule="waiting_for",
            detail=f"parked since {row['parked_at'].isoformat()}, waiting for "
            f"{_describe(row['waiting_for'])}",
            system=parts[1] if len(parts) > 1 else "",
            entity=parts[2] if len(parts) > 2 else "",
            subject=row["subject"],
            key=("overdue", row["waiting_for"]),
            waiting_for=row["waiting_for"],
        )
        opened.append((case, row["message_id"]))
    for held in overdue:
        case = ExceptionCase.open(
            message_id=f"link:{held.holder_id}:{held.link.field}",
            reason="UNRESOLVED_LINK",
            rule=held.link.field,
            detail=f"{held.holder_entity} {held.holder_id} links {held.link.entity} "
            f"{held.link.ref} ({held.link.field}), unknown since "
            f"{held.held_at.isoformat() if held.held_at else '?'}",
            entity=held.holder_entity,
            system=held.link.ref.system,
            subject=str(held.link.ref),
            canonical_ids=[held.holder_id],
            key=(held.key,),
            waiting_for=held.key,
        )
        opened.append((case, held))
    if not opened:
        return []
    fresh = [c for c, _ in opened if engine.app.find(c.id, ExceptionCase) is None]
    links_table, parked_table = engine.links, tables.table("hub_ingest_parked")

    def mark(cur: Cursor[DictRow], _: Sequence[int]) -> None:
        cur.executemany(
            SQL("UPDATE {} SET case_id = %s WHERE message_id = %s").format(parked_table),
            [(c.id, m) for c, m in opened if isinstance(m, str)],
        )
        links_table.mark_cases(cur, [(c.id, h) for c, h in opened if isinstance(h, Held)])

    meta = EventMeta(system="hub", actor="ingest:overdue")
    if fresh:
        engine.app.record(*fresh, meta=meta, extra_writes=[mark])  # type: ignore[arg-type]
    else:
        with tables.datastore.transaction(commit=True) as cur:
            mark(cur, [])
    return [c.id for c in fresh]


def _describe(key: str) -> str:
    """A claim key as people read it: harvest:Project:123 (tenant t1)."""
    if key.startswith("xref:"):
        system, tenant, type_, source = key[5:].split("|", 3)
        return f"{system}:{type_}:{source}" + (f" (tenant {tenant})" if tenant else "")
    return key
