"""The working state of one ingest batch, and what appliers may ask while a message applies.

A batch keeps the aggregates, claims, sequences, lineage and links it has changed so far (its
`_Batch`), the outcome of each message (`Outcome`), and gives each message a `_Context`: the
appliers' view of the batch. Also here: the claim keys references resolve through, and the
taking back of what a failed message did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.base import CanonicalAggregate
from domain.errors import RuleViolationError
from domain.ids import source_id
from domain.tombstone import Tombstone
from domain.values import PendingLink, SourceRef
from hub.application import Claim
from hub.contracts.changes import Ref
from hub.exceptions import ExceptionCase
from hub.ingest.appliers import APPLIERS, Unresolved
from hub.ingest.decode import Change, Incoming, Refusal, xref_key
from hub.ingest.links import Held
from hub.ingest.rules import PARENT, FieldSource, Rules
from hub.store.recorder import EventMeta

if TYPE_CHECKING:
    from hub.application import HubApplication
    from hub.ingest.engine import IngestEngine

APPLIED, DUPLICATE, STALE, PARKED, REJECTED, DEAD_LETTERED = (
    "applied",
    "duplicate",
    "stale",
    "parked",
    "rejected",
    "dead_lettered",
)
REDELIVERED = "this message id was seen before"

# A message as validated: the change (or its refusal) with the message it came from.
Decoded = tuple[Change | Refusal, Incoming]


@dataclass
class Outcome:
    """What became of one message."""

    message_id: str
    subject: str
    outcome: str
    reason: str | None = None
    detail: str = ""
    canonical_ids: list[UUID] = field(default_factory=list)
    change: Change | None = None
    refusal: Refusal | None = None
    waiting_for: str | None = None
    raw: bytes = b""
    position: int | None = None


@dataclass
class _Batch:
    """The working state of one batch: aggregates, claims and order as changed so far."""

    aggregates: dict[UUID, CanonicalAggregate] = field(default_factory=dict)
    order: list[UUID] = field(default_factory=list)  # save order (first touch)
    meta: dict[tuple[UUID, int], EventMeta] = field(default_factory=dict)
    claims: dict[str, UUID] = field(default_factory=dict)  # known (loaded or new)
    new_claims: dict[str, Claim] = field(default_factory=dict)
    sequences: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (seq, msg)
    new_sequences: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Each stored claim's sequence as read (None: none yet): the commit checks it still holds.
    read_sequences: dict[str, str | None] = field(default_factory=dict)
    lineage: dict[UUID, dict[str, FieldSource]] = field(default_factory=dict)
    lineage_dirty: set[UUID] = field(default_factory=set)
    cases: list[ExceptionCase] = field(default_factory=list)
    unparked: list[str] = field(default_factory=list)
    # Which entity each known key's owner is (a tombstone's xref names no live record).
    claim_entities: dict[str, str] = field(default_factory=dict)
    # The message whose change claimed each new key: it causes the links it resolves.
    current_message: str = ""
    claim_causes: dict[str, str] = field(default_factory=dict)
    # Links newly held, released (holder, field) and resolved (key, holder, field).
    held: list[Held] = field(default_factory=list)
    dropped: list[tuple[UUID, str]] = field(default_factory=list)
    resolved: list[tuple[str, UUID, str]] = field(default_factory=list)
    # Source records revived after a tombstone: their xref claim moves to the new record.
    repointed: dict[str, tuple[UUID, str]] = field(default_factory=dict)
    # Who resolves links in this batch (a steward's map-xref names its actor).
    link_system: str = "hub"
    link_actor: str = "ingest:links"
    # Exception cases this batch closes (the record they waited for arrived), by case id.
    closing: dict[UUID, str] = field(default_factory=dict)
    # Open overdue cases of parked messages this batch decides again: message id -> case id.
    parked_cases: dict[str, UUID] = field(default_factory=dict)


class _Stale(Exception):
    """A change older than the deletion that tombstoned its record."""


class _Context:
    """What appliers may ask while one message is applied (see appliers.Context)."""

    def __init__(self, engine: IngestEngine, batch: _Batch, change: Change) -> None:
        self.engine = engine
        self.batch = batch
        self.change = change
        self.touched: dict[UUID, int] = {}  # id -> pending events before this message
        self.lineage_before: dict[UUID, dict[str, FieldSource]] = {}
        # Links this change leaves unresolved (key, link); references it names that are known
        # (attribute -> (key, the reference, canonical id)); attributes it clears; prefixes of
        # attributes it reports anew as a whole (an invoice's lines).
        self.held: list[tuple[str, PendingLink]] = []
        self.found: dict[str, list[tuple[str, Ref, UUID]]] = {}
        self.cleared: set[str] = set()
        self.renewed: set[str] = set()

    @cached_property  # asked for several times per change
    def source_ref(self) -> SourceRef:
        c = self.change
        return SourceRef(c.system, c.tenant, c.source_type, c.source_id)

    @property
    def on(self) -> date:
        return self.change.occurred_at.astimezone(UTC).date()

    @property
    def at(self) -> datetime:
        return self.change.occurred_at

    @property
    def rules(self) -> Rules:
        return self.engine.rules

    @property
    def message_id(self) -> str:
        return self.change.message_id

    def ref_key(self, ref: Ref) -> str:
        return ref_key(ref, self.change)

    def resolve(self, ref: Ref, entity: str) -> UUID:
        if ref.system == "hub" and ref.type == entity:
            # The hub's own id, as a source that stores it names it.
            try:
                return UUID(ref.id)
            except ValueError:
                raise Unresolved(f"id:{ref.id}") from None
        key = self.ref_key(ref)
        owner = self.batch.claims.get(key)
        if owner is None:
            raise Unresolved(key)
        if self.batch.claim_entities.get(key) == Tombstone.ENTITY:
            raise Unresolved(key)
        return owner

    def source_of(self, ref: Ref) -> SourceRef:
        """The source record a reference names, in full (system and tenant defaulted)."""
        c = self.change
        return SourceRef(
            ref.system or c.system, c.tenant if ref.tenant is None else ref.tenant, ref.type, ref.id
        )

    def link(self, ref: Ref | None, entity: str, name: str, attribute: str) -> UUID | None:
        """The canonical id a reference names (None: none named, or not known yet).

        A parent the hub does not know yet makes the change wait (Unresolved); one deleted
        at its source before the hub saw it breaks a rule. A link not known yet is held on the
        record as the source named it, and resolves when that record becomes known."""
        if ref is None:
            self.cleared.add(attribute)
            return None
        parent = self.engine.rules.reference_kind(self.change.entity, name) == PARENT
        if ref.system == "hub" and ref.type == entity:
            try:
                return self.resolve(ref, entity)  # the hub's own id
            except Unresolved as unknown:
                if parent:
                    raise
                self.held.append((unknown.key, PendingLink(attribute, entity, self.source_of(ref))))
                return None
        # One key and one lookup per reference: this runs for every reference of every change.
        key = self.ref_key(ref)
        owner = self.batch.claims.get(key)
        gone = owner is not None and self.batch.claim_entities.get(key) == Tombstone.ENTITY
        if parent:
            if gone:
                raise RuleViolationError(
                    f"{name} {ref.type}:{ref.id} was deleted at its source",
                    rule="deleted",
                    field=name,
                )
            if owner is None:
                raise Unresolved(key)
            return owner
        if owner is None or gone:
            self.held.append((key, PendingLink(attribute, entity, self.source_of(ref))))
            return None
        self.found.setdefault(attribute, []).append((key, ref, owner))
        return owner

    def renew(self, prefix: str) -> None:
        """The change reports every reference under `prefix` anew (a draft's lines): links
        held there before and not named again are let go."""
        self.renewed.add(prefix)

    def alias(self, ref: Ref, owner: UUID, entity: str) -> None:
        """Lets a reference resolve to a record from now on (first owner keeps it)."""
        add_claim(self.batch, self.ref_key(ref), owner, entity, strict=False)

    def contract_of(self, engagement_id: UUID) -> UUID:
        key = f"contract_of:{engagement_id}"
        owner = self.batch.claims.get(key) or self.engine.lookup_claim(key, self.batch)
        if owner is None:
            raise Unresolved(key)
        return owner

    def load(self, aggregate_id: UUID, kind: type[Any]) -> Any:
        aggregate = self.engine.working(aggregate_id, self.batch)
        if aggregate is None or not isinstance(aggregate, kind):
            raise Unresolved(f"id:{aggregate_id}")
        self.touch(aggregate)
        return aggregate

    def touch(self, aggregate: CanonicalAggregate) -> None:
        if aggregate.id not in self.touched:
            self.touched[aggregate.id] = len(aggregate.pending_events)


def ref_key(ref: Ref, change: Change) -> str:
    """The claim key a reference resolves through: another record's xref, or a key of the
    hub's own (`Ref(system="hub", type="engagement_code", id=...)` names an engagement code)."""
    if ref.system == "hub" and ref.type == "engagement_code":
        return f"engagement_code:{ref.id}"
    return xref_key(
        ref.system or change.system,
        change.tenant if ref.tenant is None else ref.tenant,
        ref.type,
        ref.id,
    )


def add_claim(batch: _Batch, key: str, owner: UUID, entity: str, strict: bool = True) -> None:
    """Claims a key for a record in this batch (the first owner keeps it)."""
    if key in batch.claims:
        return
    batch.claims[key] = owner
    batch.claim_entities[key] = entity
    batch.new_claims[key] = Claim(key, owner, entity, strict)
    batch.claim_causes[key] = batch.current_message


def create(
    ctx: _Context, change: Change, fields: dict[str, Any], batch: _Batch
) -> CanonicalAggregate:
    """Creates the record a change reports, as a new aggregate of the batch."""
    new_id = source_id(change.entity, ctx.source_ref)
    aggregate = APPLIERS[change.entity].create(ctx, fields, new_id)
    ctx.touch(aggregate)
    ctx.touched[aggregate.id] = 0
    batch.aggregates[aggregate.id] = aggregate
    batch.order.append(aggregate.id)
    return aggregate


def undo(app: HubApplication, ctx: _Context, batch: _Batch) -> None:
    """Takes back what a failed message did to the batch's aggregates."""
    batch.lineage.update(ctx.lineage_before)
    for aggregate_id, before in ctx.touched.items():
        aggregate = batch.aggregates.get(aggregate_id)
        if aggregate is None or len(aggregate.pending_events) == before:
            continue
        kept = aggregate.pending_events[:before]
        if before == 0 and aggregate.version == len(aggregate.pending_events):
            # Created by this very message: forget it.
            del batch.aggregates[aggregate_id]
            batch.order.remove(aggregate_id)
            continue
        fresh = app.find(aggregate_id, CanonicalAggregate)
        for event in kept:
            fresh = event.mutate(fresh)
        assert fresh is not None
        fresh.pending_events.extend(kept)
        batch.aggregates[aggregate_id] = fresh
    for key in [
        k
        for k, claim in batch.new_claims.items()
        if claim.owner_id in ctx.touched and claim.owner_id not in batch.aggregates
    ]:
        del batch.new_claims[key]
        batch.claims.pop(key, None)
