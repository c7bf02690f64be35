"""NetSuite employees on real PostgreSQL and NATS, delivered to the loopback NetSuite: each is
booked to the subsidiary that employs the person, and one without a subsidiary is refused as
NetSuite refuses it (DOMAIN.md 2.15), which the feed turns into a case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from adapters.netsuite import feed as netsuite_feed
from domain.resource import Resource
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.feeding import fed_hub, until
from tests.support.hygiene import Databases

META = EventMeta(system="api", actor="tester", occurred_at=datetime(2026, 3, 4, tzinfo=UTC))


def test_an_employee_without_a_subsidiary_is_refused_into_a_case_and_goes_once_it_has_one(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No subsidiary the NetSuite account books to either (PSHUB_ADAPTER_NETSUITE_LEGAL_ENTITY).
    monkeypatch.setattr(netsuite_feed.TARGET, "subsidiary", "")
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        person = Resource.register(
            id=uuid.uuid4(), name="Ola Nordmann", email="ola@example.com", role="consultant",
            time_zone="Europe/Oslo",
        )  # fmt: skip
        fed.app.record(person, meta=META)
        reader = fed.running.token("read")
        cases = until(
            lambda: fed.running.api.get(
                "/v1/exceptions", params={"system": "netsuite"}, headers=reader
            ).json()["items"],
            what="the refused employee's case",
        )
        [case] = cases
        assert (case["reason"], case["entity"], case["status"]) == (
            "DOWNSTREAM_REJECTED",
            "employee",
            "open",
        )
        assert "Subsidiary" in case["detail"] and case["canonical_ids"] == [str(person.id)]
        assert fed.netsuite.created["employee"] == 0

        # HR records the legal entity that employs the person: the employee goes, booked to it.
        found = fed.app.find_any(person.id)
        found.revise(legal_entity="Nordic Consulting AS")
        fed.app.record(found, meta=META)
        until(lambda: fed.netsuite.created["employee"] == 1, what="the employee")
        [employee] = fed.netsuite.records["employee"].values()
        assert employee["subsidiary"] == {"refName": "Nordic Consulting AS"}
        assert employee["externalId"] == f"pshub-{person.id}"
        # The refused version's case closes once a corrected version is delivered.
        closed = until(
            lambda: (
                fed.running.api.get(f"/v1/exceptions/{case['id']}", headers=reader).json()["status"]
                == "resolved"
            ),
            what="the refusal's case resolved",
        )
        assert closed
