"""The event-sourced application: commands that change aggregates, and queries over them."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import IntegrityError, Recording, Transcoder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.base import CanonicalAggregate
from domain.client import Client, Contact
from domain.engagement import Engagement, EngagementStatus
from domain.ids import natural_id, source_id
from domain.registry import AGGREGATES, VALUE_TYPES
from domain.values import Money, SourceRef
from hub.errors import ConflictError, NotFoundError, UnknownReferenceError
from hub.ingest.decode import xref_key
from hub.ingest.rules import legal_name_key, tax_id_key
from hub.store.recorder import EventMeta, ExtraWrite, HubRecorder
from hub.store.transcodings import OrjsonTranscoder, register_value_types

A = TypeVar("A", bound=CanonicalAggregate)


@dataclass(frozen=True, slots=True)
class Claim:
    """A key recorded with the events that make it: an xref or engagement code that must be
    unique (strict: a collision is a conflict), or a lookup key for matching (not strict: the
    first owner keeps it)."""

    key: str
    owner_id: UUID
    entity: str
    strict: bool = True
    # For a source record's xref: the newest change applied (order per source record).
    sequence: str | None = None
    message_id: str | None = None


def xref_claim(entity: str, ref: SourceRef, owner_id: UUID) -> Claim:
    return Claim(xref_key(ref.system, ref.tenant, ref.type, ref.id), owner_id, entity)


def client_claims(client: Client) -> list[Claim]:
    """The lookup keys ingest matches other systems' clients by (tax id; name and country)."""
    claims = []
    if client.country:
        key = f"client_name:{client.country}|{legal_name_key(client.legal_name)}"
        claims.append(Claim(key, client.id, "client", strict=False))
    if client.tax_id:
        # Tax ids match without the country: several sources keep none.
        claims.append(
            Claim(f"client_tax:{tax_id_key(client.tax_id)}", client.id, "client", strict=False)
        )
    return claims


class HubApplication(Application[UUID]):
    """pshub's write side and record reads, on the `eventsourcing` library and PostgreSQL."""

    name = "Hub"
    is_snapshotting_enabled = True

    def __init__(self, env: dict[str, str], *, snapshot_interval: int = 100) -> None:
        super().__init__(env)
        self.snapshotting_intervals = {cls: snapshot_interval for cls in AGGREGATES.values()}

    @property
    def hub_recorder(self) -> HubRecorder:
        assert isinstance(self.recorder, HubRecorder)
        return self.recorder

    def construct_transcoder(self) -> Transcoder:
        transcoder = OrjsonTranscoder()  # reads as the library's own, faster
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)
        register_value_types(transcoder, VALUE_TYPES)

    # Recording ------------------------------------------------------------------------

    def record(
        self,
        *aggregates: CanonicalAggregate,
        meta: EventMeta | Mapping[tuple[UUID, int], EventMeta],
        claims: Sequence[Claim] = (),
        extra_writes: Sequence[ExtraWrite] = (),
    ) -> int:
        """Saves the aggregates' pending events with their metadata; returns the last position.

        `meta` is one EventMeta for every event, or one per (aggregate id, version) when the
        events of one transaction come from several messages. A collision with recorded state
        (same aggregate version, a claimed key) is a ConflictError and nothing is recorded.
        """
        metas = []
        # One EventMeta per message and entity, not one copy per event.
        with_entity: dict[tuple[int, str], EventMeta] = {}
        for aggregate in aggregates:
            entity = aggregate.ENTITY
            for pending in aggregate.pending_events:
                one = (
                    meta
                    if isinstance(meta, EventMeta)
                    else meta[(pending.originator_id, pending.originator_version)]
                )
                key = (id(one), entity)
                tagged = with_entity.get(key)
                if tagged is None:
                    tagged = with_entity[key] = replace(one, entity=entity)
                metas.append(tagged)
        writes = list(extra_writes)
        if claims:
            writes.insert(0, _claims_writer(self.hub_recorder, claims))
        try:
            recordings = self.save(*aggregates, meta=metas, extra_writes=writes)
        except IntegrityError as exc:
            # Another writer got there first; the cached copies may be stale now.
            for aggregate in aggregates:
                self.evict(aggregate.id)
            raise ConflictError("the change conflicts with recorded state") from exc
        return recordings[-1].notification.id if recordings else self.hub_recorder.select_head()[0]

    def save(self, *aggregates: CanonicalAggregate, **kwargs: object) -> list[Recording[UUID]]:  # type: ignore[override]
        """The library's save, without its per-object isinstance checks against runtime
        Protocols (a measurable share of ingest time): everything saved here is one of our
        aggregates."""
        processing = ProcessingEvent[UUID]()
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    def evict(self, aggregate_id: UUID) -> None:
        """Drops an aggregate from the in-memory cache (after a conflict)."""
        if self.repository.cache is not None:
            with contextlib.suppress(KeyError):
                self.repository.cache.get(aggregate_id, evict=True)

    # Reads ----------------------------------------------------------------------------

    def find(self, aggregate_id: UUID, kind: type[A], version: int | None = None) -> A | None:
        """Returns the aggregate of that kind, or None."""
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def find_any(self, aggregate_id: UUID) -> Any:
        """Returns whatever aggregate has that id (a record, a tombstone, a case), or None."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def peek(self, aggregate_id: UUID) -> Any:
        """Like find_any, for reading only: the cached aggregate itself rather than a deep copy
        (a command's copy, which it may change). Never change or save what this returns. The
        billing-readiness process reads a page's records this way: copying each was 15 % of a
        hub process's CPU (py-spy, ops/bench/feeds.py)."""
        try:
            return self.repository.get(aggregate_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None

    def preload(self, aggregate_ids: Collection[UUID]) -> None:
        """Reads the aggregates not in memory in one query and caches them: a batch that
        updates many records makes one round trip for them, not one each. (Replaying all of
        an aggregate's events gives the state a snapshot would; snapshots only save reads.)"""
        cache = self.repository.cache
        if cache is None or not aggregate_ids:
            return
        missing = []
        for aggregate_id in aggregate_ids:
            try:
                cache.get(aggregate_id)
            except KeyError:
                missing.append(aggregate_id)
        if not missing:
            return
        for aggregate_id, aggregate in self.replayed(dict.fromkeys(missing)).items():
            try:
                cached = cache.get(aggregate_id)
            except KeyError:
                cached = None
            # A command may have saved a newer version while the query ran: keep that one.
            if cached is None or cached.version < aggregate.version:
                cache.put(aggregate_id, aggregate)

    def replayed(self, versions: Mapping[UUID, int | None]) -> dict[UUID, Any]:
        """Aggregates rebuilt from their events, read in one query: each up to the version
        given (None: its last). One that has fewer events stops at its last one."""
        built: dict[UUID, Any] = {}
        for stored in self.hub_recorder.select_events_of(list(versions)):
            upto = versions[stored.originator_id]
            if upto is None or stored.originator_version <= upto:
                event = self.mapper.to_domain_event(stored)
                built[stored.originator_id] = event.mutate(built.get(stored.originator_id))
        return built

    def take(self, aggregate_id: UUID) -> Any:
        """Returns the aggregate for a writer to change, without a copy: it leaves the cache
        until a save puts it back, so no reader ever copies it half-changed, and a failed
        change never leaves a trace in the cache."""
        try:
            aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None
        self.evict(aggregate_id)
        return aggregate

    def get(self, aggregate_id: UUID, kind: type[A], version: int | None = None) -> A:
        """Returns the aggregate of that kind, or raises NotFoundError."""
        aggregate = self.find(aggregate_id, kind, version)
        if aggregate is None:
            raise NotFoundError(f"no {kind.ENTITY} with id {aggregate_id}")
        return aggregate

    def owner_of_xref(
        self, system: str, tenant: str | None, type_: str, source_id: str
    ) -> UUID | None:
        """The canonical id a source record maps to; without a tenant, the only match."""
        datastore = self.hub_recorder.datastore
        table = Identifier(datastore.schema, "hub_claims")
        with datastore.get_connection() as conn:
            if tenant is not None:
                row = conn.execute(
                    SQL("SELECT owner_id FROM {} WHERE key = %s").format(table),
                    (xref_key(system, tenant, type_, source_id),),
                ).fetchone()
                return None if row is None else row["owner_id"]
            # Any tenant: keys are xref:system|tenant|type|id, so match around the tenant.
            rows = conn.execute(
                SQL("SELECT owner_id FROM {} WHERE key LIKE %s AND key LIKE %s LIMIT 2").format(
                    table
                ),
                (
                    like_literal(f"xref:{system}|") + "%",
                    "%" + like_literal(f"|{type_.lower()}|{source_id}"),
                ),
            ).fetchall()
        owners = {r["owner_id"] for r in rows}
        return owners.pop() if len(owners) == 1 else None

    # Commands -------------------------------------------------------------------------

    def register_client(
        self,
        *,
        legal_name: str,
        country: str,
        billing_currency: str,
        tax_id: str = "",
        contacts: Sequence[Contact] = (),
        xref: SourceRef | None = None,
        meta: EventMeta,
    ) -> tuple[Client, int]:
        """Registers a client; the same source record (or legal name in a country) twice is a
        conflict."""
        client_id = (
            source_id("client", xref)
            if xref
            else natural_id("client", country, legal_name_key(legal_name))
        )
        if self.find(client_id, CanonicalAggregate) is not None:
            raise ConflictError(f"client {client_id} is already registered", field="xref")
        client = Client.register(
            id=client_id,
            legal_name=legal_name,
            country=country,
            billing_currency=billing_currency,
            tax_id=tax_id,
            contacts=list(contacts),
            xrefs=[xref] if xref else [],
        )
        claims = [xref_claim("client", xref, client_id)] if xref else []
        claims.extend(client_claims(client))
        return client, self.record(client, meta=meta, claims=claims)

    def create_engagement(
        self,
        *,
        client_id: UUID,
        code: str,
        name: str,
        currency: str,
        service_line: str = "",
        region: str = "",
        legal_entity: str = "",
        start_date: date | None = None,
        end_date: date | None = None,
        budget: Money | None = None,
        manager_id: UUID | None = None,
        status: EngagementStatus = EngagementStatus.PIPELINE,
        xref: SourceRef | None = None,
        meta: EventMeta,
    ) -> tuple[Engagement, int]:
        """Creates an engagement for a known, active client, under a code no other holds."""
        client = self.find(client_id, Client)
        if client is None:
            raise UnknownReferenceError(f"no client with id {client_id}", field="client_id")
        client.check_can_take_engagement()
        engagement_id = source_id("engagement", xref) if xref else natural_id("engagement", code)
        if self.find(engagement_id, CanonicalAggregate) is not None:
            raise ConflictError(f"engagement {engagement_id} already exists", field="code")
        engagement = Engagement.create(
            id=engagement_id,
            client_id=client_id,
            code=code,
            name=name,
            currency=currency,
            service_line=service_line,
            region=region,
            legal_entity=legal_entity,
            start_date=start_date,
            end_date=end_date,
            budget=budget,
            manager_id=manager_id,
            status=status,
            xrefs=[xref] if xref else [],
        )
        claims = [Claim(f"engagement_code:{code}", engagement_id, "engagement")]
        if xref:
            claims.append(xref_claim("engagement", xref, engagement_id))
        return engagement, self.record(engagement, meta=meta, claims=claims)


def like_literal(text: str) -> str:
    """Escapes LIKE wildcards in a literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _claims_writer(recorder: HubRecorder, claims: Sequence[Claim]) -> ExtraWrite:
    table = Identifier(recorder.datastore.schema, "hub_claims")
    columns = SQL("key, owner_id, entity, position, sequence, message_id")
    copy = SQL("COPY {} ({}) FROM STDIN").format(table, columns)
    soft = SQL(
        "INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
    ).format(table, columns)

    def write(curs: Cursor[DictRow], positions: Sequence[int]) -> None:
        position = positions[-1] if positions else 0
        rows = {True: [], False: []}  # type: dict[bool, list[tuple[object, ...]]]
        for c in claims:
            rows[c.strict].append((c.key, c.owner_id, c.entity, position, c.sequence, c.message_id))
        if rows[True]:
            # A strict key already taken fails the COPY: the whole change is a conflict.
            with curs.copy(copy) as out:
                for row in rows[True]:
                    out.write_row(row)
        if rows[False]:
            curs.executemany(soft, rows[False])

    return write
