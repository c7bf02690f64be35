"""What becomes of each message, recorded: dead letters, and the commit of a batch's decisions.

A batch commits its aggregates' events, the exception cases it opened or closed, and (in the
same transaction, through the outcome writer) each message's outcome, the parked changes, the
source records' order, the lineage of fields and the links held, released and resolved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from hub.errors import ConflictError
from hub.exception_placing import adapter_legal_entity
from hub.exceptions import ExceptionCase
from hub.ingest.batch import APPLIED, DEAD_LETTERED, PARKED, REDELIVERED, Outcome
from hub.ingest.decode import Incoming, Refusal
from hub.store.recorder import EventMeta
from hub.store.sql_params import array

if TYPE_CHECKING:
    from hub.application import HubApplication
    from hub.ingest.batch import _Batch
    from hub.ingest.links import LinkBook
    from hub.ingest.tables import IngestTables


def dead_letter(refusal: Refusal, message: Incoming, batch: _Batch) -> Outcome:
    """The outcome of a refused message, with the exception case it opens."""
    message_id = refusal.message_id or "sha256:" + hashlib.sha256(message.data).hexdigest()
    parts = message.subject.split(".")
    system = parts[1] if len(parts) > 1 else ""
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
            system=system,
            entity=parts[2] if len(parts) > 2 else "",
            subject=message.subject,
            # Routed to whoever handles the legal entity its source books to, if configured.
            legal_entity=adapter_legal_entity(system),
        )
    )
    return outcome


def record(
    app: HubApplication,
    tables: IngestTables,
    links: LinkBook,
    batch: _Batch,
    outcomes: list[Outcome],
) -> int | None:
    """Commits what the batch decided; returns the last position it recorded, if any."""
    aggregates = [batch.aggregates[i] for i in batch.order if batch.aggregates[i].pending_events]
    for case in batch.cases:
        if app.find(case.id, ExceptionCase) is None:
            aggregates.append(case)  # type: ignore[arg-type]
    closed = []
    for case_id, note in batch.closing.items():
        case = app.find(case_id, ExceptionCase)
        if case is not None and not case.closed:  # open, or in progress with a person
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
    write = outcome_writer(tables, links, batch, outcomes)
    if aggregates:
        return app.record(
            *aggregates, meta=meta, claims=list(batch.new_claims.values()), extra_writes=[write]
        )
    try:
        with tables.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            # The same role as appends use, so both paths share the scratch table.
            role = app.hub_recorder.append_role
            if role:
                cur.execute(SQL("SET LOCAL ROLE {}").format(Identifier(role)))
            write(cur, [])
    except IntegrityError as exc:
        raise ConflictError("the batch conflicts with recorded state") from exc
    return None


def write_sequences(cur: Cursor[DictRow], claims: Identifier, batch: _Batch) -> None:
    """Moves each source record's order on, if it still is what the batch read: another
    process may have applied a newer change of the record after this batch read its claim
    (and before it read the record), and this batch's older change must not win."""
    keys = list(batch.new_sequences)
    cur.execute(
        SQL(
            "UPDATE {} AS c SET sequence = v.seq, message_id = v.mid "
            "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) "
            "AS v(key, seq, mid, read) "
            "WHERE c.key = v.key AND c.sequence IS NOT DISTINCT FROM v.read"
        ).format(claims),
        (
            array(keys),
            array(batch.new_sequences[k][0] for k in keys),
            array(batch.new_sequences[k][1] for k in keys),
            array(batch.read_sequences.get(k) for k in keys),
        ),
    )
    if cur.rowcount != len(keys):
        # Rolls the batch back: the consumer decides it again on what is committed now.
        raise IntegrityError("a source record's order moved on under this batch")


def outcome_writer(
    tables: IngestTables, links: LinkBook, batch: _Batch, outcomes: list[Outcome]
) -> Any:
    """The write of the batch's outcomes and bookkeeping, run in the transaction of its events."""
    now = datetime.now(UTC)
    table = tables.table

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
            write_sequences(cur, table("hub_claims"), batch)
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
            links.write(
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
