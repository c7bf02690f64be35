"""What a test session or a benchmark leaves on the shared PostgreSQL and NATS servers: listed
by name prefix, and removed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

import nats
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hub.streams import stream_names


def streams_of(nats_url: str, prefix: str) -> list[str]:
    """Names of the streams on the server that start with prefix."""

    async def run() -> list[str]:
        nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=2)
        try:
            return await stream_names(nc.jsm(), prefix)
        finally:
            await nc.close()

    return asyncio.run(run())


def databases_of(server_url: str, prefix: str) -> list[str]:
    """Names of the databases on the server that start with prefix."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1",
            [prefix],
        ).fetchall()
    return [name for (name,) in rows]


def drop_databases(server_url: str, names: Iterable[str]) -> None:
    """Drops each database, ending the sessions still connected to it."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class Databases:
    """Makes uniquely named databases on a server (called with a label, returns the URL); each
    is dropped by drop() or by drop_all() when the session ends."""

    def __init__(self, server_url: str, prefix: str) -> None:
        self.server_url = server_url
        self.prefix = prefix
        self._made: dict[str, str] = {}  # URL -> name

    def __call__(self, label: str = "db") -> str:
        name = f"{self.prefix}{label}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = make_conninfo(self.server_url, dbname=name)
        self._made[url] = name
        return url

    def drop(self, url: str) -> None:
        """Drops the database made for url, before the session ends."""
        drop_databases(self.server_url, [self._made.pop(url)])

    def drop_all(self) -> None:
        drop_databases(self.server_url, list(self._made.values()))
        self._made.clear()
