"""Rebuild and replay as an operator runs them: every projection rebuilt from position zero
equals the live one row by row; a blue/green rebuild from another process is followed by the
hub's readers and by a projections worker, with reads running throughout that never fail or go
backwards; replay until an instant equals what `as_of` answers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import Tracking
from psycopg.sql import SQL, Identifier

from domain.client import Client
from hub.bootstrap import Hub, build_application, build_relay
from hub.demo import DemoSpec, load_demo
from hub.exceptions import ExceptionCase
from hub.generations import GenerationRetired, fence, rebuild_lock_key
from hub.projecting import (
    KINDS,
    active_generation,
    new_view,
    own_states,
    rebuild_running,
    switch,
)
from hub.queries import as_of
from hub.records import to_record
from hub.settings import Settings
from hub.store.recorder import EventMeta
from projections.runner import ProjectionRunner
from tests.support import processes
from tests.support.classified import classified_scenario
from tests.support.hygiene import Databases
from tests.support.relaying import read_events
from tests.support.running import Running, running_hub

META = EventMeta(actor="test")


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Databases, nats_url: str) -> Iterator[Running]:
    """A running hub with a small demo firm and exception cases (open, resolved, retried)."""
    with running_hub(settings, make_database, nats_url) as running:
        app = running.hub.app
        load_demo(app, DemoSpec(seed=7, scale=0.05), progress=False)
        for n in range(6):
            case = ExceptionCase.open(
                message_id=f"m-{n}", reason="RATE_MISMATCH", detail=f"case {n}", system="harvest"
            )
            if n % 3 == 1:
                case.resolve("steward", "fixed at the source")
            if n % 3 == 2:
                case.note_retry("steward")
            app.record(case, meta=META)
        _settle(running)
        yield running


def _settle(running: Running) -> int:
    head = running.hub.app.hub_recorder.select_head()[0]
    for runner in running.hub.runners.values():
        assert runner.wait_for(head, 60)
    return head


def _tables(conn: psycopg.Connection[Any], view: Any, name: str) -> list[Identifier]:
    """A view's tables: a generation's schema (golden records), or the tables of the store's
    schema named <projection>_..._g<generation>."""
    if hasattr(view, "view_schema"):
        schema, pattern = view.view_schema, ".*"
    else:
        schema, pattern = view.datastore.schema, f"^{name}_.*_g{view.generation}$"
    names = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename ~ %s ORDER BY 1",
        (schema, pattern),
    ).fetchall()
    return [Identifier(schema, row["tablename"]) for row in names]


def _rows(conn: psycopg.Connection[Any], table: Identifier) -> list[Any]:
    """Every row of a table, every column, in one canonical order."""
    rows = conn.execute(
        SQL("SELECT to_jsonb(t) AS row FROM {} t ORDER BY to_jsonb(t)::text").format(table)
    ).fetchall()
    return [row["row"] for row in rows]


@pytest.mark.parametrize("name", list(KINDS))
def test_a_projection_rebuilt_from_position_zero_equals_the_live_one_row_by_row(
    firm: Running, name: str
) -> None:
    app = firm.hub.app
    live = firm.hub.view(name)
    fresh = KINDS[name].view(app, 900)
    fresh.drop()
    fresh.create_table()
    try:
        head = _settle(firm)
        position = ProjectionRunner(
            KINDS[name].projection(app, fresh, own_states(app)), app.hub_recorder
        ).catch_up(until=head)
        assert position == head == live.position(app.name)
        with app.hub_recorder.datastore.get_connection() as conn:
            live_tables, fresh_tables = _tables(conn, live, name), _tables(conn, fresh, name)
            assert len(live_tables) == len(fresh_tables) >= 1
            compared = 0
            for a, b in zip(live_tables, fresh_tables, strict=True):
                live_rows, fresh_rows = _rows(conn, a), _rows(conn, b)
                assert live_rows == fresh_rows, f"{a.as_string(conn)} differs from its rebuild"
                compared += len(live_rows)
        assert compared > 0, "nothing was compared"
    finally:
        fresh.drop()


def test_a_rebuild_from_another_process_is_followed_with_reads_running(
    settings: Settings, make_database: Databases, nats_url: str
) -> None:
    """The API process (this one) serves reads; a `pshub worker --run projections` is the only
    process that runs projections; `pshub projections rebuild` runs in a third. Reads and
    writes go on throughout: no read fails, no record's version and no count goes backwards,
    and afterwards both processes work on the new generation without a restart."""
    with running_hub(settings, make_database, nats_url) as running:
        hub, app = running.hub, running.hub.app
        load_demo(app, DemoSpec(seed=11, scale=0.05), progress=False)
        _settle(running)
        hub.stop_projections()
        # Small pools: the PostgreSQL server is shared (its connections are counted).
        env = processes.hub_env(
            hub.database_url, nats_url, hub.settings.nats_prefix, db_pool_size="3"
        )
        worker = processes.worker(env, "projections")
        try:
            _blue_green(running, env)
        finally:
            processes.stop(worker)


def _blue_green(running: Running, env: dict[str, str]) -> None:
    hub, app = running.hub, running.hub.app
    old = active_generation(app, "golden_records")
    indexes = _indexes(app, f"golden_g{old}")
    clients = [UUID(c["id"]) for c in _list(running)][:20]
    assert clients
    stop = threading.Event()
    failures: list[str] = []
    reads: list[tuple[float, int]] = []  # (when, count) of each full read

    def read() -> None:
        seen: dict[str, int] = {}
        count = 0
        while not stop.is_set():
            resp = running.api.get("/v1/clients", params={"limit": 1000}, headers=running.auth)
            if resp.status_code != 200:
                failures.append(f"list answered {resp.status_code}: {resp.text[:200]}")
                continue
            items = resp.json()["items"]
            if len(items) < count:
                failures.append(f"the count went back from {count} to {len(items)}")
            count = len(items)
            for item in items:
                if item["version"] < seen.get(item["id"], 0):
                    failures.append(f"{item['id']} went back to version {item['version']}")
                seen[item["id"]] = item["version"]
            one = running.api.get(f"/v1/clients/{clients[0]}", headers=running.auth)
            if one.status_code != 200:
                failures.append(f"a read by id answered {one.status_code}")
            reads.append((time.monotonic(), count))

    def write() -> None:
        n = 0
        while not stop.is_set():
            client = app.get(clients[n % len(clients)], Client)
            client.revise(legal_name=f"{client.legal_name.split(' #')[0]} #{n}")
            app.record(client, meta=META)
            n += 1
            time.sleep(0.02)

    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "hub.cli", "projections", "rebuild", "golden_records"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        finished = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert result.returncode == 0, result.stderr
    assert f"golden_records: generation {old + 1}" in result.stdout
    assert "events/s" in result.stderr  # the progress bar
    assert not failures, failures[:5]
    assert len([r for r in reads if started <= r[0] <= finished]) >= 3, "reads did not overlap"
    # The rebuild built its indexes after the bulk load: the same ones as the live one had.
    assert _indexes(app, f"golden_g{old + 1}") == indexes
    # This process reads the new generation without a restart, and the old one is gone.
    assert hub.golden.generation == old + 1
    with app.hub_recorder.datastore.get_connection() as conn:
        assert not conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (f"golden_g{old}",)
        ).fetchone()
    # The worker followed the switch: what is recorded now reaches the new generation.
    client = app.get(clients[1], Client)
    client.revise(legal_name="Followed Ltd")
    position = app.record(client, meta=META)
    after = running.api.get(
        f"/v1/clients/{client.id}", params={"min_position": position}, headers=running.auth
    )
    assert after.status_code == 200, after.text
    assert after.json()["legal_name"] == "Followed Ltd"
    status = {
        p["name"]: p
        for p in running.api.get("/v1/projections", headers=running.auth).json()["items"]
    }
    assert status["golden_records"]["generation"] == old + 1
    assert status["golden_records"]["state"] == "live"


def _indexes(app: Any, schema: str) -> list[tuple[str, str]]:
    """A schema's indexes: (name, definition without the schema's name)."""
    with app.hub_recorder.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
            (schema,),
        ).fetchall()
    assert rows, f"no indexes in {schema}"
    return [(r["indexname"], r["indexdef"].replace(schema + ".", "")) for r in rows]


def _list(running: Running) -> list[dict[str, Any]]:
    resp = running.api.get("/v1/clients", params={"limit": 1000}, headers=running.auth)
    assert resp.status_code == 200
    return resp.json()["items"]  # type: ignore[no-any-return]


def test_the_rebuild_route_needs_operate_and_refuses_a_second_rebuild(firm: Running) -> None:
    app = firm.hub.app
    reader, operator = firm.token("read"), firm.token("operate")
    assert firm.api.post("/v1/projections/exceptions/rebuild", headers=reader).status_code == 403
    assert firm.api.post("/v1/projections/exceptions/rebuild").status_code == 401
    unknown = firm.api.post("/v1/projections/nope/rebuild", headers=operator)
    assert unknown.status_code == 404
    assert "golden_records" in unknown.json()["detail"]
    # A rebuild running elsewhere (another process holds its lock, its generation half-full).
    generation = active_generation(app, "exceptions")
    fresh = KINDS["exceptions"].view(app, generation + 1)
    fresh.create_table()
    try:
        with psycopg.connect(firm.hub.database_url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (rebuild_lock_key("exceptions"),))
            busy = firm.api.post("/v1/projections/exceptions/rebuild", headers=operator)
            assert busy.status_code == 409
            assert busy.headers["content-type"] == "application/problem+json"
            items = {
                p["name"]: p
                for p in firm.api.get("/v1/projections", headers=reader).json()["items"]
            }
            state = items["exceptions"]
            assert state["state"] == "rebuilding"
            assert state["rebuilding"] is True
            assert state["rebuild"]["generation"] == generation + 1
            assert state["rebuild"]["lag"] == state["head"]
            assert items["golden_records"]["state"] == "live"
    finally:
        fresh.drop()
    started = firm.api.post("/v1/projections/exceptions/rebuild", headers=operator)
    assert started.status_code == 202
    deadline = time.monotonic() + 60
    while (
        active_generation(app, "exceptions") == generation
        or firm.hub.rebuilds["exceptions"].done() is False
    ):
        assert time.monotonic() < deadline, "the rebuild did not finish"
        time.sleep(0.1)
    assert firm.hub.exceptions.generation == generation + 1
    assert firm.api.get("/v1/exceptions", headers=firm.token("operate", "read")).status_code == 200


def test_projection_status_shows_lag_in_events_and_seconds(firm: Running) -> None:
    _settle(firm)
    firm.hub.stop_projections()
    try:
        case = ExceptionCase.open(message_id="lagging", reason="RATE_MISMATCH")
        firm.hub.app.record(case, meta=META)
        time.sleep(1.1)
        items = {
            p["name"]: p for p in firm.api.get("/v1/projections", headers=firm.auth).json()["items"]
        }
        for name in KINDS:
            assert items[name]["lag"] >= 1
            assert items[name]["lag_seconds"] >= 1.0
            assert items[name]["state"] == "live"
        metrics = firm.api.get("/metrics").text
        assert 'pshub_projection_lag_events{projection="golden_records"}' in metrics
        lag_seconds = _metric(metrics, 'pshub_projection_lag_seconds{projection="exceptions"}')
        assert lag_seconds >= 1.0
        assert _metric(metrics, 'pshub_projection_generation{projection="exceptions"}') >= 1
    finally:
        firm.hub.start_projections()
        _settle(firm)
    items = {
        p["name"]: p for p in firm.api.get("/v1/projections", headers=firm.auth).json()["items"]
    }
    assert all(items[name]["lag"] == 0 and items[name]["lag_seconds"] == 0 for name in KINDS)


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} in /metrics")


def test_replay_until_an_instant_equals_what_as_of_answers(firm: Running) -> None:
    app = firm.hub.app
    _settle(firm)
    renamed = next(c for c in _list(firm) if not c.get("deleted"))
    time.sleep(0.01)
    until = datetime.now(UTC)
    time.sleep(0.01)
    client = app.get(UUID(renamed["id"]), Client)
    client.revise(legal_name="Renamed After The Instant")
    app.record(client, meta=META)
    later, _ = app.register_client(
        legal_name="Born Later Ltd", country="GB", billing_currency="GBP", meta=META
    )
    live_generation = active_generation(app, "golden_records")
    schema = "replay_test"
    env = processes.hub_env(
        firm.hub.database_url, "", firm.hub.settings.nats_prefix, db_pool_size="3"
    )
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "replay", "--until", until.isoformat(), "--into", schema],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        assert result.returncode == 0, result.stderr
        assert f"in schema {schema}" in result.stdout
        assert "events/s" in result.stderr
        with app.hub_recorder.datastore.get_connection() as conn:
            tables = [
                r["tablename"]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename "
                    "NOT IN ('golden_xrefs', 'golden_records_tracking')",
                    (schema,),
                ).fetchall()
            ]
            replayed = {
                (table, row["id"]): row["record"]
                for table in tables
                for row in conn.execute(
                    SQL("SELECT id, record FROM {}").format(Identifier(schema, table))
                ).fetchall()
            }
        assert len(replayed) > 100
        ids = {record_id for _, record_id in replayed}
        assert later.id not in ids
        assert replayed[("golden_clients", client.id)]["legal_name"] == renamed["legal_name"]
        # Every replayed record is what the API answers as of the instant (a sample by HTTP,
        # every one through the same query the API runs).
        for (table, record_id), record in replayed.items():
            then = as_of(app, record_id, until)
            assert then is not None and to_record(then) == record, (table, record_id)
        admin = firm.token("read", "read:pii", "read:confidential")
        for (table, record_id), record in list(replayed.items())[::25]:
            collection = table.removeprefix("golden_").replace("_", "-")
            answer = firm.api.get(
                f"/v1/{collection}/{record_id}", params={"as_of": until.isoformat()}, headers=admin
            )
            assert answer.status_code in (200, 410), answer.text
            body = answer.json() if answer.status_code == 200 else answer.json()["record"]
            assert body == record
        # The live projections were not touched.
        assert active_generation(app, "golden_records") == live_generation
        assert firm.api.get(f"/v1/clients/{later.id}", headers=firm.auth).status_code == 200
        # Bad inputs: the live schemas, a name that is no identifier, a schema that exists,
        # an option without the other.
        for args in (
            ["--into", "public"],
            ["--into", f"golden_g{live_generation}"],
            ["--into", "Bad-Name"],
            ["--into", schema],
        ):
            bad = subprocess.run(
                [sys.executable, "-m", "hub.cli", "replay", "--until", until.isoformat(), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert bad.returncode == 1, (args, bad.stderr)
            assert bad.stderr.startswith("pshub: error:"), bad.stderr
        alone = subprocess.run(
            [sys.executable, "-m", "hub.cli", "replay", "--into", "x"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert alone.returncode == 1 and "go together" in alone.stderr
        not_instant = subprocess.run(
            [sys.executable, "-m", "hub.cli", "replay", "--until", "yesterday", "--into", "x"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert not_instant.returncode == 2
    finally:
        with app.hub_recorder.datastore.get_connection() as conn:
            conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))


def test_the_relay_rebuilt_from_position_zero_publishes_what_the_live_one_did(
    scratch_database: str, stream_prefix: str, nats_url: str, settings: Settings
) -> None:
    """The relay's bookkeeping: a relay that ran live, while events were recorded, and one
    run from position zero into a fresh stream publish the same messages, one by one, and
    record the same position and stream sequence."""

    live_settings = settings.model_copy(
        update={"database_url": scratch_database, "nats_prefix": stream_prefix}
    )
    fresh_settings = live_settings.model_copy(update={"nats_prefix": f"{stream_prefix}B_"})
    app = build_application(live_settings, scratch_database)
    relays = []
    try:
        live = Hub(live_settings, scratch_database, nats_url, app)
        relay = build_relay(live)
        relay.start()
        relays.append(relay)
        aggregates = classified_scenario().aggregates
        half = len(aggregates) // 2
        for aggregate in aggregates[:half]:
            app.record(aggregate, meta=META)
        assert relay.wait_for(app.hub_recorder.select_head()[0], 30), relay.error
        for aggregate in aggregates[half:]:
            app.record(aggregate, meta=META)
        for n in range(3):
            app.record(ExceptionCase.open(message_id=f"r-{n}", reason="DRIFT"), meta=META)
        head = app.hub_recorder.select_head()[0]
        assert relay.wait_for(head, 30), relay.error
        fresh = Hub(fresh_settings, scratch_database, nats_url, app)
        rebuilt = build_relay(fresh)
        rebuilt.start()
        relays.append(rebuilt)
        assert rebuilt.wait_for(head, 30), rebuilt.error

        def normal(hub: Hub) -> list[tuple[Any, ...]]:
            prefix = hub.streams.prefix
            rows = []
            for message in read_events(nats_url, hub.streams):
                event = message.event
                event["id"] = event["id"].removeprefix(prefix)
                event["source"] = "/pshub"
                rows.append(
                    (
                        message.sequence,
                        message.subject.removeprefix(prefix),
                        message.headers["Nats-Msg-Id"].removeprefix(prefix),
                        event,
                    )
                )
            return rows

        live_rows, fresh_rows = normal(live), normal(fresh)
        assert len(live_rows) == head
        for a, b in zip(live_rows, fresh_rows, strict=True):
            assert a == b
        with psycopg.connect(scratch_database) as conn:
            book = {
                stream: (position, sequence)
                for stream, position, sequence in conn.execute(
                    "SELECT stream, position, stream_sequence FROM hub_relay"
                ).fetchall()
            }
        assert book[live.streams.events] == book[fresh.streams.events] == (head, head)
    finally:
        for relay in relays:
            relay.stop()
        app.close()


def test_a_switch_catches_the_new_generation_up_and_retires_the_old_one(firm: Running) -> None:
    """The new generation is caught up to the live one's position before the pointer moves
    (reads never go back); a page for the old generation is refused after the switch; the
    running projection follows to the new generation on its own."""
    app, name = firm.hub.app, "exceptions"
    old = active_generation(app, name)
    for n in range(4):
        app.record(ExceptionCase.open(message_id=f"s-{n}", reason="DRIFT"), meta=META)
    head = _settle(firm)
    fresh = KINDS[name].view(app, old + 1)
    fresh.drop()
    fresh.create_table()
    fence(fresh, name)
    runner = ProjectionRunner(KINDS[name].projection(app, fresh, own_states(app)), app.hub_recorder)
    assert runner.catch_up(until=head - 3) < head  # behind the live generation
    position = switch(app, name, old, runner)
    assert position >= head
    assert fresh.position(app.name) >= head
    assert active_generation(app, name) == old + 1
    retired = new_view(app, name, old)
    with pytest.raises(GenerationRetired):
        retired.write([], Tracking(app.name, head + 1_000))
    assert retired.position(app.name) == head  # nothing committed
    case = ExceptionCase.open(message_id="after-switch", reason="DRIFT")
    after = app.record(case, meta=META)
    live = firm.hub.runners[name]
    assert live.wait_for(after, 30), live.error
    assert live.projection.view.generation == old + 1  # type: ignore[attr-defined]
    assert firm.hub.exceptions.get(case.id) is not None
    KINDS[name].view(app, old).drop()


def test_the_command_line_refuses_what_it_cannot_rebuild(firm: Running) -> None:
    env = processes.hub_env(
        firm.hub.database_url, "", firm.hub.settings.nats_prefix, db_pool_size="3"
    )
    before = {name: active_generation(firm.hub.app, name) for name in KINDS}
    for args, code, message in (
        (["projections", "rebuild", "nope"], 1, "no projection nope"),
        (["projections", "rebuild", "exceptions", "--grace", "-1"], 2, "must not be negative"),
        (["projections", "rebuild"], 2, "required"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr, result.stderr
    with psycopg.connect(firm.hub.database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (rebuild_lock_key("exceptions"),))
        assert rebuild_running(firm.hub.app, "exceptions")  # the lock is seen as held
        busy = subprocess.run(
            [sys.executable, "-m", "hub.cli", "projections", "rebuild", "exceptions"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert busy.returncode == 1 and "being rebuilt already" in busy.stderr, busy.stderr
    assert {name: active_generation(firm.hub.app, name) for name in KINDS} == before
