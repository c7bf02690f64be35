"""Resource: a person, their validated time zone, confidential cost rate and status."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import NegativeQuantityError, RuleViolationError
from domain.resource import Resource, ResourceStatus
from domain.values import Money


def make_resource(**overrides: object) -> Resource:
    fields: dict[str, object] = {
        "id": uuid4(),
        "name": "Ann Analyst",
        "email": "ann@firm.example",
        "role": "senior",
        "time_zone": "Europe/London",
        "cost_rate": Money(Decimal("55.00"), "GBP"),
    }
    fields.update(overrides)
    return Resource.register(**fields)  # type: ignore[arg-type]


def test_registers_an_active_resource() -> None:
    resource = make_resource(home_region=" EMEA ")
    assert resource.status == ResourceStatus.ACTIVE
    assert resource.home_region == "EMEA"
    assert resource.cost_rate == Money(Decimal(55), "GBP")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "", "+01:00", None])
def test_refuses_a_time_zone_that_is_not_an_iana_name(zone: object) -> None:
    with pytest.raises(RuleViolationError) as err:
        make_resource(time_zone=zone)
    assert err.value.rule == "time_zone"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_accepts_iana_time_zones(zone: str) -> None:
    assert make_resource(time_zone=zone).time_zone == zone


def test_refuses_a_bad_email_or_empty_name() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_resource(email="ann at firm")
    assert err.value.rule == "email"
    with pytest.raises(RuleViolationError) as err:
        make_resource(name=" ")
    assert err.value.rule == "required"


def test_refuses_a_negative_cost_rate() -> None:
    with pytest.raises(NegativeQuantityError):
        make_resource(cost_rate=Money(Decimal(-1), "GBP"))


def test_a_cost_rate_is_optional() -> None:
    assert make_resource(cost_rate=None).cost_rate is None


def test_revision_validates_the_time_zone_and_email() -> None:
    resource = make_resource()
    with pytest.raises(RuleViolationError):
        resource.revise(time_zone="Europe/Atlantis")
    with pytest.raises(RuleViolationError):
        resource.revise(email="nope")
    with pytest.raises(NegativeQuantityError):
        resource.revise(cost_rate=Money(Decimal(-5), "GBP"))
    resource.revise(time_zone="Europe/Paris", role=" principal ")
    assert resource.time_zone == "Europe/Paris" and resource.role == "principal"


def test_deactivates_and_reactivates_idempotently() -> None:
    resource = make_resource()
    resource.collect_events()
    resource.deactivate()
    resource.deactivate()
    assert resource.status == ResourceStatus.INACTIVE
    resource.activate()
    assert resource.status == ResourceStatus.ACTIVE
    assert len(resource.collect_events()) == 2


def test_a_deleted_resource_cannot_change_status() -> None:
    resource = make_resource()
    resource.delete()
    with pytest.raises(RuleViolationError) as err:
        resource.deactivate()
    assert err.value.rule == "deleted"


def test_replays_to_the_same_state(check_replay: Callable[[Resource], None]) -> None:
    resource = make_resource()
    resource.revise(cost_rate=Money(Decimal("60.50"), "GBP"), time_zone="Europe/Dublin")
    resource.deactivate()
    resource.activate()
    check_replay(resource)
