"""A NetSuite job names its project manager by an optional reference: delivered before the
person's employee record, the job goes without one. On real PostgreSQL and NATS with the
loopback NetSuite: the job goes again with its manager once the employee is delivered, and no
reconciliation pass judges the job by a manager NetSuite was never sent (the demo sandbox
found such jobs "differing" now and then, depending on which was delivered first)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from domain.engagement import EngagementStatus
from domain.resource import Resource
from hub.sandbox.netsuite import error
from hub.sandbox.server import Answer, Request
from hub.settings import Settings
from tests.integration.test_feeds import META
from tests.integration.test_reconciliation import report, run_pass
from tests.support.feeding import NETSUITE_ACCOUNT, Fed, fed_hub, until
from tests.support.hygiene import Databases


def refusing_employees(fed: Fed) -> Callable[[bool], None]:
    """Makes the loopback NetSuite refuse employee writes (the payload's fault: a case) while
    switched on; returns the switch."""
    refusing = {"on": True}
    handle = fed.netsuite.server.handle

    def guarded(request: Request) -> Answer:
        if refusing["on"] and request.method in ("PUT", "PATCH") and "/employee/" in request.path:
            return error(400, "The employee's e-mail address is in use.", "USER_ERROR")
        return handle(request)

    fed.netsuite.server.handle = guarded
    return lambda on: refusing.update(on=on)


def managed_firm(fed: Fed, manager: Resource) -> Any:
    """A client and a won engagement of it that `manager` manages."""
    client, _ = fed.app.register_client(
        legal_name="Fjord Analytics AS", country="NO", billing_currency="NOK", meta=META
    )
    engagement, _ = fed.app.create_engagement(
        client_id=client.id,
        code="FJ-001",
        name="Fjord data platform",
        currency="NOK",
        legal_entity="Nordic Consulting AS",
        start_date=date(2026, 1, 5),
        end_date=date(2026, 12, 18),
        status=EngagementStatus.WON,
        manager_id=manager.id,
        meta=META,
    )
    return engagement


def person(fed: Fed) -> Resource:
    resource = Resource.register(
        id=uuid.uuid4(), name="Ingrid Berg", email="ingrid@example.com", role="Manager",
        time_zone="Europe/Oslo", details={"legal_entity": "Nordic Consulting AS"},
    )  # fmt: skip
    fed.app.record(resource, meta=META)
    return resource


def job_of(fed: Fed, engagement: Any) -> dict[str, Any]:
    [job] = [
        j for j in fed.netsuite.records["job"].values()
        if j["externalId"] == f"pshub-{engagement.id}"
    ]  # fmt: skip
    return job


def employee_case(fed: Fed) -> dict[str, Any]:
    cases = until(
        lambda: fed.running.api.get(
            "/v1/exceptions", params={"system": "netsuite"}, headers=fed.running.token("read")
        ).json()["items"],
        what="the refused employee's case",
    )
    [case] = cases
    return case


def test_a_job_sent_before_its_managers_employee_gets_its_manager_and_no_false_drift(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        refuse = refusing_employees(fed)
        manager = person(fed)
        case = employee_case(fed)
        engagement = managed_firm(fed, manager)
        until(lambda: fed.netsuite.created["job"] == 1, what="the job")
        job = job_of(fed, engagement)
        assert "projectManager" not in job  # NetSuite holds no employee of the person yet

        refuse(False)
        retried = fed.running.api.post(
            f"/v1/exceptions/{case['id']}/retry", headers=fed.running.token("operate")
        )
        assert retried.status_code == 202, retried.text
        until(lambda: fed.netsuite.created["employee"] == 1, what="the employee")
        [employee_id] = fed.netsuite.records["employee"]
        until(
            lambda: job.get("projectManager") == {"id": employee_id},
            what="the job sent again, naming its manager",
        )
        assert fed.netsuite.created["job"] == 1, "the same job updated, not a second one"
        until(lambda: fed.feed_state("netsuite")["backlog"].get("pending") == 0)

        run_pass(fed, "netsuite")
        found = report(fed)["netsuite"]
        assert found["totals"]["drift"] == 0, found["drift"]
        assert found["totals"]["entities"]["job"]["matching"] == 1


def test_a_manager_known_only_after_the_job_went_without_one_is_not_drift(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        refusing_employees(fed)  # the hub never delivers the person's employee
        manager = person(fed)
        employee_case(fed)
        engagement = managed_firm(fed, manager)
        until(lambda: fed.netsuite.created["job"] == 1, what="the job")
        until(lambda: fed.feed_state("netsuite")["backlog"].get("pending") == 0)
        assert "projectManager" not in job_of(fed, engagement)

        # Someone maps the person to the employee NetSuite had of its own: the hub knows
        # NetSuite's id now, but the job NetSuite holds was sent without a manager.
        fed.netsuite.records["employee"]["2001"] = {"id": "2001", "firstName": "Ingrid"}
        mapped = fed.running.api.post(
            "/v1/commands/map-xref",
            json={"system": "netsuite", "tenant": NETSUITE_ACCOUNT, "type": "employee",
                  "id": "2001", "canonical_id": str(manager.id)},
            headers=fed.running.token("operate"),
        )  # fmt: skip
        assert mapped.status_code == 200, mapped.text

        run_pass(fed, "netsuite")
        found = report(fed)["netsuite"]
        assert found["totals"]["drift"] == 0, found["drift"]
        assert found["totals"]["entities"]["job"]["matching"] == 1
