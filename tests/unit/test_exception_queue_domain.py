"""The exception case's lifecycle and the routing table that gives each case its owner (pure:
no store, no broker)."""

from __future__ import annotations

import pytest

from hub import exception_routing
from hub.exception_routing import RoutingTable
from hub.exceptions import CaseClosedError, ExceptionCase

ROUTES = (
    '{"default": "back-office", "routes": ['
    '{"reason": "RATE_MISMATCH", "legal_entity": "PS-UK-LTD", "owner": "finance-uk"},'
    '{"region": "APAC", "owner": "apac-ops"}]}'
)


def test_the_built_in_table_routes_by_reason_with_finance_ops_for_the_rest() -> None:
    table = RoutingTable.from_json(None)
    assert table.owner_for("UNRESOLVED_LINK") == "data-stewardship"
    assert table.owner_for("FETCH_FAILED", region="APAC") == "integration"
    assert table.owner_for("MISSING_APPROVAL") == "finance-ops"


def test_the_settings_routes_come_first_by_legal_entity_and_region() -> None:
    table = RoutingTable.from_json(ROUTES)
    assert table.owner_for("RATE_MISMATCH", legal_entity="PS-UK-LTD") == "finance-uk"
    assert table.owner_for("RATE_MISMATCH", legal_entity="PS-US-INC") == "back-office"
    # A region's route is tried before the built-in ones, whatever the reason.
    assert table.owner_for("UNRESOLVED_LINK", region="APAC") == "apac-ops"
    assert table.owner_for("UNRESOLVED_LINK", region="EMEA") == "data-stewardship"
    replaced = RoutingTable.from_json('{"replace": true, "routes": []}')
    assert replaced.owner_for("UNRESOLVED_LINK") == "finance-ops"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("{", "not JSON"),
        ("[]", "JSON object"),
        ('{"route": []}', "unknown keys"),
        ('{"routes": [{"reason": "DRIFT"}]}', "owner is required"),
        ('{"routes": [{"owner": "x", "country": "GB"}]}', "unknown keys"),
        ('{"routes": [{"owner": ""}]}', "non-empty"),
        ('{"default": 3}', "default"),
    ],
)
def test_a_broken_table_is_refused_naming_what_is_wrong(text: str, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        RoutingTable.from_json(text)


def test_a_case_takes_its_owner_from_the_table_in_force() -> None:
    try:
        exception_routing.configure(ROUTES)
        uk = ExceptionCase.open(message_id="m1", reason="RATE_MISMATCH", legal_entity="PS-UK-LTD")
        assert (uk.owner, uk.legal_entity) == ("finance-uk", "PS-UK-LTD")
        given = ExceptionCase.open(message_id="m2", reason="RATE_MISMATCH", owner="someone")
        assert given.owner == "someone"
    finally:
        exception_routing.configure(None)
    assert ExceptionCase.open(message_id="m3", reason="RATE_MISMATCH").owner == "finance-ops"


def _replayed(case: ExceptionCase) -> ExceptionCase:
    events = case.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None
    return replayed


def test_each_action_is_an_event_with_its_actor_time_and_comment() -> None:
    case = ExceptionCase.open(message_id="m", reason="MISSING_APPROVAL", waiting_for="xref:a|t|b|1")
    case.assign(by="lead", assignee="ann", comment="yours")
    assert (case.status, case.assignee, case.owner) == ("in_progress", "ann", "finance-ops")
    case.assign(by="ann", assignee="bob", owner="finance-uk")
    with pytest.raises(ValueError, match="person or an owning team"):
        case.assign(by="bob", assignee=" ")
    case.note_retry(by="bob", outcome="failed", comment="still missing")
    case.resolve(by="bob", note="approved now")
    assert case.status == "resolved" and case.closed
    assert [h["action"] for h in case.history] == [
        "raised",
        "assigned",
        "assigned",
        "retried",
        "resolved",
    ]
    assert case.history[2] == {
        "action": "assigned",
        "by": "ann",
        "at": case.history[2]["at"],
        "comment": "",
        "assignee": "bob",
        "owner": "finance-uk",
    }
    assert all(h["at"] for h in case.history[1:])
    assert "assignee" not in case.history[0]
    assert case.closed_at == case.history[-1]["at"] and case.closed_by == "bob"
    # The same history from the events alone (a rebuild, another process).
    replayed = _replayed(case)
    assert replayed.history == case.history
    assert (replayed.status, replayed.owner, replayed.closed_at) == (
        "resolved",
        "finance-uk",
        case.closed_at,
    )


def test_a_closed_case_takes_no_more_actions_and_a_dismissal_needs_a_comment() -> None:
    case = ExceptionCase.open(message_id="m", reason="DRIFT")
    with pytest.raises(ValueError, match="comment"):
        case.dismiss(by="ann", comment="  ")
    case.dismiss(by="ann", comment="the target was wrong, fixed there")
    assert (case.status, case.resolution) == ("dismissed", "the target was wrong, fixed there")
    with pytest.raises(CaseClosedError):
        case.assign(by="ann", assignee="bob")
    with pytest.raises(CaseClosedError):
        case.dismiss(by="ann", comment="again")
    version = case.version
    case.resolve(by="ingest")  # ingest closing what a person closed first: nothing happens
    assert (case.version, case.status) == (version, "dismissed")


def test_cases_recorded_before_the_queue_was_worked_by_people_still_replay() -> None:
    case = ExceptionCase.open(message_id="m", reason="UNKNOWN_AGGREGATE")
    case.note_retry(by="ops")
    case.resolve(by="ingest", note="applied")
    events = case.collect_events()
    # Stored events are rebuilt from their recorded state: remove what older hubs did not record.
    for name in ("waiting_for", "region", "legal_entity", "raised_by"):
        del events[0].__dict__[name]
    for name in ("outcome", "comment"):
        del events[1].__dict__[name]
    replayed = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert (replayed.status, replayed.waiting_for, replayed.retries) == ("resolved", "", 1)
    assert [(h["action"], h["by"]) for h in replayed.history] == [
        ("raised", "hub"),
        ("retried", "ops"),
        ("resolved", "ingest"),
    ]
