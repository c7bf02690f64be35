"""The ingest engine: a batch of messages in, one transaction of events and outcomes out.

For each message, in arrival order: validate it, drop it as a duplicate if its id was seen
before (at any time: the id is stored with the events it caused), keep it as stale if its
source record already has a newer change, park it if it refers to a record the hub does not
know yet, reject it if it breaks a business rule, and otherwise apply it. Everything the batch
decided commits in one transaction, so a crash anywhere leaves either all of it or none.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.base import CanonicalAggregate
from domain.errors import DomainError, RuleViolationError
from domain.ids import source_id
from domain.tombstone import Tombstone
from domain.values import PendingLink, SourceRef
from hub.application import Claim, HubApplication, client_claims, like_literal
from hub.contracts.changes import CanonicalModel, Ref
from hub.errors import ConflictError, UnknownReferenceError
from hub.exceptions import ExceptionCase
from hub.ingest.appliers import APPLIERS, Incomplete, Unresolved
from hub.ingest.decode import Change, Incoming, Refusal, decode, xref_key
from hub.ingest.links import Held, LinkBook
from hub.ingest.rules import PARENT, FieldSource, Rules, legal_name_key, similar, tax_id_key
from hub.store.recorder import EventMeta

log = logging.getLogger(__name__)

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
        # (attribute -> (key, source record, canonical id)); attributes it clears; prefixes of
        # attributes it reports anew as a whole (an invoice's lines).
        self.held: list[tuple[str, PendingLink]] = []
        self.found: dict[str, list[tuple[str, SourceRef, UUID]]] = {}
        self.cleared: set[str] = set()
        self.renewed: set[str] = set()

    @property
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
        if self.engine.rules.reference_kind(self.change.entity, name) == PARENT:
            key = self.ref_key(ref)
            if self.batch.claim_entities.get(key) == Tombstone.ENTITY:
                raise RuleViolationError(
                    f"{name} {ref.type}:{ref.id} was deleted at its source",
                    rule="deleted",
                    field=name,
                )
            return self.resolve(ref, entity)
        try:
            owner = self.resolve(ref, entity)
        except Unresolved as unknown:
            self.held.append((unknown.key, PendingLink(attribute, entity, self.source_of(ref))))
            return None
        self.found.setdefault(attribute, []).append((self.ref_key(ref), self.source_of(ref), owner))
        return owner

    def renew(self, prefix: str) -> None:
        """The change reports every reference under `prefix` anew (a draft's lines): links
        held there before and not named again are let go."""
        self.renewed.add(prefix)

    def alias(self, ref: Ref, owner: UUID, entity: str) -> None:
        """Lets a reference resolve to a record from now on (first owner keeps it)."""
        self.engine._claim(self.batch, self.ref_key(ref), owner, entity, strict=False)

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


class IngestEngine:
    """Applies batches of canonical change events to the application, one transaction each."""

    def __init__(
        self, app: HubApplication, *, rules: Rules | None = None, max_bytes: int = 1_048_576
    ) -> None:
        self.app = app
        self.rules = rules or Rules()
        self.max_bytes = max_bytes
        recorder = app.hub_recorder
        self._schema = recorder.datastore.schema
        self._datastore = recorder.datastore
        self.links = LinkBook(recorder.datastore)

    # Reading what earlier transactions decided ------------------------------------------

    def _table(self, name: str) -> Identifier:
        return Identifier(self._schema, name)

    def _query(self, statement: SQL, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    def _known_messages(self, ids: list[str]) -> set[str]:
        """Ids decided before; a pending row (noted by the publisher) is not yet decided."""
        if not ids:
            return set()
        rows = self._query(
            SQL(
                "SELECT message_id FROM {} WHERE message_id = ANY(%s) AND outcome <> 'pending'"
            ).format(self._table("hub_ingest_messages")),
            (ids,),
        )
        return {r["message_id"] for r in rows}

    def _load_claims(self, keys: Iterable[str], batch: _Batch) -> None:
        """Loads owners of keys, and for source records the newest sequence applied."""
        wanted = [k for k in set(keys) if k not in batch.claims]
        if not wanted:
            return
        rows = self._query(
            SQL(
                "SELECT key, owner_id, entity, sequence, message_id FROM {} WHERE key = ANY(%s)"
            ).format(self._table("hub_claims")),
            (wanted,),
        )
        for row in rows:
            batch.claims[row["key"]] = row["owner_id"]
            batch.claim_entities[row["key"]] = row["entity"]
            if row["sequence"] is not None:
                batch.sequences[row["key"]] = (row["sequence"], row["message_id"])

    def lookup_claim(self, key: str, batch: _Batch) -> UUID | None:
        self._load_claims([key], batch)
        return batch.claims.get(key)

    def _load_lineage(self, aggregate_id: UUID, batch: _Batch) -> dict[str, FieldSource]:
        if aggregate_id not in batch.lineage:
            rows = self._query(
                SQL("SELECT fields FROM {} WHERE canonical_id = %s").format(
                    self._table("hub_lineage")
                ),
                (aggregate_id,),
            )
            fields = rows[0]["fields"] if rows else {}
            batch.lineage[aggregate_id] = {k: FieldSource.from_json(v) for k, v in fields.items()}
        return batch.lineage[aggregate_id]

    def working(self, aggregate_id: UUID, batch: _Batch) -> Any:
        """The aggregate as this batch has it (taken out of the cache until the batch saves);
        a canonical aggregate or a tombstone."""
        aggregate = batch.aggregates.get(aggregate_id)
        if aggregate is None:
            aggregate = self.app.take(aggregate_id)
            if aggregate is not None:
                batch.aggregates[aggregate_id] = aggregate
                batch.order.append(aggregate_id)
        return aggregate

    # The batch ----------------------------------------------------------------------------

    def process(self, messages: Sequence[Incoming]) -> list[Outcome]:
        """Decides and records a batch; raises on infrastructure failure (nothing recorded)."""
        return self._process(self.decode_all(messages))

    def decode_all(self, messages: Sequence[Incoming]) -> list[Decoded]:
        """Validates each message (a change, or the refusal of it)."""
        return [(decode(m, max_bytes=self.max_bytes), m) for m in messages]

    def process_decoded(self, items: Sequence[Decoded]) -> list[Outcome]:
        """Decides and records a batch validated already."""
        return self._process(list(items))

    def record_poison(self, message: Incoming, text: str) -> Outcome:
        """Records a message that failed on every delivery as dead-lettered, with a case."""
        decoded = decode(message, max_bytes=self.max_bytes)
        refusal = Refusal("PROCESSING_FAILED", text, "", decoded.message_id)
        return self._process([(refusal, message)])[0]

    def retry(self, message: Incoming, message_id: str) -> list[Outcome]:
        """Decides a stored message again (a person asked): its earlier outcome is replaced."""
        return self._process(
            [(decode(message, max_bytes=self.max_bytes), message)], unparked=[message_id]
        )

    def parked_count(self) -> int:
        """How many changes wait for a record they refer to."""
        rows = self._query(
            SQL("SELECT count(*) AS n FROM {}").format(self._table("hub_ingest_parked")), ()
        )
        return int(rows[0]["n"])

    def _process(
        self,
        items: list[tuple[Change | Refusal, Incoming]],
        unparked: Sequence[str] = (),
        parked_cases: dict[str, UUID] | None = None,
    ) -> list[Outcome]:
        batch = _Batch(unparked=list(unparked), parked_cases=dict(parked_cases or {}))
        changes = [d for d, _ in items if isinstance(d, Change)]
        # Parked changes are known by their id already; everything else is checked.
        known = set() if unparked else self._known_messages([c.message_id for c in changes])
        self._load_claims(self._claim_keys(changes), batch)
        # The records this batch changes, read together rather than one by one.
        self.app.preload({o for c in changes if (o := batch.claims.get(c.record_key))})
        outcomes: list[Outcome] = []
        seen: set[str] = set()
        for decoded, message in items:
            if isinstance(decoded, Refusal):
                outcomes.append(self._dead_letter(decoded, message, batch))
            elif decoded.message_id in known or decoded.message_id in seen:
                outcomes.append(
                    Outcome(
                        decoded.message_id,
                        decoded.subject,
                        DUPLICATE,
                        "DUPLICATE",
                        REDELIVERED,
                        change=decoded,
                    )
                )
            else:
                seen.add(decoded.message_id)
                outcomes.append(self._decide(decoded, batch))
        self._resolve_waiting(batch)
        for outcome in outcomes:
            case_id = batch.parked_cases.get(outcome.message_id)
            if case_id is not None and outcome.outcome != PARKED:
                batch.closing[case_id] = (
                    f"{outcome.outcome}: {outcome.detail or 'the record arrived'}"
                )
        self._record(batch, outcomes)
        return outcomes

    def _claim_keys(self, changes: list[Change]) -> set[str]:
        keys: set[str] = set()
        for change in changes:
            keys.add(change.record_key)
            for ref in _refs(change.data):
                keys.add(ref_key(ref, change))
        return keys

    def _decide(self, change: Change, batch: _Batch) -> Outcome:
        outcome = Outcome(change.message_id, change.subject, APPLIED, change=change, raw=change.raw)
        if change.sequence is not None:
            last = batch.sequences.get(change.record_key)
            if last is not None and change.sequence < last[0]:
                outcome.outcome, outcome.reason = STALE, "STALE"
                outcome.detail = f"sequence {change.sequence} is older than {last[0]}"
                outcome.canonical_ids = _owner(batch, change)
                return outcome
            if last is not None and change.sequence == last[0]:
                outcome.outcome, outcome.reason = DUPLICATE, "DUPLICATE"
                outcome.detail = f"sequence {change.sequence} was applied by {last[1]}"
                outcome.canonical_ids = _owner(batch, change)
                return outcome
        ctx = _Context(self, batch, change)
        batch.current_message = change.message_id
        try:
            touched = self._apply(ctx, change, batch)
        except _Stale as stale:
            self._undo(ctx, batch)
            outcome.outcome, outcome.reason, outcome.detail = STALE, "STALE", str(stale)
            outcome.canonical_ids = _owner(batch, change)
            return outcome
        except Unresolved as wait:
            self._undo(ctx, batch)
            outcome.outcome, outcome.reason, outcome.waiting_for = (
                PARKED,
                "UNKNOWN_AGGREGATE",
                wait.key,
            )
            outcome.detail = f"waiting for {wait.key}"
            return outcome
        except Incomplete as incomplete:
            self._undo(ctx, batch)
            outcome.outcome, outcome.reason = PARKED, "UNKNOWN_AGGREGATE"
            outcome.waiting_for = change.record_key
            outcome.detail = f"{incomplete}; waiting for the full record"
            return outcome
        except DomainError as error:
            self._undo(ctx, batch)
            outcome.outcome, outcome.reason = REJECTED, error.reason
            outcome.detail = f"{error.rule + ': ' if error.rule else ''}{error.message}"
            outcome.canonical_ids = _owner(batch, change)
            batch.cases.append(
                ExceptionCase.open(
                    message_id=change.message_id,
                    reason=error.reason,
                    rule=error.rule,
                    detail=error.message,
                    entity=change.entity,
                    system=change.system,
                    subject=change.subject,
                    canonical_ids=outcome.canonical_ids,
                )
            )
            return outcome
        if change.sequence is not None:
            key, order = change.record_key, (change.sequence, change.message_id)
            batch.sequences[key] = order
            claim = batch.new_claims.get(key)
            if claim is not None:
                # The record's claim is new in this batch: it carries its order itself.
                batch.new_claims[key] = replace(claim, sequence=order[0], message_id=order[1])
            else:
                batch.new_sequences[key] = order
        meta = EventMeta(
            system=change.system,
            actor=f"ingest:{change.system}",
            message_id=change.message_id,
            correlation_id=change.message_id,
            causation_id=change.message_id,
            occurred_at=change.occurred_at,
        )
        for aggregate_id, before in ctx.touched.items():
            aggregate = batch.aggregates[aggregate_id]
            for event in aggregate.pending_events[before:]:
                batch.meta[(event.originator_id, event.originator_version)] = meta
        outcome.canonical_ids = touched
        return outcome

    def _apply(self, ctx: _Context, change: Change, batch: _Batch) -> list[UUID]:
        applier = APPLIERS[change.entity]
        fields = change.data.reported()
        fields.pop("id", None)
        target_id = batch.claims.get(change.record_key)
        tombstone = self._tombstone(change, batch)
        if change.deleted:
            if tombstone is not None:
                return [tombstone.id]  # deleted again: nothing new
            if target_id is None:
                return self._bury(ctx, change, batch)
            aggregate = ctx.load(target_id, applier.kind)
            aggregate.delete(getattr(change.data, "reason", "source_deleted"))
            return [aggregate.id]
        if tombstone is not None:
            return self._revive(ctx, change, fields, tombstone, batch)
        if target_id is None and change.partial:
            # Never a record from a partial update: wait for (and fetch) the full record.
            raise Incomplete(["the full record (this change reports only what changed)"])
        if target_id is None:
            target_id = self._match(ctx, change, fields, batch)
        if target_id is None:
            aggregate = self._create(ctx, change, fields, batch)
            self._claim(batch, change.record_key, aggregate.id, change.entity)
            self._claim_natural_keys(batch, change, aggregate, fields)
            self._settle_links(ctx, aggregate, batch)
            return [aggregate.id]
        aggregate = ctx.load(target_id, applier.kind)
        if aggregate.deleted:
            aggregate.restore()
        aggregate.add_xref(ctx.source_ref)
        self._claim(batch, change.record_key, aggregate.id, change.entity)
        fields = self._surviving(ctx, change, aggregate, fields, batch)
        applier.update(ctx, aggregate, fields)
        self._claim_natural_keys(batch, change, aggregate, fields)
        self._settle_links(ctx, aggregate, batch)
        return [aggregate.id]

    def _create(
        self, ctx: _Context, change: Change, fields: dict[str, Any], batch: _Batch
    ) -> CanonicalAggregate:
        new_id = source_id(change.entity, ctx.source_ref)
        aggregate = APPLIERS[change.entity].create(ctx, fields, new_id)
        ctx.touch(aggregate)
        ctx.touched[aggregate.id] = 0
        batch.aggregates[aggregate.id] = aggregate
        batch.order.append(aggregate.id)
        return aggregate

    # Tombstones of records never seen ---------------------------------------------------------

    def _tombstone(self, change: Change, batch: _Batch) -> Tombstone | None:
        """The tombstone the change's source record is claimed by, if it is one."""
        if batch.claim_entities.get(change.record_key) != Tombstone.ENTITY:
            return None
        found = self.working(batch.claims[change.record_key], batch)
        return found if isinstance(found, Tombstone) else None

    def _bury(self, ctx: _Context, change: Change, batch: _Batch) -> list[UUID]:
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
        self._claim(batch, change.record_key, tombstone.id, Tombstone.ENTITY)
        return [tombstone.id]

    def _revive(
        self,
        ctx: _Context,
        change: Change,
        fields: dict[str, Any],
        tombstone: Tombstone,
        batch: _Batch,
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
        target_id = self._match(ctx, change, fields, batch)
        if target_id is None:
            aggregate = self._create(ctx, change, fields, batch)
        else:
            aggregate = ctx.load(target_id, APPLIERS[change.entity].kind)
            aggregate.add_xref(ctx.source_ref)
            APPLIERS[change.entity].update(
                ctx, aggregate, self._surviving(ctx, change, aggregate, fields, batch)
            )
        ctx.touch(tombstone)  # type: ignore[arg-type]
        tombstone.revive(aggregate.id)
        batch.claims[change.record_key] = aggregate.id
        batch.claim_entities[change.record_key] = change.entity
        batch.repointed[change.record_key] = (aggregate.id, change.entity)
        batch.claim_causes[change.record_key] = change.message_id
        self._claim_natural_keys(batch, change, aggregate, fields)
        self._settle_links(ctx, aggregate, batch)
        return [aggregate.id]

    # Links ------------------------------------------------------------------------------------

    def _settle_links(self, ctx: _Context, aggregate: CanonicalAggregate, batch: _Batch) -> None:
        """Holds the links a change left unresolved, resolves the held ones it names known
        records for, and lets go of those it clears or names no more."""
        held = {link for _, link in ctx.held}
        for pending in list(aggregate.pending_links):
            if pending in held:
                continue
            found = [
                (key, owner)
                for key, ref, owner in ctx.found.get(pending.field, ())
                if ref == pending.ref
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
            replaced = [
                h for h in aggregate.pending_links if not link.many and h.field == link.field
            ]
            aggregate.hold_link(link)
            if replaced:
                batch.dropped.append((aggregate.id, link.field))
            batch.held.append(Held(key, aggregate.id, aggregate.ENTITY, link))

    def _resolve_waiting(self, batch: _Batch) -> None:
        """Resolves the links that wait for the keys this batch claimed."""
        claimed = {k: (c.owner_id, c.entity) for k, c in batch.new_claims.items()}
        claimed.update(batch.repointed)
        if not claimed:
            return
        fresh = [h for h in batch.held if h.key in claimed]
        waiting = [*self.links.waiting_for(list(claimed)), *fresh]
        for held in waiting:
            owner, entity = claimed[held.key]
            if entity != held.link.entity:
                continue
            holder = self.working(held.holder_id, batch)
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

    # Matching and survivorship ------------------------------------------------------------

    def _match(
        self, ctx: _Context, change: Change, fields: dict[str, Any], batch: _Batch
    ) -> UUID | None:
        rules = self.rules.matches_by(change.entity)
        if change.entity == "client":
            country = fields.get("country")
            keys = []
            if "external_ref" in rules:
                keys.extend(ctx.ref_key(ref) for ref in fields.get("external_refs") or [])
            if "tax_id" in rules and fields.get("tax_id"):
                keys.append(f"client_tax:{tax_id_key(fields['tax_id'])}")
            if "legal_name_country" in rules and fields.get("legal_name") and country:
                keys.append(f"client_name:{country}|{legal_name_key(fields['legal_name'])}")
            for key in keys:
                owner = batch.claims.get(key) or self.lookup_claim(key, batch)
                if owner is not None:
                    return owner
            if fields.get("legal_name") and country:
                self._flag_probable_client(change, fields, batch)
        elif change.entity == "engagement" and "external_ref" in rules:
            for ref in fields.get("external_refs") or []:
                owner = batch.claims.get(ctx.ref_key(ref)) or self.lookup_claim(
                    ctx.ref_key(ref), batch
                )
                if owner is not None:
                    return owner
        return None

    def _flag_probable_client(self, change: Change, fields: dict[str, Any], batch: _Batch) -> None:
        country, name = fields["country"], legal_name_key(fields["legal_name"])
        # Candidates share the first four letters (a blocking key: an index range, not a scan).
        prefix = f"client_name:{country}|{name[:4]}"
        rows = self._query(
            SQL("SELECT key, owner_id FROM {} WHERE key LIKE %s LIMIT 500").format(
                self._table("hub_claims")
            ),
            (like_literal(prefix) + "%",),
        )
        start = len(f"client_name:{country}|")
        candidates = {r["key"][start:]: r["owner_id"] for r in rows}
        candidates.update({k[start:]: v for k, v in batch.claims.items() if k.startswith(prefix)})
        best, score = None, 0.0
        for other, owner in candidates.items():
            # Names that differ in a number ("Fund II", "Office 12") are different parties.
            if owner == batch.claims.get(change.record_key) or _digits(other) != _digits(name):
                continue
            ratio = similar(name, other)
            if ratio > score:
                best, score = other, ratio
        if best is not None and score >= self.rules.probable_ratio:
            batch.cases.append(
                ExceptionCase.open(
                    message_id=change.message_id,
                    reason="PROBABLE_MATCH",
                    rule="probable_match",
                    detail=f"'{fields['legal_name']}' resembles '{best}' ({country}); recorded as "
                    "a new client: merge them if they are the same",
                    entity="client",
                    system=change.system,
                    subject=change.subject,
                    canonical_ids=[candidates[best]],
                )
            )

    def _surviving(
        self,
        ctx: _Context,
        change: Change,
        aggregate: CanonicalAggregate,
        fields: dict[str, Any],
        batch: _Batch,
    ) -> dict[str, Any]:
        systems = {x.system for x in aggregate.xrefs}
        if len(systems) < 2:
            return fields
        lineage = self._load_lineage(aggregate.id, batch)
        ctx.lineage_before.setdefault(aggregate.id, dict(lineage))
        if not lineage:
            # Newly multi-source: what it holds so far came from its first system.
            # The first system's values carry no source time we kept: rank decides against
            # them, and among equals the newcomer's change is the more recent.
            first = aggregate.xrefs[0].system
            since = datetime.min.replace(tzinfo=UTC)
            lineage.update({name: FieldSource(first, since) for name in fields})
        kept = {}
        for name, value in fields.items():
            if self.rules.survives(
                change.entity, name, change.system, change.occurred_at, lineage.get(name)
            ):
                kept[name] = value
                lineage[name] = FieldSource(change.system, change.occurred_at)
        batch.lineage_dirty.add(aggregate.id)
        return kept

    # Claims -------------------------------------------------------------------------------

    def _claim(
        self, batch: _Batch, key: str, owner: UUID, entity: str, strict: bool = True
    ) -> None:
        if key in batch.claims:
            return
        batch.claims[key] = owner
        batch.claim_entities[key] = entity
        batch.new_claims[key] = Claim(key, owner, entity, strict)
        batch.claim_causes[key] = batch.current_message

    def _claim_natural_keys(
        self, batch: _Batch, change: Change, aggregate: Any, fields: dict[str, Any]
    ) -> None:
        if change.entity == "client":
            for claim in client_claims(aggregate):
                self._claim(batch, claim.key, claim.owner_id, "client", strict=False)
            for ref in fields.get("external_refs") or []:
                self._claim(batch, ref_key(ref, change), aggregate.id, "client", strict=False)
        elif change.entity == "engagement":
            self._claim(
                batch, f"engagement_code:{aggregate.code}", aggregate.id, "engagement", strict=False
            )
            for ref in fields.get("external_refs") or []:
                self._claim(batch, ref_key(ref, change), aggregate.id, "engagement", strict=False)
        elif change.entity == "contract":
            self._claim(
                batch,
                f"contract_of:{aggregate.engagement_id}",
                aggregate.id,
                "contract",
                strict=False,
            )

    # Undo and dead letters ------------------------------------------------------------------

    def _undo(self, ctx: _Context, batch: _Batch) -> None:
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
            fresh = self.app.find(aggregate_id, CanonicalAggregate)
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

    def _dead_letter(self, refusal: Refusal, message: Incoming, batch: _Batch) -> Outcome:
        message_id = refusal.message_id or "sha256:" + hashlib.sha256(message.data).hexdigest()
        parts = message.subject.split(".")
        outcome = Outcome(
            message_id,
            message.subject,
            DEAD_LETTERED,
            refusal.reason,
            refusal.text,
            refusal=refusal,
            raw=message.data,
        )
        batch.cases.append(
            ExceptionCase.open(
                message_id=message_id,
                reason=refusal.reason,
                rule=refusal.field,
                detail=refusal.text,
                system=parts[1] if len(parts) > 1 else "",
                entity=parts[2] if len(parts) > 2 else "",
                subject=message.subject,
            )
        )
        return outcome

    # Recording ----------------------------------------------------------------------------

    def _record(self, batch: _Batch, outcomes: list[Outcome]) -> int | None:
        """Commits what the batch decided; returns the last position it recorded, if any."""
        aggregates = [
            batch.aggregates[i] for i in batch.order if batch.aggregates[i].pending_events
        ]
        for case in batch.cases:
            if self.app.find(case.id, ExceptionCase) is None:
                aggregates.append(case)  # type: ignore[arg-type]
        closed = []
        for case_id, note in batch.closing.items():
            case = self.app.find(case_id, ExceptionCase)
            if case is not None and case.status == "open":
                case.resolve(by="ingest", note=note[:2000])
                closed.append(case)
        aggregates.extend(closed)  # type: ignore[arg-type]
        meta: dict[tuple[UUID, int], EventMeta] = dict(batch.meta)
        for case in [*batch.cases, *closed]:
            for event in case.pending_events:
                meta[(event.originator_id, event.originator_version)] = EventMeta(
                    system="hub",
                    actor="ingest",
                    message_id=case.message_id,
                    correlation_id=case.message_id,
                    causation_id=case.message_id,
                )
        write = self._outcome_writer(batch, outcomes)
        if aggregates:
            return self.app.record(
                *aggregates, meta=meta, claims=list(batch.new_claims.values()), extra_writes=[write]
            )
        else:
            with self._datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
                # The same role as appends use, so both paths share the scratch table.
                role = self.app.hub_recorder.append_role
                if role:
                    cur.execute(SQL("SET LOCAL ROLE {}").format(Identifier(role)))
                write(cur, [])
        return None

    def _outcome_writer(self, batch: _Batch, outcomes: list[Outcome]) -> Any:
        now = datetime.now(UTC)
        table = self._table

        messages = table("hub_ingest_messages")

        def write(cur: Cursor[DictRow], positions: Sequence[int]) -> None:
            position = positions[-1] if positions else None
            fresh, repeated = [], []
            for o in outcomes:
                c = o.change
                if o.detail == REDELIVERED:
                    repeated.append((now, o.message_id))
                    continue
                fresh.append(
                    (
                        o.message_id,
                        o.subject or (c.subject if c else ""),
                        c.system if c else None,
                        c.tenant if c else None,
                        c.entity if c else None,
                        c.source_type if c else None,
                        c.source_id if c else None,
                        c.sequence if c else None,
                        o.outcome,
                        o.reason,
                        o.detail[:2000],
                        # An array literal: psycopg's list dumper is Python code per element.
                        "{" + ",".join(map(str, o.canonical_ids)) + "}",
                        position if o.outcome == APPLIED else None,
                        now,
                        now,
                        # Kept for audit and for a retry: what was not applied, as it came.
                        None if o.outcome == APPLIED else (o.raw or (c.raw if c else None)),
                    )
                )
            if fresh:
                # COPY into a per-connection scratch table, then one upsert: a parked or
                # pending message already has its row.
                cur.execute(
                    SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS pshub_incoming "
                        "(LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                    ).format(messages)
                )
                with cur.copy(
                    SQL(
                        "COPY pshub_incoming (message_id, subject, system, tenant, entity, "
                        "source_type, source_id, sequence, outcome, reason, detail, canonical_ids, "
                        "position, received_at, decided_at, payload) FROM STDIN"
                    )
                ) as copy:
                    for row in fresh:
                        copy.write_row(row)
                cur.execute(
                    SQL(
                        "INSERT INTO {} SELECT * FROM pshub_incoming "
                        "ON CONFLICT (message_id) DO UPDATE SET outcome = EXCLUDED.outcome, "
                        "reason = EXCLUDED.reason, detail = EXCLUDED.detail, "
                        "canonical_ids = EXCLUDED.canonical_ids, position = EXCLUDED.position, "
                        "decided_at = EXCLUDED.decided_at, payload = EXCLUDED.payload, "
                        "deliveries = {}.deliveries + "
                        "CASE WHEN {}.outcome = 'pending' THEN 0 ELSE 1 END"
                    ).format(messages, messages, messages)
                )
            if repeated:
                cur.executemany(
                    SQL(
                        "UPDATE {} SET deliveries = deliveries + 1, decided_at = %s "
                        "WHERE message_id = %s"
                    ).format(table("hub_ingest_messages")),
                    repeated,
                )
            if batch.new_sequences:
                # The source record's claim (inserted above when new) holds its order.
                cur.executemany(
                    SQL("UPDATE {} SET sequence = %s, message_id = %s WHERE key = %s").format(
                        table("hub_claims")
                    ),
                    [(seq, mid, key) for key, (seq, mid) in batch.new_sequences.items()],
                )
            parked = [
                (o.message_id, o.waiting_for, o.subject, o.raw, now)
                for o in outcomes
                if o.outcome == PARKED
            ]
            if parked:
                cur.executemany(
                    SQL(
                        "INSERT INTO {} (message_id, waiting_for, subject, payload, parked_at) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_id) DO UPDATE SET "
                        "waiting_for = EXCLUDED.waiting_for"
                    ).format(table("hub_ingest_parked")),
                    parked,
                )
            done = [(o.message_id,) for o in outcomes if o.outcome != PARKED]
            if batch.unparked and done:
                cur.executemany(
                    SQL("DELETE FROM {} WHERE message_id = %s").format(table("hub_ingest_parked")),
                    done,
                )
            if batch.lineage_dirty:
                cur.executemany(
                    SQL(
                        "INSERT INTO {} (canonical_id, fields) VALUES (%s, %s) "
                        "ON CONFLICT (canonical_id) DO UPDATE SET fields = EXCLUDED.fields"
                    ).format(table("hub_lineage")),
                    [
                        (i, json.dumps({k: v.as_json() for k, v in batch.lineage[i].items()}))
                        for i in batch.lineage_dirty
                    ],
                )
            if batch.held or batch.dropped or batch.resolved:
                self.links.write(
                    cur,
                    held=batch.held,
                    dropped=batch.dropped,
                    resolved=batch.resolved,
                    now=now,
                )
            if batch.repointed:
                # A revived record takes over the xref its tombstone claimed.
                cur.executemany(
                    SQL("UPDATE {} SET owner_id = %s, entity = %s WHERE key = %s").format(
                        table("hub_claims")
                    ),
                    [(owner, entity, key) for key, (owner, entity) in batch.repointed.items()],
                )

        return write

    # Stewardship --------------------------------------------------------------------------

    def map_xref(self, ref: SourceRef, canonical_id: UUID, *, actor: str) -> MappedXref:
        """Maps a source record the hub could not resolve to a golden record: it becomes an
        xref of that record, and every link waiting for it resolves in the same transaction
        (parked changes waiting for it are applied afterwards, by `unpark`)."""
        batch = _Batch()
        key = xref_key(*ref.key)
        self._load_claims([key], batch)
        owner = batch.claims.get(key)
        target = self.working(canonical_id, batch)
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
        waiting = self.links.waiting_for([key])
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
        self._claim(batch, key, canonical_id, target.ENTITY)
        self._resolve_waiting(batch)
        resolved = sorted({holder for _, holder, _ in batch.resolved}, key=str)
        position = self._record(batch, [])
        return MappedXref(target, position, resolved)

    def sweep_overdue(
        self, grace: timedelta, *, now: datetime | None = None, limit: int = 500
    ) -> list[UUID]:
        """Opens an exception case for each parked change and held link that has waited
        longer than `grace`, naming what it waits for; returns the cases opened. The case
        closes by itself when the record arrives."""
        before = (now or datetime.now(UTC)) - grace
        parked = self._query(
            SQL(
                "SELECT message_id, waiting_for, subject, parked_at FROM {} "
                "WHERE parked_at < %s AND case_id IS NULL ORDER BY arrival LIMIT %s"
            ).format(self._table("hub_ingest_parked")),
            (before, limit),
        )
        overdue = self.links.overdue(before, limit)
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
            )
            opened.append((case, held))
        if not opened:
            return []
        fresh = [c for c, _ in opened if self.app.find(c.id, ExceptionCase) is None]
        links_table, parked_table = self.links, self._table("hub_ingest_parked")

        def mark(cur: Cursor[DictRow], _: Sequence[int]) -> None:
            cur.executemany(
                SQL("UPDATE {} SET case_id = %s WHERE message_id = %s").format(parked_table),
                [(c.id, m) for c, m in opened if isinstance(m, str)],
            )
            links_table.mark_cases(cur, [(c.id, h) for c, h in opened if isinstance(h, Held)])

        meta = EventMeta(system="hub", actor="ingest:overdue")
        if fresh:
            self.app.record(*fresh, meta=meta, extra_writes=[mark])  # type: ignore[arg-type]
        else:
            with self._datastore.transaction(commit=True) as cur:
                mark(cur, [])
        return [c.id for c in fresh]

    # Parked changes ---------------------------------------------------------------------

    def unpark(self, limit: int = 1000) -> list[Outcome]:
        """Applies parked changes whose record is known now, in arrival order."""
        results: list[Outcome] = []
        while True:
            rows = self._query(
                SQL(
                    "SELECT p.message_id, p.subject, p.payload, p.case_id FROM {} p "
                    "WHERE EXISTS (SELECT 1 FROM {} c WHERE c.key = p.waiting_for) "
                    "ORDER BY p.arrival LIMIT %s"
                ).format(self._table("hub_ingest_parked"), self._table("hub_claims")),
                (limit,),
            )
            if not rows:
                return results
            items = []
            for row in rows:
                incoming = Incoming(row["subject"], bytes(row["payload"]), {})
                items.append((decode(incoming, max_bytes=self.max_bytes), incoming))
            cases = {r["message_id"]: r["case_id"] for r in rows if r["case_id"] is not None}
            outcomes = self._process(
                items, unparked=[r["message_id"] for r in rows], parked_cases=cases
            )
            results.extend(outcomes)
            if all(o.outcome == PARKED for o in outcomes):
                return results


@dataclass(frozen=True)
class MappedXref:
    """What a steward's map-xref did: the record, the log position (None: it was mapped
    already), and the records whose links resolved."""

    record: CanonicalAggregate
    position: int | None
    resolved: list[UUID]


def _describe(key: str) -> str:
    """A claim key as people read it: harvest:Project:123 (tenant t1)."""
    if key.startswith("xref:"):
        system, tenant, type_, source = key[5:].split("|", 3)
        return f"{system}:{type_}:{source}" + (f" (tenant {tenant})" if tenant else "")
    return key


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


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


def _owner(batch: _Batch, change: Change) -> list[UUID]:
    owner = batch.claims.get(change.record_key)
    return [owner] if owner else []


def _refs(model: CanonicalModel) -> Iterable[Ref]:
    for name in model.model_fields_set:
        value = getattr(model, name)
        yield from _refs_in(value)


def _refs_in(value: Any) -> Iterable[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, CanonicalModel):
        yield from _refs(value)
    elif isinstance(value, list):
        for item in value:
            yield from _refs_in(item)
