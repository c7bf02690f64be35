"""The relay's bookkeeping in PostgreSQL: its lease, its position, and the log it reads.

All of it goes through the one connection that holds the lease (a session advisory lock):
if that connection dies, PostgreSQL releases the lock and no position can be written
through it any more, so a relay that lost its lease cannot record progress.
"""

from __future__ import annotations

import zlib
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from hub.relay.envelope import COLUMNS

TABLE = "hub_relay"
# First key of the advisory lock (the second is the stream's): "pshr".
_LOCK_CLASS = 0x70736872 - 2**31


class RelayBook:
    """SQL of one relay (one events stream) over one store."""

    def __init__(self, stream: str, *, schema: str = "public", events_table: str) -> None:
        self.stream = stream
        self.lock_key = (_LOCK_CLASS, zlib.crc32(stream.encode()) - 2**31)
        table = Identifier(schema, TABLE)
        events = Identifier(schema, events_table)
        self.create = SQL(
            "CREATE TABLE IF NOT EXISTS {} (stream text PRIMARY KEY, position bigint NOT NULL, "
            "stream_sequence bigint NOT NULL, updated_at timestamptz NOT NULL)"
        ).format(table)
        self.select_position = SQL("SELECT position FROM {} WHERE stream = %s").format(table)
        self.upsert_position = SQL(
            "INSERT INTO {t} (stream, position, stream_sequence, updated_at) "
            "VALUES (%s, %s, %s, now()) ON CONFLICT (stream) DO UPDATE SET "
            "position = EXCLUDED.position, stream_sequence = EXCLUDED.stream_sequence, "
            "updated_at = EXCLUDED.updated_at WHERE {t}.position < EXCLUDED.position"
        ).format(t=table)
        self.select_page = SQL(
            "SELECT {} FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(SQL(COLUMNS), events)
        self.select_subject = SQL(
            "SELECT originator_id::text FROM {} WHERE notification_id = %s"
        ).format(events)
        self.select_head = SQL("SELECT max(notification_id) FROM {}").format(events)
        self.listen: Composed | None = None

    async def prepare(self, conn: AsyncConnection[Any], channel: str) -> None:
        """Creates the table if needed and listens for the store's commits."""
        await conn.execute(self.create)
        await conn.execute(SQL("LISTEN {}").format(Identifier(channel)))

    async def try_lease(self, conn: AsyncConnection[Any]) -> bool:
        """Takes the lease if no other relay of this stream holds it (held until the
        connection closes)."""
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", self.lock_key)
        row = await cur.fetchone()
        return bool(row and row[0])

    async def position(self, conn: AsyncConnection[Any]) -> int:
        cur = await conn.execute(self.select_position, (self.stream,))
        row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def record(self, conn: AsyncConnection[Any], position: int, sequence: int) -> None:
        """Stores the last position JetStream has acknowledged (never moves backwards)."""
        await conn.execute(self.upsert_position, (self.stream, position, sequence))

    async def page(self, conn: AsyncConnection[Any], after: int, limit: int) -> list[Any]:
        """The next events after a position, in log order (one query)."""
        cur = conn.cursor(binary=True)
        await cur.execute(self.select_page, (after, limit))
        return await cur.fetchall()

    async def subject_at(self, conn: AsyncConnection[Any], position: int) -> str | None:
        """The canonical id the event at a position belongs to (None past the head)."""
        cur = await conn.execute(self.select_subject, (position,))
        row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def head(self, conn: AsyncConnection[Any]) -> int:
        cur = await conn.execute(self.select_head)
        row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0


def stored_position(conn: Connection[Any], stream: str, schema: str = "public") -> int:
    """The relay's recorded position, read through a synchronous connection (0 if none)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("SELECT to_regclass(%s)", (f"{schema}.{TABLE}",))
        found = cur.fetchone()
        if found is None or found[0] is None:
            return 0
        cur.execute(
            SQL("SELECT position FROM {} WHERE stream = %s").format(Identifier(schema, TABLE)),
            (stream,),
        )
        row = cur.fetchone()
    return 0 if row is None else int(row[0])
