"""The verifiable audit trail: checking the hash chain, and exporting it as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.store.chain import GENESIS, ChainBreak, ChainedRow, state_digest, verify_chain
from hub.store.plain import event_data, event_type

_COLUMNS = (
    "notification_id, entity, originator_id, originator_version, topic, state, recorded_at, "
    "occurred_at, system, message_id, correlation_id, causation_id, actor, hash"
)


@dataclass(frozen=True)
class Verification:
    """The answer of a chain check: intact or not, how many events, and the first break."""

    intact: bool
    checked: int
    first_break: ChainBreak | None

    def as_json(self) -> dict[str, Any]:
        brk = self.first_break
        return {
            "intact": self.intact,
            "checked": self.checked,
            "first_break": None
            if brk is None
            else {"position": brk.position, "reason": brk.reason},
        }


def _row(record: dict[str, Any]) -> ChainedRow:
    return ChainedRow(
        record["notification_id"],
        record["entity"],
        record["originator_id"],
        record["originator_version"],
        record["topic"],
        bytes(record["state"]),
        record["recorded_at"],
        record["occurred_at"],
        record["system"],
        record["message_id"],
        record["correlation_id"],
        record["causation_id"],
        record["actor"],
    )


def _rows(
    conn: psycopg.Connection, table: sql.Composable, where: sql.Composable, params: tuple[Any, ...]
) -> Iterator[dict[str, Any]]:
    query = sql.SQL("SELECT {} FROM {} {} ORDER BY notification_id").format(
        sql.SQL(_COLUMNS), table, where
    )
    # A server-side cursor keeps memory flat however long the log is.
    with conn.transaction(), conn.cursor(name="pshub_audit", row_factory=dict_row) as cur:
        cur.itersize = 2000
        cur.execute(query, params)
        yield from cur


def verify(conninfo: str, events_table: str, schema: str = "public") -> Verification:
    """Recomputes the chain over the whole log and reports the first broken position."""
    table = sql.Identifier(schema, events_table)
    with psycopg.connect(conninfo) as conn, closing(_rows(conn, table, sql.SQL(""), ())) as rows:
        # Closed before the connection, since verification stops at the first break.
        checked, first_break = verify_chain((_row(r), bytes(r["hash"])) for r in rows)
    return Verification(first_break is None, checked, first_break)


def _iso(value: datetime | None) -> str | None:
    # Exactly the text the chain hashes, so that an auditor can recompute it from the line.
    return None if value is None else value.astimezone(UTC).isoformat()


def export(
    conninfo: str,
    events_table: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    hidden: dict[str, set[str]] | None = None,
    schema: str = "public",
) -> Iterator[str]:
    """Yields one JSON line per event with its chain hashes, oldest first.

    `hidden` names, per entity, the attributes the reader may not see: they are left out of
    `data`, and the stored state itself is omitted from such lines (its digest stays, so the
    chain still verifies).
    """
    table = sql.Identifier(schema, events_table)
    conditions, params = [], []
    if since is not None:
        conditions.append(sql.SQL("recorded_at >= %s"))
        params.append(since)
    if until is not None:
        conditions.append(sql.SQL("recorded_at < %s"))
        params.append(until)
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    with (
        psycopg.connect(conninfo) as conn,
        closing(_rows(conn, table, where, tuple(params))) as rows,
    ):
        prev_hash: bytes | None = None
        for record in rows:
            position = record["notification_id"]
            if prev_hash is None:
                prev_hash = _previous_hash(conn, table, position)
            state = bytes(record["state"])
            data = event_data(state)
            withheld = (hidden or {}).get(record["entity"], set())
            line: dict[str, Any] = {
                "position": position,
                "entity": record["entity"],
                "aggregate_id": str(record["originator_id"]),
                "version": record["originator_version"],
                "type": event_type(record["topic"]),
                "topic": record["topic"],
                "recorded_at": _iso(record["recorded_at"]),
                "occurred_at": _iso(record["occurred_at"]),
                "system": record["system"],
                "message_id": record["message_id"],
                "correlation_id": record["correlation_id"],
                "causation_id": record["causation_id"],
                "actor": record["actor"],
                "data": redact_data(data, withheld),
                "state_sha256": state_digest(state).hex(),
                "prev_hash": prev_hash.hex(),
                "hash": bytes(record["hash"]).hex(),
            }
            if not withheld:
                line["state"] = state.decode("utf-8")
            prev_hash = bytes(record["hash"])
            yield json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n"


def redact_data(data: dict[str, Any], withheld: set[str]) -> dict[str, Any]:
    """Leaves withheld attributes out of event data, including inside a revision's changes
    and a creation's descriptive details."""
    if not withheld:
        return data
    result = {k: v for k, v in data.items() if k not in withheld}
    for nested in ("changes", "details"):
        if isinstance(result.get(nested), dict):
            result[nested] = {k: v for k, v in result[nested].items() if k not in withheld}
    return result


def _previous_hash(conn: psycopg.Connection, table: sql.Composable, position: int) -> bytes:
    row = conn.execute(
        sql.SQL("SELECT hash FROM {} WHERE notification_id = %s").format(table), (position - 1,)
    ).fetchone()
    return GENESIS if row is None else bytes(row[0])
