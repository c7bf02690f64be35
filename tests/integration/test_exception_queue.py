"""The exception queue worked by people, over the running hub (PostgreSQL, NATS, the API):
owners from the routing table, actions as events with their actor, filters, counts by reason
and age band, the backlog gauge, links to the records, and cases that still close by
themselves while someone works them."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.auth import TokenStore
from hub.bootstrap import build_application
from hub.exception_retry import (
    RetryResult,
    register_retry,
    registered_retry,
    unregister_retry,
)
from hub.exceptions import ExceptionCase
from hub.ingest.engine import IngestEngine
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.integration.test_links import _cases, _entry, _work, _xero_contact, _xero_invoice
from tests.integration.test_operations import _rejected_time_entry
from tests.support.changes import envelope
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub

PROBLEM = "application/problem+json"


def _wait(condition: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _person(running: Running, name: str) -> dict[str, str]:
    token = TokenStore(running.hub.database_url).create(name, ["read", "operate"])
    return {"Authorization": f"Bearer {token}"}


def _raise(running: Running, *, age: timedelta = timedelta(0), **fields: Any) -> ExceptionCase:
    """Records a case as a part of the hub would, raised `age` ago."""
    case = ExceptionCase.open(message_id=f"feed:{uuid.uuid4()}", **fields)
    if age:
        for event in case.pending_events:  # the raise happened then, as the log will say
            object.__setattr__(event, "timestamp", datetime.now(UTC) - age)
    running.hub.app.record(case, meta=EventMeta(system="test", actor="test"))
    return case


def _projected(running: Running) -> None:
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["exceptions"].wait_for(head, 30)


def _ids(answer: Any) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {c["id"] for c in answer.json()["items"]}


def _problem(answer: Any, status: int, field: str, rule: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in body["errors"]
    ], body
    return body


def test_a_case_is_assigned_and_dismissed_by_people_each_action_in_its_history(
    running: Running,
) -> None:
    bad = _rejected_time_entry(running)
    lead, ann, reader = _person(running, "lead"), _person(running, "ann"), running.token("read")
    case = _wait(
        lambda: running.api.get(
            "/v1/exceptions", headers=reader, params={"reason": "RULE_VIOLATION"}
        ).json()["items"]
    )[0]
    url = f"/v1/exceptions/{case['id']}"
    assert (case["owner"], case["status"], case["assignee"]) == ("finance-ops", "open", None)
    assert case["failed_on"] == "implausible_duration" and case["waiting_for"] is None
    assert case["links"]["message"] == f"/v1/ingest/{bad['id']}"
    assert running.api.get(case["links"]["message"], headers=reader).status_code == 200

    refused = running.api.post(f"{url}/assign", headers=reader, json={"assignee": "ann"})
    assert refused.status_code == 403
    _problem(
        running.api.post(f"{url}/assign", headers=lead, json={}),
        422,
        "assignee",
        "assignee_or_owner_required",
    )
    _problem(
        running.api.post(f"{url}/assign", headers=lead, json={"assignee": " "}),
        422,
        "assignee",
        "string_pattern_mismatch",
    )
    assigned = running.api.post(
        f"{url}/assign", headers=lead, json={"assignee": "ann", "comment": "yours"}
    )
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["status"], assigned.json()["assignee"]) == ("in_progress", "ann")
    after = {"min_position": str(assigned.json()["position"])}
    assert running.api.get(url, headers=reader, params=after).json()["assignee"] == "ann"
    beyond = {"min_position": str(assigned.json()["position"] + 1000)}
    _problem(running.api.get(url, headers=reader, params=beyond), 422, "min_position", "maximum")
    _projected(running)
    assert _ids(running.api.get("/v1/exceptions", headers=reader, params={"owner": "ann"})) == {
        case["id"]
    }
    assert _ids(
        running.api.get("/v1/exceptions", headers=reader, params={"status": "in_progress"})
    ) == {case["id"]}
    assert (
        _ids(running.api.get("/v1/exceptions", headers=reader, params={"status": "open"})) == set()
    )

    # A dismissal says why: no comment, or only spaces, is refused naming the field and rule.
    _problem(running.api.post(f"{url}/dismiss", headers=ann, json={}), 422, "comment", "missing")
    _problem(
        running.api.post(f"{url}/dismiss", headers=ann, json={"comment": "   "}),
        422,
        "comment",
        "string_pattern_mismatch",
    )
    dismissed = running.api.post(
        f"{url}/dismiss", headers=ann, json={"comment": "hours were typed for a week"}
    )
    assert dismissed.json()["status"] == "dismissed"

    # Closed: every action is a conflict, and nothing more is recorded.
    head = running.hub.app.hub_recorder.select_head()[0]
    for action, body in (
        ("resolve", {"comment": "x"}),
        ("retry", None),
        ("assign", {"assignee": "bob"}),
        ("dismiss", {"comment": "again"}),
    ):
        answer = running.api.post(f"{url}/{action}", headers=lead, json=body)
        problem = _problem(answer, 409, "status", "case_must_be_open")
        assert problem["status"] == 409 and problem["case_status"] == "dismissed"
    assert running.hub.app.hub_recorder.select_head()[0] == head

    _projected(running)
    seen = running.api.get(url, headers=reader).json()
    assert seen["status"] == "dismissed"
    assert seen["status_changed"]["by"] == "ann" and seen["closed_by"] == "ann"
    assert [(h["action"], h["by"], h["comment"]) for h in seen["history"]] == [
        ("raised", "hub", ""),
        ("assigned", "lead", "yours"),
        ("dismissed", "ann", "hours were typed for a week"),
    ]
    times = [datetime.fromisoformat(h["at"]) for h in seen["history"]]
    assert times == sorted(times) and times[0] == datetime.fromisoformat(seen["raised_at"])
    assert seen["closed_at"] == seen["history"][-1]["at"]
    assert seen["age_seconds"] == int((times[-1] - times[0]).total_seconds())

    # Rebuilt from position zero, the queue shows the same case.
    running.hub.rebuild_projection("exceptions")
    rebuilt = running.api.get(url, headers=reader).json()
    assert {k: v for k, v in rebuilt.items() if k != "links"} == {
        k: v for k, v in seen.items() if k != "links"
    }

    missing = f"/v1/exceptions/{uuid.uuid4()}"
    for action, body in (
        ("resolve", {}),
        ("retry", None),
        ("assign", {"assignee": "bob"}),
        ("dismiss", {"comment": "x"}),
    ):
        answer = running.api.post(f"{missing}/{action}", headers=lead, json=body)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith(PROBLEM)
    assert running.api.get(missing, headers=reader).status_code == 404


@pytest.fixture
def timeouts() -> Iterator[list[str]]:
    """A retry handler for DOWNSTREAM_TIMEOUT as feeds would register: it fails, then
    delivers."""
    calls: list[str] = []

    def redeliver(hub: Any, case: ExceptionCase) -> RetryResult:
        calls.append(case.subject)
        if len(calls) == 1:
            return RetryResult("failed", False, "DOWNSTREAM_TIMEOUT", "no answer from xero")
        return RetryResult("delivered", True)

    yield from _replacing("DOWNSTREAM_TIMEOUT", redeliver, calls)


def _replacing(reason: str, handler: Any, value: Any) -> Iterator[Any]:
    """The hub's own handler is put back after: later modules in this worker retry with it."""
    previous = registered_retry(reason)
    register_retry(reason, handler)
    try:
        yield value
    finally:
        if previous is None:
            unregister_retry(reason)
        else:
            register_retry(reason, previous)


def test_a_retry_runs_the_handler_registered_for_its_reason(
    running: Running, timeouts: list[str]
) -> None:
    case = _raise(
        running,
        reason="DOWNSTREAM_TIMEOUT",
        rule="acknowledgement",
        entity="engagement",
        system="xero",
        subject="feed.xero.engagement",
        canonical_ids=[uuid.uuid4()],
    )
    ops, url = _person(running, "ops"), f"/v1/exceptions/{case.id}"
    first = running.api.post(f"{url}/retry", headers=ops, json={"comment": "try again"})
    assert first.status_code == 202, first.text
    assert (first.json()["outcome"], first.json()["status"]) == ("failed", "open")
    assert first.json()["detail"] == "no answer from xero"
    # Given to another team alone: in progress, waiting for someone there.
    rerouted = running.api.post(f"{url}/assign", headers=ops, json={"owner": "integration-emea"})
    assert rerouted.json() | {"position": 0} == {
        "id": str(case.id),
        "status": "in_progress",
        "owner": "integration-emea",
        "assignee": None,
        "position": 0,
    }
    second = running.api.post(f"{url}/retry", headers=ops)
    assert (second.json()["outcome"], second.json()["status"]) == ("delivered", "resolved")
    assert timeouts == ["feed.xero.engagement", "feed.xero.engagement"]
    _projected(running)
    seen = running.api.get(url, headers=running.token("read")).json()
    assert seen["retries"] == 2 and seen["owner"] == "integration-emea"
    assert [(h["action"], h.get("outcome"), h["by"]) for h in seen["history"]] == [
        ("raised", None, "hub"),
        ("retried", "failed", "ops"),
        ("assigned", None, "ops"),
        ("retried", "delivered", "ops"),
        ("resolved", None, "ops"),
    ]
    assert seen["history"][1]["comment"] == "try again"


def test_a_failing_retry_handler_is_recorded_on_the_case_which_stays_open(
    running: Running,
) -> None:
    def broken(hub: Any, case: ExceptionCase) -> RetryResult:
        raise RuntimeError("the target's API answered nonsense")

    previous = registered_retry("DRIFT")
    register_retry("DRIFT", broken)
    try:
        case = _raise(running, reason="DRIFT", system="netsuite")
        url = f"/v1/exceptions/{case.id}"
        answer = running.api.post(f"{url}/retry", headers=_person(running, "ops"))
        assert answer.status_code == 202, answer.text
        assert (answer.json()["outcome"], answer.json()["status"]) == ("error", "open")
        assert answer.json()["reason"] == "PROCESSING_FAILED"
        assert "nonsense" in answer.json()["detail"]
        # Read-your-writes: the answer's position, waited for by the read.
        seen = running.api.get(
            url, headers=running.token("read"), params={"min_position": answer.json()["position"]}
        )
        history = seen.json()["history"]
        assert [(h["action"], h.get("outcome")) for h in history] == [
            ("raised", None),
            ("retried", "error"),
        ]
    finally:  # the hub's own (reconciliation's re-feed) back, for later modules
        if previous is None:
            unregister_retry("DRIFT")
        else:
            register_retry("DRIFT", previous)


def _firm(running: Running, project: str = "P1", **engagement: str) -> tuple[str, str]:
    """A client, an engagement and one approved time entry on it: (engagement, entry) ids."""
    entry_id = f"T{project}"
    running.publish_events(
        envelope(
            "harvest",
            "client",
            {"id": "C1", "legal_name": "Age Ltd", "country": "GB", "billing_currency": "GBP"},
            source_type="Client",
        ),
        envelope(
            "harvest",
            "engagement",
            {
                "id": project,
                "client": {"type": "Client", "id": "C1"},
                "name": "Audit",
                "currency": "GBP",
                "status": "active",
                **engagement,
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
    entry = _time_entry(running, project, entry_id, "3")
    assert running.outcome(entry)["status"] == "applied"
    return (
        running.xref("harvest", "Project", project).json()["id"],
        running.xref("harvest", "TimeEntry", entry_id).json()["id"],
    )


def _time_entry(running: Running, project: str, entry_id: str, hours: str) -> str:
    body = envelope(
        "harvest",
        "time_entry",
        {
            "id": entry_id,
            "engagement": {"type": "Project", "id": project},
            "resource": {"type": "User", "id": "U1"},
            "work_date": "2026-03-02",
            "hours": hours,
        },
        source_type="TimeEntry",
    )
    running.publish_events(body)
    return str(body["id"])


def test_owners_come_from_the_routing_table_in_the_settings(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = (
        '{"routes": [{"legal_entity": "PS-UK-LTD", "reason": "RULE_VIOLATION", "owner": '
        '"time-desk-uk"}, {"reason": "RULE_VIOLATION", "owner": "time-desk"}, '
        '{"reason": "RATE_MISMATCH", "legal_entity": "PS-UK-LTD", "owner": "finance-uk"}, '
        '{"region": "APAC", "owner": "apac-ops"}, '
        '{"reason": "INVALID_CURRENCY", "legal_entity": "PS-NL-BV", "owner": "integration-nl"}]}'
    )
    # Refused input belongs to the legal entity its source books to.
    monkeypatch.setenv("PSHUB_ADAPTER_ODOO_LEGAL_ENTITY", "PS-NL-BV")
    with running_hub(settings, make_database, nats_url, exception_routing=routes) as running:
        # Ingest rejects 30 hours on a day: the case belongs where the entry's engagement does.
        _firm(running, "P1", legal_entity="PS-UK-LTD", region="EMEA")
        _firm(running, "P2")
        uk_entry = _time_entry(running, "P1", "X1", "30")
        other_entry = _time_entry(running, "P2", "X2", "30")
        assert {running.outcome(m)["status"] for m in (uk_entry, other_entry)} == {"rejected"}
        refused = envelope(
            "odoo",
            "client",
            {"id": "9", "legal_name": "Munt BV", "country": "NL", "billing_currency": "NLG"},
            source_type="res.partner",
        )
        running.publish_events(refused)
        running.dead_letters(1)
        uk = _raise(running, reason="RATE_MISMATCH", legal_entity="PS-UK-LTD")
        us = _raise(running, reason="RATE_MISMATCH", legal_entity="PS-US-INC")
        apac = _raise(running, reason="UNRESOLVED_LINK", region="APAC")
        _projected(running)
        reader = running.token("read")
        owners = {
            c["message_id"]: (c["owner"], c["region"], c["legal_entity"])
            for c in running.api.get("/v1/exceptions", headers=reader).json()["items"]
        }
        assert owners == {
            uk_entry: ("time-desk-uk", "EMEA", "PS-UK-LTD"),
            other_entry: ("time-desk", None, None),
            uk.message_id: ("finance-uk", None, "PS-UK-LTD"),
            us.message_id: ("finance-ops", None, "PS-US-INC"),
            apac.message_id: ("apac-ops", "APAC", None),
            refused["id"]: ("integration-nl", None, "PS-NL-BV"),
        }
        assert _ids(
            running.api.get("/v1/exceptions", headers=reader, params={"owner": "finance-uk"})
        ) == {str(uk.id)}


def _gauge(text: str, reason: str, band: str) -> float | None:
    pattern = (
        rf'^pshub_exception_backlog\{{age_band="{re.escape(band)}",reason="{reason}"\}} (\S+)$'
    )
    found = re.search(pattern, text, re.MULTILINE)
    return None if found is None else float(found.group(1))


def test_filters_counts_by_reason_and_age_band_links_and_the_backlog_gauge(
    running: Running,
) -> None:
    engagement, entry = _firm(running)
    on_engagement = _raise(
        running,
        reason="RATE_MISMATCH",
        entity="engagement",
        canonical_ids=[uuid.UUID(engagement)],
        age=timedelta(hours=2),
    )
    older = _raise(running, reason="RATE_MISMATCH", age=timedelta(days=3))
    on_entry = _raise(
        running,
        reason="MISSING_APPROVAL",
        entity="time_entry",
        canonical_ids=[uuid.UUID(entry)],
        age=timedelta(days=10),
    )
    drift = _raise(running, reason="DRIFT", system="xero")
    closed = _raise(running, reason="MISSING_APPROVAL", age=timedelta(days=10))
    ops = _person(running, "ops")
    assert (
        running.api.post(
            f"/v1/exceptions/{closed.id}/dismiss",
            headers=ops,
            json={"comment": "approved on paper"},
        ).status_code
        == 200
    )
    _projected(running)
    reader = running.token("read")

    def listed(**params: str) -> set[str]:
        return _ids(running.api.get("/v1/exceptions", headers=reader, params=params))

    backlog = "open,in_progress"
    ids = {
        name: str(case.id)
        for name, case in (
            ("on_engagement", on_engagement),
            ("older", older),
            ("on_entry", on_entry),
            ("drift", drift),
            ("closed", closed),
        )
    }
    assert listed(status=backlog, age_min="P1D") == {ids["older"], ids["on_entry"]}
    # A closed case's age runs until it closed: 10 days.
    assert listed(age_min="P1D") == {ids["older"], ids["on_entry"], ids["closed"]}
    assert listed(age_max="PT3H") == {ids["on_engagement"], ids["drift"]}
    assert listed(age_min="3600", age_max="P5D") == {ids["on_engagement"], ids["older"]}
    assert listed(engagement=engagement) == {ids["on_engagement"], ids["on_entry"]}
    assert listed(engagement=str(uuid.uuid4())) == set()
    assert listed(system="xero") == {ids["drift"]}
    assert listed(reason="RATE_MISMATCH,DRIFT") == {
        ids["on_engagement"],
        ids["older"],
        ids["drift"],
    }

    counts = running.api.get(
        "/v1/exceptions/counts", headers=reader, params={"status": backlog}
    ).json()
    assert counts["total"] == 4
    assert counts["by_reason"] == {"RATE_MISMATCH": 2, "MISSING_APPROVAL": 1, "DRIFT": 1}
    assert counts["by_age_band"] == {"<1h": 1, "1-24h": 1, "1-7d": 1, ">7d": 1}
    assert counts["by_reason_and_age_band"]["RATE_MISMATCH"] == {
        "<1h": 0,
        "1-24h": 1,
        "1-7d": 1,
        ">7d": 0,
    }
    every = running.api.get("/v1/exceptions/counts", headers=reader).json()
    assert every["by_status"] == {"open": 4, "dismissed": 1}
    assert every["by_reason"]["MISSING_APPROVAL"] == 2

    metrics = running.api.get("/metrics").text
    assert _gauge(metrics, "MISSING_APPROVAL", ">7d") == 1.0  # the dismissed one is not backlog
    assert _gauge(metrics, "RATE_MISMATCH", "1-24h") == 1.0
    assert _gauge(metrics, "RATE_MISMATCH", "<1h") == 0.0
    assert _gauge(metrics, "DRIFT", "<1h") == 1.0

    # Links: the golden record and its source record, each a route that answers.
    seen = running.api.get(f"/v1/exceptions/{on_entry.id}", headers=reader).json()
    assert seen["age_seconds"] >= 10 * 86400
    [record] = seen["links"]["records"]
    assert (record["entity"], record["url"]) == ("time_entry", f"/v1/time-entries/{entry}")
    assert running.api.get(record["url"], headers=running.auth).status_code == 200
    [xref] = record["xrefs"]
    assert xref["url"] == "/v1/xref/harvest/timeentry/TP1?tenant=t1"  # types match in any case
    assert running.api.get(xref["url"], headers=reader).json()["id"] == entry
    assert seen["links"]["message"] is None  # raised by a part of the hub, not by a message

    # Bad filters name the field and the rule.
    for params, field, rule in (
        ({"age_min": "soon"}, "age_min", "time_delta_parsing"),
        ({"age_max": "-3600"}, "age_max", "not_negative"),
        ({"age_min": "P2D", "age_max": "P1D"}, "age_max", "not_below_age_min"),
        ({"status": "closed"}, "status", "one_of"),
        ({"engagement": "P1"}, "engagement", "uuid_parsing"),
    ):
        for route in ("/v1/exceptions", "/v1/exceptions/counts"):
            _problem(running.api.get(route, headers=reader, params=params), 422, field, rule)
    assert running.api.get("/v1/exceptions/counts").status_code == 401


@pytest.fixture
def engine(settings: Settings, scratch_database: str) -> Iterator[IngestEngine]:
    app = build_application(settings, scratch_database)
    yield IngestEngine(app)
    app.close()


def test_a_case_someone_works_still_closes_by_itself_when_the_record_arrives(
    engine: IngestEngine,
) -> None:
    engine.process([_entry("T9"), _xero_invoice()])  # no project P1 yet; no Xero contact
    later = datetime.now(UTC) + timedelta(hours=25)
    assert len(engine.sweep_overdue(timedelta(hours=24), now=later)) == 2
    [waiting] = _cases(engine, "UNKNOWN_AGGREGATE")
    [link] = _cases(engine, "UNRESOLVED_LINK")
    assert waiting.waiting_for == "xref:harvest|t1|project|P1"
    assert link.waiting_for == "xref:xero|t1|contact|CONTACT-9"
    for case in (waiting, link):
        case.assign(by="lead", assignee="ann")
        engine.app.record(case, meta=EventMeta(system="api", actor="lead"))
    _work(engine)
    engine.unpark()
    engine.process([_xero_contact()])
    for reason in ("UNKNOWN_AGGREGATE", "UNRESOLVED_LINK"):
        [case] = _cases(engine, reason)
        assert case.status == "resolved"
        assert [(h["action"], h["by"]) for h in case.history] == [
            ("raised", "hub"),
            ("assigned", "lead"),
            ("resolved", "ingest"),
        ]
