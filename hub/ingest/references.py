"""References between records: links held, settled and resolved; tombstones of unseen records.

A change may name a record the hub does not know yet: the link is held on the record as the
source named it and resolves in the transaction that claims that record's key. A deletion of a
record the hub never saw leaves a tombstone under its xref, so an older change for it is stale
and a newer one brings the record back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.base import CanonicalAggregate
from domain.tombstone import Tombstone
from hub.ingest.appliers import APPLIERS, Incomplete
from hub.ingest.batch import _Stale, add_claim, create
from hub.ingest.decode import Change
from hub.ingest.links import Held
from hub.ingest.matching import claim_natural_keys, match, surviving
from hub.store.recorder import EventMeta

if TYPE_CHECKING:
    from hub.ingest.batch import _Batch, _Context
    from hub.ingest.engine import IngestEngine
    from hub.ingest.tables import IngestTables


def tombstone_of(engine: IngestEngine, change: Change, batch: _Batch) -> Tombstone | None:
    """The tombstone the change's source record is claimed by, if it is one."""
    if batch.claim_entities.get(change.record_key) != Tombstone.ENTITY:
        return None
    found = engine.working(batch.claims[change.record_key], batch)
    return found if isinstance(found, Tombstone) else None


def bury(ctx: _Context, change: Change, batch: _Batch) -> list[UUID]:
    """Records the deletion of a record the hub never saw, under its xref."""
    tombstone = Tombstone.record(
        entity=change.entity,
        xref=ctx.source_ref,
        reason=getattr(change.data, "reason", "source_deleted"),
        deleted_at=change.occurred_at,
    )
    ctx.touch(tombstone)  # type: ignore[arg-type]
    ctx.touched[tombstone.id] = 0
    batch.aggregates[tombstone.id] = tombstone  # type: ignore[assignment]
    batch.order.append(tombstone.id)
    add_claim(batch, change.record_key, tombstone.id, Tombstone.ENTITY)
    return [tombstone.id]


def revive(
    ctx: _Context,
    change: Change,
    fields: dict[str, Any],
    tombstone: Tombstone,
    batch: _Batch,
    tables: IngestTables,
) -> list[UUID]:
    """A change to a record deleted before the hub saw it: older than the deletion, it is
    stale; newer (an undelete, a restore), it brings the record back."""
    ordered = change.sequence is not None and change.record_key in batch.sequences
    if not ordered and change.occurred_at <= tombstone.deleted_at:
        raise _Stale(
            f"the record was deleted at {tombstone.deleted_at.isoformat()}, after this change"
        )
    if change.partial:
        raise Incomplete(["the full record (this change reports only what changed)"])
    target_id = match(ctx, change, fields, batch, tables)
    if target_id is None:
        aggregate = create(ctx, change, fields, batch)
    else:
        aggregate = ctx.load(target_id, APPLIERS[change.entity].kind)
        aggregate.add_xref(ctx.source_ref)
        APPLIERS[change.entity].update(
            ctx, aggregate, surviving(ctx, change, aggregate, fields, batch, tables)
        )
    ctx.touch(tombstone)  # type: ignore[arg-type]
    tombstone.revive(aggregate.id)
    batch.claims[change.record_key] = aggregate.id
    batch.claim_entities[change.record_key] = change.entity
    batch.repointed[change.record_key] = (aggregate.id, change.entity)
    batch.claim_causes[change.record_key] = change.message_id
    claim_natural_keys(batch, change, aggregate, fields)
    settle_links(ctx, aggregate, batch)
    return [aggregate.id]


def settle_links(ctx: _Context, aggregate: CanonicalAggregate, batch: _Batch) -> None:
    """Holds the links a change left unresolved, resolves the held ones it names known
    records for, and lets go of those it clears or names no more."""
    held = {link for _, link in ctx.held}
    for pending in list(aggregate.pending_links):
        if pending in held:
            continue
        found = [
            (key, owner)
            for key, ref, owner in ctx.found.get(pending.field, ())
            if ctx.source_of(ref) == pending.ref
        ]
        if found:
            # The source names the same record, known now: the link resolves.
            aggregate.resolve_link(pending, found[0][1])
            batch.resolved.append((found[0][0], aggregate.id, pending.field))
        elif (
            pending.field in ctx.cleared
            or (pending.field in ctx.found and not pending.many)
            or any(pending.field.startswith(p) for p in ctx.renewed)
        ):
            aggregate.release_link(pending.field)
            batch.dropped.append((aggregate.id, pending.field))
    for key, link in ctx.held:
        if link in aggregate.pending_links:
            continue
        replaced = [h for h in aggregate.pending_links if not link.many and h.field == link.field]
        aggregate.hold_link(link)
        if replaced:
            batch.dropped.append((aggregate.id, link.field))
        batch.held.append(Held(key, aggregate.id, aggregate.ENTITY, link))


def resolve_waiting(engine: IngestEngine, batch: _Batch) -> None:
    """Resolves the links that wait for the keys this batch claimed."""
    claimed = {k: (c.owner_id, c.entity) for k, c in batch.new_claims.items()}
    claimed.update(batch.repointed)
    if not claimed:
        return
    fresh = [h for h in batch.held if h.key in claimed]
    waiting = [*engine.links.waiting_for(list(claimed)), *fresh]
    for held in waiting:
        owner, entity = claimed[held.key]
        if entity != held.link.entity:
            continue
        holder = engine.working(held.holder_id, batch)
        if not isinstance(holder, CanonicalAggregate) or held.link not in holder.pending_links:
            continue
        before = len(holder.pending_events)
        holder.resolve_link(held.link, owner)
        cause = batch.claim_causes.get(held.key, "")
        meta = EventMeta(
            system=batch.link_system,
            actor=batch.link_actor,
            message_id=cause or None,
            correlation_id=cause or None,
            causation_id=cause or None,
        )
        for event in holder.pending_events[before:]:
            batch.meta[(event.originator_id, event.originator_version)] = meta
        if held in fresh:
            batch.held.remove(held)
        else:
            batch.resolved.append((held.key, held.holder_id, held.link.field))
        if held.case_id is not None:
            batch.closing[held.case_id] = f"resolved: {held.key} is {entity} {owner}"
