"""Queries over golden records and the log: limits and cursors, time travel, history, lineage
(the filters of lists are in hub.filters)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from psycopg.sql import SQL, Identifier

from domain.base import CanonicalAggregate
from hub.application import HubApplication
from hub.audit import redact_data
from hub.filters import QueryError
from hub.records import to_record
from hub.store.plain import event_data, event_type

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise QueryError(422, "limit", "integer", "limit must be an integer") from None
    if limit < 1:
        raise QueryError(422, "limit", "minimum", "limit must be at least 1")
    return min(limit, MAX_LIMIT)  # a huge limit is capped, not refused


# Cursors ----------------------------------------------------------------------------------


class Cursors:
    """Opaque, signed keyset cursors: tampering or reuse with other filters is refused."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    @staticmethod
    def _scope(entity: str, filters: list[tuple[str, str, Any]], deleted: bool) -> str:
        text = json.dumps([entity, sorted(map(str, filters)), deleted])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def make(
        self, entity: str, filters: list[tuple[str, str, Any]], deleted: bool, after: UUID
    ) -> str:
        payload = json.dumps({"a": str(after), "s": self._scope(entity, filters, deleted)})
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def read(
        self, cursor: str, entity: str, filters: list[tuple[str, str, Any]], deleted: bool
    ) -> UUID:
        body, _, signature = cursor.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise QueryError(400, "cursor", "cursor", "the cursor is not one this hub issued")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            after = UUID(payload["a"])
        except (ValueError, KeyError, TypeError):
            raise QueryError(400, "cursor", "cursor", "the cursor is malformed") from None
        if payload.get("s") != self._scope(entity, filters, deleted):
            raise QueryError(400, "cursor", "cursor", "the cursor belongs to another query")
        return after

    def _sign(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:32]


def cursor_secret(app: HubApplication) -> bytes:
    """The store's cursor-signing secret, made once, so cursors survive restarts."""
    datastore = app.hub_recorder.datastore
    table = Identifier(datastore.schema, "hub_secrets")
    with datastore.get_connection() as conn:
        conn.execute(
            SQL("INSERT INTO {} VALUES ('cursor', %s) ON CONFLICT DO NOTHING").format(table),
            (secrets.token_bytes(32),),
        )
        row = conn.execute(
            SQL("SELECT value FROM {} WHERE name = 'cursor'").format(table)
        ).fetchone()
    return bytes(row["value"])


# Time travel -------------------------------------------------------------------------------


def parse_as_of(raw: str) -> datetime:
    try:
        instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            422, "as_of", "rfc3339", f"'{raw[:60]}' is not an RFC 3339 instant"
        ) from None
    if instant.tzinfo is None:
        raise QueryError(422, "as_of", "rfc3339", "as_of needs a UTC offset")
    if instant > datetime.now(UTC):
        raise QueryError(422, "as_of", "not_future", "as_of is in the future")
    return instant


def version_at(app: HubApplication, aggregate_id: UUID, instant: datetime) -> int | None:
    """The aggregate's version as the hub knew it at an instant (recording time)."""
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        row = conn.execute(
            SQL(
                "SELECT max(originator_version) AS v FROM {} WHERE originator_id = %s "
                "AND recorded_at <= %s"
            ).format(Identifier(datastore.schema, app.hub_recorder.events_table_name)),
            (aggregate_id, instant),
            prepare=True,
        ).fetchone()
    return None if row is None or row["v"] is None else int(row["v"])


def as_of(app: HubApplication, aggregate_id: UUID, instant: datetime) -> CanonicalAggregate | None:
    """The aggregate at an instant, from the nearest snapshot plus the events after it."""
    version = version_at(app, aggregate_id, instant)
    if version is None:
        return None
    try:
        return app.repository.get(aggregate_id, version=version)
    except AggregateNotFoundError:
        return None


# History and lineage -------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    position: int
    version: int
    recorded_at: datetime
    occurred_at: datetime | None
    topic: str
    state: bytes
    system: str
    message_id: str | None
    correlation_id: str | None
    causation_id: str | None
    actor: str


def events_of(app: HubApplication, aggregate_id: UUID) -> list[Recorded]:
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        rows = conn.execute(
            SQL(
                "SELECT notification_id, originator_version, recorded_at, occurred_at, topic, "
                "state,"
                " system, message_id, correlation_id, causation_id, actor FROM {} "
                "WHERE originator_id = %s ORDER BY originator_version"
            ).format(Identifier(datastore.schema, app.hub_recorder.events_table_name)),
            (aggregate_id,),
        ).fetchall()
    return [
        Recorded(
            r["notification_id"],
            r["originator_version"],
            r["recorded_at"],
            r["occurred_at"],
            r["topic"],
            bytes(r["state"]),
            r["system"],
            r["message_id"],
            r["correlation_id"],
            r["causation_id"],
            r["actor"],
        )
        for r in rows
    ]


def history(
    app: HubApplication, entity: str, aggregate_id: UUID, hidden: set[str]
) -> list[dict[str, Any]]:
    """Every event of the record, oldest first, and the inputs it ignored (stale, duplicate)."""
    items: list[dict[str, Any]] = []
    for e in events_of(app, aggregate_id):
        kind = event_type(e.topic)
        items.append(
            {
                "position": e.position,
                "version": e.version,
                "recorded_at": e.recorded_at.astimezone(UTC).isoformat(),
                "occurred_at": None
                if e.occurred_at is None
                else e.occurred_at.astimezone(UTC).isoformat(),
                "type": kind,
                "data": redact_data(event_data(e.state), hidden),
                "system": e.system,
                "message_id": e.message_id,
                "correlation_id": e.correlation_id,
                "causation_id": e.causation_id,
                "actor": e.actor,
                "outcome": "reversal" if kind == "Reversed" else "applied",
            }
        )
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        ignored = conn.execute(
            SQL(
                "SELECT message_id, system, outcome, reason, detail, decided_at, sequence FROM {} "
                "WHERE canonical_ids @> ARRAY[%s]::uuid[] AND outcome IN ('stale', 'duplicate') "
                "ORDER BY decided_at"
            ).format(Identifier(datastore.schema, "hub_ingest_messages")),
            (aggregate_id,),
        ).fetchall()
    for row in ignored:
        items.append(
            {
                "position": None,
                "version": None,
                "recorded_at": row["decided_at"].astimezone(UTC).isoformat(),
                "occurred_at": None,
                "type": f"pshub.{entity}.changed.v1",
                "data": None,
                "system": row["system"],
                "message_id": row["message_id"],
                "correlation_id": row["message_id"],
                "causation_id": row["message_id"],
                "actor": f"ingest:{row['system']}",
                "outcome": row["outcome"],
                "reason": row["reason"],
                "detail": row["detail"],
                "sequence": row["sequence"],
            }
        )
    items.sort(key=lambda item: item["recorded_at"])
    return items


def lineage(app: HubApplication, aggregate_id: UUID, hidden: set[str]) -> dict[str, Any]:
    """For each field, the system, message and time of the event that set its current value.

    The record is replayed event by event and compared field by field, so every kind of
    event (creations, revisions, transitions) is attributed the same way.
    """
    events = events_of(app, aggregate_id)
    if not events:
        return {}
    aggregate = None
    before: dict[str, Any] = {}
    fields: dict[str, dict[str, Any]] = {}
    for recorded in events:
        event = app.mapper.to_domain_event(_notification(aggregate_id, recorded))
        aggregate = event.mutate(aggregate)
        after = to_record(aggregate)
        for name, value in after.items():
            if name in ("version", "updated_at") or name in hidden:
                continue
            if name not in before or before[name] != value:
                fields[name] = {
                    "system": recorded.system,
                    "message_id": recorded.message_id,
                    "set_at": recorded.recorded_at.astimezone(UTC).isoformat(),
                    "occurred_at": None
                    if recorded.occurred_at is None
                    else recorded.occurred_at.astimezone(UTC).isoformat(),
                    "position": recorded.position,
                    "version": recorded.version,
                    "event": event_type(recorded.topic),
                }
        before = after
    return fields


def _notification(aggregate_id: UUID, recorded: Recorded) -> Any:
    from eventsourcing.persistence import Notification  # noqa: PLC0415

    return Notification(
        id=recorded.position,
        originator_id=aggregate_id,
        originator_version=recorded.version,
        topic=recorded.topic,
        state=recorded.state,
    )
