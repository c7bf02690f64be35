"""Verifiable history: the hash chain detects tampering done directly in the database as
superuser, and the export re-verifies offline."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from domain.client import Contact
from hub import audit
from hub.api.app import create_app
from hub.auth import TokenStore
from hub.bootstrap import Hub, build_hub
from hub.settings import Settings
from hub.store.recorder import EventMeta

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "ops" / "audit" / "verify_export.py"


@pytest.fixture
def fresh_hub(settings: Settings, scratch_database: str) -> Iterator[Hub]:
    """A hub on a database of its own, with six events: tampering must not spill over."""
    hub = build_hub(settings.model_copy(update={"database_url": scratch_database}))
    for i in range(3):
        client, _ = hub.app.register_client(
            legal_name=f"Audited {i} plc",
            country="GB",
            billing_currency="GBP",
            contacts=[Contact(name=f"Person {i}", email=f"p{i}@example.com")],
            meta=EventMeta(actor="test", system="crm", message_id=f"m{i}"),
        )
        client.revise(tax_id=f"GB{i:09d}")
        hub.app.record(client, meta=EventMeta(actor="test"))
    yield hub
    hub.close()


def _tamper(hub: Hub, *statements: str) -> None:
    """Changes events as superuser, with the append-only trigger switched off first."""
    with psycopg.connect(hub.database_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def _verify(hub: Hub) -> audit.Verification:
    return audit.verify(hub.database_url, hub.app.hub_recorder.events_table_name)


def test_an_untouched_log_verifies_intact(fresh_hub: Hub) -> None:
    result = _verify(fresh_hub)
    assert result.as_json() == {"intact": True, "checked": 6, "first_break": None}


def test_detects_one_changed_byte(fresh_hub: Hub) -> None:
    _tamper(
        fresh_hub,
        "UPDATE hub_events SET state = overlay(state placing '\\x58'::bytea "
        "from 12 for 1) WHERE notification_id = 3",
    )
    result = _verify(fresh_hub)
    assert not result.intact
    assert result.first_break is not None
    assert result.first_break.position == 3
    assert result.checked == 2


def test_detects_a_changed_metadata_field(fresh_hub: Hub) -> None:
    _tamper(fresh_hub, "UPDATE hub_events SET actor = 'mallory' WHERE notification_id = 5")
    result = _verify(fresh_hub)
    assert result.first_break is not None
    assert result.first_break.position == 5


def test_detects_a_deleted_row(fresh_hub: Hub) -> None:
    _tamper(fresh_hub, "DELETE FROM hub_events WHERE notification_id = 4")
    result = _verify(fresh_hub)
    assert result.first_break is not None
    assert result.first_break.position == 4
    assert "missing" in result.first_break.reason


def test_a_deleted_newest_event_shortens_the_chain_which_only_an_earlier_count_reveals(
    fresh_hub: Hub,
) -> None:
    # Deleting the newest event leaves a shorter, still-consistent chain: the head table-row
    # count is what tells. We check that verify reports every remaining event as intact and
    # that the count dropped, which is what an auditor compares with an earlier export.
    _tamper(fresh_hub, "DELETE FROM hub_events WHERE notification_id = 6")
    assert _verify(fresh_hub).checked == 5


def test_detects_two_rows_with_swapped_contents(fresh_hub: Hub) -> None:
    _tamper(
        fresh_hub,
        "CREATE TEMP TABLE swap AS SELECT notification_id, state FROM hub_events "
        "WHERE notification_id IN (2, 5)",
        "UPDATE hub_events e SET state = s.state FROM swap s "
        "WHERE e.notification_id = 2 AND s.notification_id = 5",
        "UPDATE hub_events e SET state = s.state FROM swap s "
        "WHERE e.notification_id = 5 AND s.notification_id = 2",
    )
    result = _verify(fresh_hub)
    assert result.first_break is not None
    assert result.first_break.position == 2


def test_verify_over_http_and_from_the_command_line(fresh_hub: Hub) -> None:
    _tamper(fresh_hub, "UPDATE hub_events SET system = 'forged' WHERE notification_id = 2")
    token = TokenStore(fresh_hub.database_url).create("auditor", ["audit"])
    with TestClient(create_app(fresh_hub)) as api:
        resp = api.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token}"})
        reader = TokenStore(fresh_hub.database_url).create("reader", ["read"])
        forbidden = api.get("/v1/audit/verify", headers={"Authorization": f"Bearer {reader}"})
    assert resp.status_code == 200
    assert resp.json()["intact"] is False
    assert resp.json()["first_break"]["position"] == 2
    assert forbidden.status_code == 403

    cli = subprocess.run(
        [sys.executable, "-m", "hub.cli", "audit", "verify"],
        env={"PSHUB_DATABASE_URL": fresh_hub.database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1
    assert json.loads(cli.stdout)["first_break"]["position"] == 2


def _export(api: TestClient, token: str, **params: str) -> list[dict]:
    resp = api.get("/v1/audit/export", params=params, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in resp.text.splitlines()]


def test_an_export_re_verifies_offline_and_detects_an_edited_line(
    fresh_hub: Hub, tmp_path: Path
) -> None:
    full = TokenStore(fresh_hub.database_url).create(
        "full-auditor", ["audit", "read:pii", "read:confidential"]
    )
    with TestClient(create_app(fresh_hub)) as api:
        lines = _export(api, full)
    assert [line["position"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0]["data"]["contacts"][0]["email"] == "p0@example.com"
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ok = subprocess.run(
        [sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True, timeout=60
    )
    assert (ok.returncode, ok.stdout.strip()) == (0, "intact")

    lines[3]["actor"] = "mallory"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    bad = subprocess.run(
        [sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1
    assert "position 4" in bad.stdout


def test_an_export_without_read_pii_leaves_personal_data_out_and_still_verifies(
    fresh_hub: Hub, tmp_path: Path
) -> None:
    token = TokenStore(fresh_hub.database_url).create("plain-auditor", ["audit"])
    with TestClient(create_app(fresh_hub)) as api:
        lines = _export(api, token)
    registered = lines[0]
    assert "contacts" not in registered["data"]
    assert "state" not in registered
    assert "p0@example.com" not in json.dumps(lines)
    path = tmp_path / "redacted.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ok = subprocess.run(
        [sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True, timeout=60
    )
    assert ok.stdout.strip() == "intact"


def test_an_export_window_carries_the_previous_hash(fresh_hub: Hub) -> None:
    with psycopg.connect(fresh_hub.database_url) as conn:
        (third_at,) = conn.execute(
            "SELECT recorded_at FROM hub_events WHERE notification_id = 3"
        ).fetchone()
    token = TokenStore(fresh_hub.database_url).create("window", ["audit"])
    with TestClient(create_app(fresh_hub)) as api:
        lines = _export(api, token, since=third_at.isoformat())
        refused = api.get(
            "/v1/audit/export",
            params={"since": "yesterday"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert lines[0]["position"] <= 3
    assert lines[0]["prev_hash"] != "00" * 32 or lines[0]["position"] == 1
    assert refused.status_code == 422
