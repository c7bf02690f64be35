"""The event table: append-only, gap-free positions, per-event metadata and the hash chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from hub.store.chain import GENESIS, ChainedRow, event_hash
from hub.store.sql_params import array


@dataclass(frozen=True, slots=True)
class EventMeta:
    """Where a recorded event came from: source system, message, causal chain and actor."""

    entity: str = ""
    system: str = "hub"
    actor: str = "system"
    message_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    occurred_at: datetime | None = None


# Work another module wants done in the same transaction as the events (ingest outcomes,
# uniqueness claims); it gets the cursor and the positions just assigned.
ExtraWrite = Callable[[Cursor[DictRow], Sequence[int]], None]

# From this many rows on, COPY beats a pipelined executemany.
_COPY_FROM = 16

# Binary COPY (types given) takes a third of the CPU of text COPY per event row: no
# escaping of the state and hash bytes, no text rendering of uuids and instants.
_COPY_TYPES = (
    "int8", "text", "uuid", "int8", "text", "bytea", "timestamptz", "timestamptz",
    "text", "text", "text", "text", "text", "bytea",
)  # fmt: skip

_COLUMNS = (
    "notification_id",
    "entity",
    "originator_id",
    "originator_version",
    "topic",
    "state",
    "recorded_at",
    "occurred_at",
    "system",
    "message_id",
    "correlation_id",
    "causation_id",
    "actor",
    "hash",
)


class HubRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder whose table the database itself keeps append-only.

    Positions are assigned here, under the table lock the library already takes to keep
    commit order equal to position order, so they are gap-free and the chain can be extended
    in the same transaction.
    """

    _append_role: str | None = None

    @property
    def append_role(self) -> str | None:
        """The role events are inserted as: it may only INSERT and SELECT them."""
        return self._append_role

    @append_role.setter
    def append_role(self, role: str | None) -> None:
        self._append_role = role
        self._sql_set_role = SQL("SET LOCAL ROLE {}").format(Identifier(role)) if role else SQL("")

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        table = Identifier(self.datastore.schema, self.events_table_name)
        self.sql_create_statements[self.create_table_statement_index] = SQL(
            "CREATE TABLE IF NOT EXISTS {table} ("
            "notification_id bigint NOT NULL, "
            "entity text NOT NULL, "
            "originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text NOT NULL, "
            "state bytea NOT NULL, "
            "recorded_at timestamptz NOT NULL, "
            "occurred_at timestamptz, "
            "system text NOT NULL, "
            "message_id text, "
            "correlation_id text, "
            "causation_id text, "
            "actor text NOT NULL, "
            "hash bytea NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))"
        ).format(table=table)
        # The library's plpgsql insert function assumes a serial column; ours assigns positions.
        self.sql_create_statements.remove(self.sql_create_pg_function_insert_events)
        self._sql_head = SQL(
            "SELECT notification_id, hash FROM {table} ORDER BY notification_id DESC LIMIT 1"
        ).format(table=table)
        self._sql_insert = SQL("INSERT INTO {table} ({columns}) VALUES ({values})").format(
            table=table,
            columns=SQL(", ").join(map(Identifier, _COLUMNS)),
            values=SQL(", ").join(SQL("%s") for _ in _COLUMNS),
        )
        self._sql_copy = SQL("COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)").format(
            table=table, columns=SQL(", ").join(map(Identifier, _COLUMNS))
        )
        self._sql_set_role = SQL("")
        self._sql_versions_of = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {table} "
            "WHERE originator_id = ANY(%s::uuid[]) GROUP BY originator_id"
        ).format(table=table)
        self._sql_events_of = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {table} "
            "WHERE originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version"
        ).format(table=table)

    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        meta: EventMeta | Sequence[EventMeta] | None = None,
        extra_writes: Sequence[ExtraWrite] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        metas = _align(meta, len(stored_events))
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            # One round trip up to the chain head. The lock comes first: LOCK ... EXCLUSIVE
            # needs a privilege the appending role lacks.
            with conn.pipeline():
                self._lock_table(curs)
                if self.append_role:
                    curs.execute(self._sql_set_role, prepare=True)
                curs.execute(self._sql_head, prepare=True)
            head = curs.fetchone()
            last, prev_hash = (
                (head["notification_id"], bytes(head["hash"])) if head else (0, GENESIS)
            )
            positions = list(range(last + 1, last + 1 + len(stored_events)))
            if stored_events:
                recorded_at = datetime.now(UTC)
                rows = []
                for position, event, m in zip(positions, stored_events, metas, strict=True):
                    row = ChainedRow(
                        position,
                        m.entity,
                        event.originator_id,
                        event.originator_version,
                        event.topic,
                        event.state,
                        recorded_at,
                        m.occurred_at,
                        m.system,
                        m.message_id,
                        m.correlation_id,
                        m.causation_id,
                        m.actor,
                    )
                    prev_hash = event_hash(prev_hash, row)
                    rows.append((*_values(row), prev_hash))
                if len(rows) >= _COPY_FROM:
                    with curs.copy(self._sql_copy) as copy:
                        copy.set_types(_COPY_TYPES)
                        for values in rows:
                            copy.write_row(values)
                else:
                    curs.executemany(self._sql_insert, rows)
                self._notify_channel(curs)
            for write in extra_writes:
                write(curs, positions)
        return positions

    def select_events_of(self, originator_ids: Sequence[Any]) -> list[StoredEvent]:
        """Every event of several aggregates in one query, by aggregate and version."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_events_of, (array(originator_ids),), prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def select_versions(self, originator_ids: Sequence[Any]) -> dict[Any, int]:
        """The last stored version of each aggregate (those with none left out)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_versions_of, (array(originator_ids),), prepare=True)
            return {row["originator_id"]: row["version"] for row in curs.fetchall()}

    def select_head(self) -> tuple[int, bytes]:
        """Returns the last position and its chain hash (0 and the genesis hash when empty)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql_head)
            head = curs.fetchone()
            return (head["notification_id"], bytes(head["hash"])) if head else (0, GENESIS)


def _values(row: ChainedRow) -> tuple[Any, ...]:
    return (
        row.position,
        row.entity,
        row.originator_id,
        row.originator_version,
        row.topic,
        row.state,
        row.recorded_at,
        row.occurred_at,
        row.system,
        row.message_id,
        row.correlation_id,
        row.causation_id,
        row.actor,
    )


def _align(meta: EventMeta | Sequence[EventMeta] | None, count: int) -> Sequence[EventMeta]:
    if meta is None:
        return [EventMeta()] * count
    if isinstance(meta, EventMeta):
        return [meta] * count
    if len(meta) != count:
        raise ValueError(f"{len(meta)} metadata records for {count} events")
    return meta
