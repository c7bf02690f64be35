"""Billing readiness over NATS ingest and PostgreSQL: an accepted milestone becomes
billing-ready when every check holds, or gets one case per failed check with its reason;
fixing the input closes the case and makes it ready; a retry re-runs the checks; a rebuild
from position zero records nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.milestone import Milestone
from hub.exceptions import ExceptionCase
from hub.projecting import KINDS, own_states
from hub.readiness import entities
from hub.readiness.settle import ACTOR, case_id
from hub.settings import Settings
from projections.runner import ProjectionRunner
from tests.support.changes import envelope, money, ref
from tests.support.running import Running, running_hub

ENTITIES = '{"PS-UK-LTD": "GB"}'


@pytest.fixture
def hub(settings: Settings, make_database: Any, nats_url: str) -> Iterator[Running]:
    with running_hub(
        settings, make_database, nats_url, ingest_max_deliveries=3, legal_entities=ENTITIES
    ) as running:
        yield running
    entities.configure(None)


def _h(entity: str, data: dict[str, Any], source_type: str, seq: int = 1) -> dict[str, Any]:
    return envelope("harvest", entity, data, source_type=source_type, seq=seq)


def _publish(running: Running, *bodies: dict[str, Any]) -> None:
    running.publish_events(*bodies)
    outcomes = running.settle([b["id"] for b in bodies])
    assert [o["status"] for o in outcomes] == ["applied"] * len(bodies), outcomes
    _caught_up(running)


def _caught_up(running: Running) -> None:
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["billing_readiness"].wait_for(head, 30)


def _id(running: Running, type_: str, source_id: str) -> UUID:
    found = running.xref("harvest", type_, source_id)
    assert found.status_code == 200, found.text
    return UUID(found.json()["id"])


def _engagement(
    code: str, *, contract: str = "active", treatment: str = "standard", vat: str = "GB123"
) -> list[dict[str, Any]]:
    # The consultant who books the time, once per hub (a second publish is a duplicate).
    resource = [] if code != "P1" else [_resource()]
    return [
        *resource,
        _h(
            "client",
            {
                "id": f"C-{code}",
                "legal_name": f"{code} Ltd",
                "country": "GB",
                "billing_currency": "GBP",
                "tax_id": vat,
            },
            "Client",
        ),
        _h(
            "engagement",
            {
                "id": code,
                "client": ref("Client", f"C-{code}"),
                "name": f"Engagement {code}",
                "currency": "GBP",
                "status": "active",
                "legal_entity": "PS-UK-LTD",
            },
            "Project",
        ),
        _h(
            "contract",
            {
                "id": f"K-{code}",
                "engagement": ref("Project", code),
                "type": "fixed_fee",
                "currency": "GBP",
                "value": money("3000.00"),
                "status": contract,
                "tax_treatment": treatment,
            },
            "Contract",
        ),
    ]


def _resource() -> dict[str, Any]:
    return _h("resource", {"id": "U1", "name": "Ann", "email": "ann@firm.example"}, "User")


def _time(id_: str, project: str, status: str, seq: int = 1) -> dict[str, Any]:
    data = {
        "id": id_,
        "engagement": ref("Project", project),
        "resource": ref("User", "U1"),
        "work_date": "2026-03-03",
        "hours": "6",
        "status": status,
    }
    return _h("time_entry", data, "TimeEntry", seq)


def _milestone(id_: str, project: str, amount: dict[str, str]) -> dict[str, Any]:
    data = {
        "id": id_,
        "engagement": ref("Project", project),
        "contract": ref("Contract", f"K-{project}"),
        "name": "Design",
        "amount": amount,
        "status": "accepted",
        "accepted_on": "2026-03-05",
        "accepted_by": "Client CFO",
    }
    return _h("milestone", data, "Milestone")


def _document(id_: str, project: str, title: str = "Design acceptance certificate") -> Any:
    data = {
        "id": id_,
        "title": title,
        "kind": "document",
        "uri": f"https://docs.example/{id_}.pdf",
        "engagement": ref("Project", project, system="harvest"),
    }
    return envelope("sharepoint", "knowledge_asset", data, source_type="driveItem")


def _case(running: Running, milestone: UUID, check: str, attempt: int = 0) -> Any:
    return running.hub.app.find(case_id(milestone, check, attempt), ExceptionCase)


def _events(running: Running) -> int:
    return running.hub.app.hub_recorder.select_head()[0]


def _replayed_in_small_pages_records_nothing(running: Running) -> None:
    """A replay page by page (as over a long log) judges only at the head, from a complete
    index: what it finds is what the live process found, so it records nothing."""
    before = _events(running)
    fresh = KINDS["billing_readiness"].view(running.hub.app, 99)
    fresh.create_table()
    try:
        process = KINDS["billing_readiness"].projection(
            running.hub.app, fresh, own_states(running.hub.app)
        )
        assert ProjectionRunner(process, running.hub.app.hub_recorder, page=3).catch_up() == before
        assert _events(running) == before
    finally:
        fresh.drop()


def test_a_milestone_with_every_check_holding_becomes_billing_ready(hub: Running) -> None:
    _publish(hub, *_engagement("P1"))
    _publish(hub, _time("T1", "P1", "approved"), _document("D1", "P1"))
    _publish(hub, _milestone("M1", "P1", money("3000.00")))
    milestone = hub.hub.app.get(_id(hub, "Milestone", "M1"), Milestone)
    assert milestone.status == "billing_ready"
    history = hub.api.get(f"/v1/milestones/{milestone.id}/history", headers=hub.token("read"))
    assert history.status_code == 200, history.text
    ready = [e for e in history.json()["items"] if e["type"].endswith("MadeBillingReady")]
    assert len(ready) == 1, history.json()
    assert ready[0]["actor"] == ACTOR
    assert ready[0]["causation_id"].startswith("event:")


def test_each_failed_check_opens_its_case_and_a_fix_closes_it(hub: Running) -> None:
    _publish(hub, *_engagement("P1", contract="signed"))
    _publish(hub, _time("T1", "P1", "submitted"), _document("D0", "P1", title="Kick-off"))
    _publish(hub, _milestone("M1", "P1", money("3000.00")))
    m1 = _id(hub, "Milestone", "M1")
    expected = {
        "contract": "CONTRACT_INACTIVE",
        "document": "MISSING_DOCUMENT",
        "approvals": "MISSING_APPROVAL",
    }
    for check, reason in expected.items():
        case = _case(hub, m1, check)
        assert case is not None and case.status == "open", check
        assert case.reason == reason
        assert case.owner == "finance-ops"  # the routing table's default for these reasons
    assert _case(hub, m1, "tax") is None
    head = hub.hub.app.hub_recorder.select_head()[0]
    assert hub.hub.runners["exceptions"].wait_for(head, 30)
    queue = hub.api.get(
        "/v1/exceptions",
        params={"engagement": str(_id(hub, "Project", "P1")), "status": "open"},
        headers=hub.token("read", "operate"),
    )
    assert queue.status_code == 200, queue.text
    by_rule = {c["rule"]: c["reason"] for c in queue.json()["items"] if c["entity"] == "milestone"}
    assert by_rule == expected

    # The fixes arrive one by one: each closes its own case, the last makes the milestone ready.
    _publish(hub, _h("contract", {"id": "K-P1", "status": "active"}, "Contract", seq=2))
    assert _case(hub, m1, "contract").status == "resolved"
    assert _case(hub, m1, "contract").resolved_by == ACTOR
    assert _case(hub, m1, "document").status == "open"
    assert hub.hub.app.get(m1, Milestone).status == "accepted"
    _publish(hub, _time("T1", "P1", "approved", seq=2), _document("D1", "P1"))
    assert hub.hub.app.get(m1, Milestone).status == "billing_ready"
    for check in expected:
        assert _case(hub, m1, check).status == "resolved", check
        assert _case(hub, m1, check, attempt=1) is None  # never a duplicate

    # Rebuilt from position zero, the process records nothing new.
    before = _events(hub)
    rebuilt = hub.hub.rebuild_projection("billing_readiness")
    assert rebuilt["position"] >= before
    _caught_up(hub)
    assert _events(hub) == before
    _replayed_in_small_pages_records_nothing(hub)


def test_rate_and_tax_reasons_and_retry(hub: Running) -> None:
    _publish(hub, *_engagement("P2", treatment="reverse_charge"))
    _publish(hub, _document("D2", "P2"))
    _publish(hub, _milestone("M2", "P2", money("3000.00", "EUR")))
    m2 = _id(hub, "Milestone", "M2")
    assert _case(hub, m2, "amount").reason == "RATE_MISMATCH"
    assert _case(hub, m2, "amount").waiting_for == "amount.currency"
    tax = _case(hub, m2, "tax")
    assert tax.reason == "INVALID_TAX_TREATMENT"
    assert tax.waiting_for == "contract.tax_treatment"

    # A retry re-runs the check: still failing, the case stays open with the retry noted.
    answer = hub.api.post(f"/v1/exceptions/{tax.id}/retry", headers=hub.token("operate"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "still_failing"
    assert answer.json()["reason"] == "INVALID_TAX_TREATMENT"
    assert _case(hub, m2, "tax").status == "open"

    # An unknown legal entity is a tax case too; once configured, a retry settles it.
    _publish(hub, *_engagement("P3"))
    _publish(hub, _document("D3", "P3"))
    _publish(
        hub,
        _h("engagement", {"id": "P3", "legal_entity": "PS-UK-BRANCH"}, "Project", seq=2),
    )
    _publish(hub, _milestone("M3", "P3", money("3000.00")))
    m3 = _id(hub, "Milestone", "M3")
    unknown = _case(hub, m3, "tax")
    assert unknown.waiting_for == "engagement.legal_entity"
    entities.configure('{"PS-UK-LTD": "GB", "PS-UK-BRANCH": "GB"}')
    answer = hub.api.post(f"/v1/exceptions/{unknown.id}/retry", headers=hub.token("operate"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "billing_ready"
    assert _case(hub, m3, "tax").status == "resolved"
    assert hub.hub.app.get(m3, Milestone).status == "billing_ready"
    _caught_up(hub)
    assert _case(hub, m3, "tax", attempt=1) is None


def test_a_check_failing_again_opens_a_new_case_and_a_dismissal_is_kept(hub: Running) -> None:
    _publish(hub, *_engagement("P1", contract="signed"))
    _publish(hub, _milestone("M1", "P1", money("3000.00")))
    m1 = _id(hub, "Milestone", "M1")
    assert _case(hub, m1, "document").status == "open"
    contract_case = _case(hub, m1, "contract")
    dismissed = hub.api.post(
        f"/v1/exceptions/{contract_case.id}/dismiss",
        json={"comment": "signed on paper, activation pending"},
        headers=hub.token("operate"),
    )
    assert dismissed.status_code == 200, dismissed.text

    _publish(hub, _document("D1", "P1"))
    assert _case(hub, m1, "document").status == "resolved"
    archived = envelope(
        "sharepoint",
        "knowledge_asset",
        {"id": "D1", "status": "archived"},
        source_type="driveItem",
        seq=2,
    )
    _publish(hub, archived)
    again = _case(hub, m1, "document", attempt=1)
    assert again is not None and again.status == "open"
    assert again.reason == "MISSING_DOCUMENT"
    # The dismissed contract case stays dismissed: no second case for a judged failure.
    assert _case(hub, m1, "contract").status == "dismissed"
    assert _case(hub, m1, "contract", attempt=1) is None
    assert hub.hub.app.get(m1, Milestone).status == "accepted"

    # Time submitted after the acceptance for work before it: approvals are not complete.
    _publish(hub, _time("T9", "P1", "submitted"))
    assert _case(hub, m1, "approvals").status == "open"
    _replayed_in_small_pages_records_nothing(hub)


def test_cases_close_when_the_source_makes_the_milestone_billing_ready(hub: Running) -> None:
    _publish(hub, *_engagement("P1"))
    _publish(hub, _milestone("M1", "P1", money("3000.00")))
    m1 = _id(hub, "Milestone", "M1")
    assert _case(hub, m1, "document").status == "open"
    # The billing system says it is ready (its own criteria): the hub's case has no object.
    _publish(hub, _h("milestone", {"id": "M1", "status": "billing_ready"}, "Milestone", seq=2))
    assert hub.hub.app.get(m1, Milestone).status == "billing_ready"
    closed = _case(hub, m1, "document")
    assert closed.status == "resolved"
    assert closed.resolved_by == ACTOR
    assert "billing_ready" in closed.resolution
