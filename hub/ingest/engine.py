"""The ingest engine: a batch of messages in, one transaction of events and outcomes out.

For each message, in arrival order: validate it, drop it as a duplicate if its id was seen
before (at any time: the id is stored with the events it caused), keep it as stale if its
source record already has a newer change, park it if it refers to a record the hub does not
know yet, reject it if it breaks a business rule, and otherwise apply it. Everything the batch
decided commits in one transaction, so a crash anywhere leaves either all of it or none.

The engine holds the order of these decisions; beside it are the batch's working state
(`batch`), the reads of earlier decisions (`tables`), matching and survivorship (`matching`),
links and tombstones (`references`), the recording of outcomes (`outcomes`) and stewardship
(`stewardship`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from psycopg.sql import SQL

from domain.errors import DomainError
from domain.values import SourceRef
from hub.application import HubApplication
from hub.contracts.changes import CanonicalModel, Ref
from hub.errors import ConflictError
from hub.exception_placing import placement
from hub.exceptions import ExceptionCase
from hub.ingest import stewardship
from hub.ingest.appliers import APPLIERS, Incomplete, Unresolved
from hub.ingest.batch import (
    APPLIED,
    DEAD_LETTERED,
    DUPLICATE,
    PARKED,
    REDELIVERED,
    REJECTED,
    STALE,
    Decoded,
    Outcome,
    _Batch,
    _Context,
    _Stale,
    add_claim,
    create,
    ref_key,
    undo,
)
from hub.ingest.decode import Change, Incoming, Refusal, decode
from hub.ingest.links import LinkBook
from hub.ingest.matching import claim_natural_keys, match, surviving
from hub.ingest.outcomes import dead_letter, record
from hub.ingest.references import bury, resolve_waiting, revive, settle_links, tombstone_of
from hub.ingest.rules import Rules
from hub.ingest.stewardship import MappedXref
from hub.ingest.tables import IngestTables
from hub.store.recorder import EventMeta

# Names other modules import from here (the engine's outcomes and its working state's keys).
__all__ = [
    "APPLIED",
    "DEAD_LETTERED",
    "DUPLICATE",
    "PARKED",
    "REDELIVERED",
    "REJECTED",
    "STALE",
    "Decoded",
    "IngestEngine",
    "MappedXref",
    "Outcome",
    "ref_key",
]

log = logging.getLogger(__name__)
# Attempts of a map-xref whose record another writer changed meanwhile (IngestEngine.map_xref).
MAP_XREF_TRIES = 5


class IngestEngine:
    """Applies batches of canonical change events to the application, one transaction each."""

    def __init__(
        self, app: HubApplication, *, rules: Rules | None = None, max_bytes: int = 1_048_576
    ) -> None:
        self.app = app
        self.rules = rules or Rules()
        self.max_bytes = max_bytes
        recorder = app.hub_recorder
        self._tables = IngestTables(recorder.datastore)
        self.links = LinkBook(recorder.datastore)

    # The batch's records -----------------------------------------------------------------

    def lookup_claim(self, key: str, batch: _Batch) -> UUID | None:
        return self._tables.lookup_claim(key, batch)

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
        rows = self._tables.query(
            SQL("SELECT count(*) AS n FROM {}").format(self._tables.table("hub_ingest_parked")), ()
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
        known = set() if unparked else self._tables.known_messages([c.message_id for c in changes])
        self._tables.load_claims(self._claim_keys(changes), batch)
        # The records this batch changes, read together rather than one by one.
        self.app.preload({o for c in changes if (o := batch.claims.get(c.record_key))})
        outcomes: list[Outcome] = []
        seen: set[str] = set()
        for decoded, message in items:
            if isinstance(decoded, Refusal):
                outcomes.append(dead_letter(decoded, message, batch))
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
        resolve_waiting(self, batch)
        for outcome in outcomes:
            case_id = batch.parked_cases.get(outcome.message_id)
            if case_id is not None and outcome.outcome != PARKED:
                batch.closing[case_id] = (
                    f"{outcome.outcome}: {outcome.detail or 'the record arrived'}"
                )
        record(self.app, self._tables, self.links, batch, outcomes)
        return outcomes

    def _refreshed(self, ctx: _Context, batch: _Batch) -> bool:
        """Whether a refused change was decided on a copy another process has changed since
        this one read it; if so, the change is undone and the copies read again. (The cache
        is not fast-forwarded: a stale copy otherwise shows only as a conflict at the save,
        and a refusal saves nothing of it.)"""
        stale = self._stale_copies(ctx, batch)
        if not stale:
            return False
        undo(self.app, ctx, batch)
        for aggregate_id in stale:
            batch.aggregates[aggregate_id] = self.app.find_any(aggregate_id)
        return True

    def _stale_copies(self, ctx: _Context, batch: _Batch) -> list[UUID]:
        """The records a refused change was decided on that this batch had not changed before
        it and that are older than the store holds (another process wrote them since)."""
        bases = {}
        for aggregate_id, before in ctx.touched.items():
            aggregate = batch.aggregates.get(aggregate_id)
            if before == 0 and aggregate is not None:
                base = aggregate.version - len(aggregate.pending_events)  # the stored version
                if base > 0:
                    bases[aggregate_id] = base
        if not bases:
            return []
        stored = self.app.hub_recorder.select_versions(list(bases))
        return [i for i, base in bases.items() if stored.get(i, base) > base]

    def _claim_keys(self, changes: list[Change]) -> set[str]:
        keys: set[str] = set()
        for change in changes:
            keys.add(change.record_key)
            for ref in _refs(change.data):
                keys.add(ref_key(ref, change))
        return keys

    def _decide(self, change: Change, batch: _Batch, *, again: bool = False) -> Outcome:
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
            undo(self.app, ctx, batch)
            outcome.outcome, outcome.reason, outcome.detail = STALE, "STALE", str(stale)
            outcome.canonical_ids = _owner(batch, change)
            return outcome
        except Unresolved as wait:
            undo(self.app, ctx, batch)
            outcome.outcome, outcome.reason, outcome.waiting_for = (
                PARKED,
                "UNKNOWN_AGGREGATE",
                wait.key,
            )
            outcome.detail = f"waiting for {wait.key}"
            return outcome
        except Incomplete as incomplete:
            undo(self.app, ctx, batch)
            outcome.outcome, outcome.reason = PARKED, "UNKNOWN_AGGREGATE"
            outcome.waiting_for = change.record_key
            outcome.detail = f"{incomplete}; waiting for the full record"
            return outcome
        except DomainError as error:
            if not again and self._refreshed(ctx, batch):
                return self._decide(change, batch, again=True)
            undo(self.app, ctx, batch)
            outcome.outcome, outcome.reason = REJECTED, error.reason
            outcome.detail = f"{error.rule + ': ' if error.rule else ''}{error.message}"
            outcome.canonical_ids = _owner(batch, change)
            # Its region and legal entity route the case (the routing table).
            region, legal_entity = placement(self.app, batch, change)
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
                    region=region,
                    legal_entity=legal_entity,
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
        tombstone = tombstone_of(self, change, batch)
        if change.deleted:
            if tombstone is not None:
                return [tombstone.id]  # deleted again: nothing new
            if target_id is None:
                return bury(ctx, change, batch)
            aggregate = ctx.load(target_id, applier.kind)
            aggregate.delete(getattr(change.data, "reason", "source_deleted"))
            return [aggregate.id]
        if tombstone is not None:
            return revive(ctx, change, fields, tombstone, batch, self._tables)
        if target_id is None and change.partial:
            # Never a record from a partial update: wait for (and fetch) the full record.
            raise Incomplete(["the full record (this change reports only what changed)"])
        if target_id is None:
            target_id = match(ctx, change, fields, batch, self._tables)
        if target_id is None:
            aggregate = create(ctx, change, fields, batch)
            add_claim(batch, change.record_key, aggregate.id, change.entity)
            claim_natural_keys(batch, change, aggregate, fields)
            settle_links(ctx, aggregate, batch)
            return [aggregate.id]
        aggregate = ctx.load(target_id, applier.kind)
        if aggregate.deleted:
            aggregate.restore()
        aggregate.add_xref(ctx.source_ref)
        add_claim(batch, change.record_key, aggregate.id, change.entity)
        fields = surviving(ctx, change, aggregate, fields, batch, self._tables)
        applier.update(ctx, aggregate, fields)
        claim_natural_keys(batch, change, aggregate, fields)
        settle_links(ctx, aggregate, batch)
        return [aggregate.id]

    # Stewardship --------------------------------------------------------------------------

    def map_xref(self, ref: SourceRef, canonical_id: UUID, *, actor: str) -> MappedXref:
        """Maps a source record the hub could not resolve to a golden record (its xref).

        The record may change between reading and recording it (a feed's acknowledgement
        adds its own xref at any moment): that collision is tried again on the record as it
        now stands, where every check is made afresh; a claim another record holds is not."""
        for attempt in range(1, MAP_XREF_TRIES + 1):
            try:
                return stewardship.map_xref(self, self._tables, ref, canonical_id, actor=actor)
            except ConflictError as exc:
                if attempt == MAP_XREF_TRIES or not isinstance(exc.__cause__, IntegrityError):
                    raise
                log.info("map-xref of %s collided with another write; again", ref)
        raise AssertionError("unreachable")

    def sweep_overdue(
        self, grace: timedelta, *, now: datetime | None = None, limit: int = 500
    ) -> list[UUID]:
        """Opens an exception case for each parked change and held link waiting too long."""
        return stewardship.sweep_overdue(self, self._tables, grace, now=now, limit=limit)

    # Parked changes ---------------------------------------------------------------------

    def unpark(self, limit: int = 1000) -> list[Outcome]:
        """Applies parked changes whose record is known now, in arrival order."""
        results: list[Outcome] = []
        while True:
            rows = self._tables.query(
                SQL(
                    "SELECT p.message_id, p.subject, p.payload, p.case_id FROM {} p "
                    "WHERE EXISTS (SELECT 1 FROM {} c WHERE c.key = p.waiting_for) "
                    "ORDER BY p.arrival LIMIT %s"
                ).format(self._tables.table("hub_ingest_parked"), self._tables.table("hub_claims")),
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
