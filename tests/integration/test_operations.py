"""Operating the hub: the exception queue (list, read, resolve, retry), projections (status,
rebuild beside the live generation), metrics and the AsyncAPI document."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from tests.support.changes import envelope
from tests.support.running import Running


def _wait(condition: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _rejected_time_entry(running: Running) -> dict[str, Any]:
    running.publish_events(
        envelope(
            "harvest",
            "client",
            {"id": "C1", "legal_name": "Queue Ltd", "country": "GB", "billing_currency": "GBP"},
            source_type="Client",
        ),
        envelope(
            "harvest",
            "engagement",
            {
                "id": "P1",
                "client": {"type": "Client", "id": "C1"},
                "name": "Audit",
                "currency": "GBP",
                "status": "active",
            },
            source_type="Project",
        ),
        envelope(
            "harvest",
            "resource",
            {"id": "U1", "name": "Ann", "email": "ann@firm.example", "role": "manager"},
            source_type="User",
        ),
    )
    bad = envelope(
        "harvest",
        "time_entry",
        {
            "id": "T1",
            "engagement": {"type": "Project", "id": "P1"},
            "resource": {"type": "User", "id": "U1"},
            "work_date": "2026-03-02",
            "hours": "30",
        },
        source_type="TimeEntry",
    )
    running.publish_events(bad)
    outcome = running.outcome(bad["id"])
    assert outcome["status"] == "rejected"
    return bad


def test_a_rejection_is_listed_read_and_resolved_by_an_operator(running: Running) -> None:
    bad = _rejected_time_entry(running)
    reader = running.token("read")
    listed = _wait(
        lambda: running.api.get(
            "/v1/exceptions",
            headers=reader,
            params={"reason": "RULE_VIOLATION", "entity": "time_entry"},
        ).json()["items"]
    )
    case = listed[0]
    assert case["message_id"] == bad["id"]
    assert case["rule"] == "implausible_duration"
    assert case["owner"] == "finance-ops"
    assert case["status"] == "open"
    one = running.api.get(f"/v1/exceptions/{case['id']}", headers=reader)
    assert one.json()["detail"].startswith("hours")
    refused = running.api.post(f"/v1/exceptions/{case['id']}/resolve", headers=reader, json={})
    assert refused.status_code == 403
    done = running.api.post(
        f"/v1/exceptions/{case['id']}/resolve",
        headers=running.token("operate"),
        json={"note": "wrong export"},
    )
    assert done.json()["status"] == "resolved"
    _wait(
        lambda: (
            running.api.get(f"/v1/exceptions/{case['id']}", headers=reader).json()["status"]
            == "resolved"
        )
    )


def test_a_retry_applies_the_stored_input_once_its_cause_is_fixed(running: Running) -> None:
    running.publish_events(
        envelope(
            "harvest",
            "client",
            {"id": "C9", "legal_name": "Retry Ltd", "country": "GB", "billing_currency": "GBR"},
            source_type="Client",
        )
    )
    letters = running.dead_letters(1)
    case_id = _wait(
        lambda: running.api.get(
            "/v1/exceptions", headers=running.token("read"), params={"reason": "INVALID_CURRENCY"}
        ).json()["items"]
    )[0]["id"]
    retried = running.api.post(f"/v1/exceptions/{case_id}/retry", headers=running.token("operate"))
    assert retried.status_code == 202
    # The input is still invalid: retried, still refused, and the case stays open.
    assert retried.json()["outcome"] == "dead_lettered"
    assert retried.json()["status"] == "open"
    assert letters[0].headers["Pshub-Reason"] == "INVALID_CURRENCY"


def test_projections_report_their_position_and_rebuild_beside_the_live_one(
    running: Running,
) -> None:
    _rejected_time_entry(running)
    reader, operator = running.token("read"), running.token("operate")
    head = running.hub.app.hub_recorder.select_head()[0]
    running.hub.runner.wait_for(head, 30)  # type: ignore[union-attr]
    before = {
        p["name"]: p for p in running.api.get("/v1/projections", headers=reader).json()["items"]
    }
    assert before["golden_records"]["position"] == head
    client = running.xref("harvest", "Client", "C1").json()
    started = running.api.post("/v1/projections/golden_records/rebuild", headers=operator)
    assert started.status_code == 202
    after = _wait(
        lambda: next(
            (
                p
                for p in running.api.get("/v1/projections", headers=reader).json()["items"]
                if p["name"] == "golden_records"
                and p["generation"] == before["golden_records"]["generation"] + 1
                and not p["rebuilding"]
            ),
            None,
        )
    )
    assert after["position"] >= head
    assert running.api.get(f"/v1/clients/{client['id']}", headers=running.auth).json() == client
    assert running.api.post("/v1/projections/nope/rebuild", headers=operator).status_code == 404


def test_the_command_line_rebuilds_every_projection(running: Running) -> None:
    _rejected_time_entry(running)
    running.hub.stop_projections()
    env = {"PSHUB_DATABASE_URL": running.hub.database_url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "replay"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "golden_records: generation 2" in result.stdout
    assert "exceptions: generation 2" in result.stdout


def test_metrics_and_the_asyncapi_document_are_open(running: Running) -> None:
    _rejected_time_entry(running)
    metrics = running.api.get("/metrics").text
    assert "pshub_ingest_messages_total" in metrics
    assert "pshub_log_head" in metrics
    assert 'pshub_projection_position{projection="golden_records"}' in metrics
    document = running.api.get("/asyncapi.json").json()
    assert document["asyncapi"].startswith("2.")
    assert any(name.endswith("ingest.{system}.time_entry") for name in document["channels"])
