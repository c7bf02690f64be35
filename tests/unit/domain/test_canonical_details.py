"""Descriptive details of clients, engagements and resources: given at creation in one event,
revised (None clears), checked for their type only, and absent from old events (defaults)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.base import CanonicalAggregate
from domain.client import Address, Client
from domain.engagement import Engagement
from domain.errors import InvalidTransitionError, NegativeQuantityError, RuleViolationError
from domain.resource import Resource
from domain.values import Money, SourceRef

OWNER = SourceRef("salesforce", "00D1", "User", "0051x000000AbCdAAK")


def client(**details: Any) -> Client:
    return Client.register(
        id=uuid4(), legal_name="Ravel SA", country="FR", billing_currency="EUR", details=details
    )


def engagement(**details: Any) -> Engagement:
    return Engagement.create(
        id=uuid4(), client_id=uuid4(), code="RV-1", name="Audit", currency="EUR", details=details
    )


def replayed_without_details(aggregate: CanonicalAggregate) -> Any:
    """The aggregate rebuilt from a creation event stored before details existed."""
    created = aggregate.pending_events[0]
    state = {k: v for k, v in created.__dict__.items() if k != "details"}
    old = type(created).__new__(type(created))
    old.__dict__.update(state)
    return old.mutate(None)


def test_a_client_is_registered_with_its_details_in_one_event() -> None:
    billing = Address(street=" 8 rue Oberkampf ", city="Paris", postal_code="75011", country="FR")
    new = client(industry="Luxury", billing_address=billing, owner_ref=OWNER, website=None)
    assert len(new.pending_events) == 1
    assert new.billing_address.street == "8 rue Oberkampf"
    assert (new.industry, new.owner_ref, new.website, new.parent_ref) == ("Luxury", OWNER, "", None)


def test_an_empty_address_is_no_address_and_a_country_must_be_a_code() -> None:
    assert client(shipping_address=Address()).shipping_address is None
    with pytest.raises(RuleViolationError) as caught:
        Address(city="Lyon", country="France")
    assert caught.value.field == "address.country"


def test_a_closed_client_still_takes_what_describes_it_but_not_a_new_name() -> None:
    closed = client()
    closed.close()
    assert closed.revise(website="https://ravel.example", phone=None) == {
        "website": "https://ravel.example"
    }
    with pytest.raises(InvalidTransitionError):
        closed.revise(legal_name="Ravel Group SA")


def test_old_events_without_details_replay_with_the_defaults() -> None:
    old_client = replayed_without_details(client(industry="Luxury"))
    assert (old_client.industry, old_client.billing_address) == ("", None)
    old_engagement = replayed_without_details(engagement(stage="Qualify"))
    assert (old_engagement.stage, old_engagement.probability) == ("", None)
    person = Resource.register(
        id=uuid4(), name="Ana", email="ana@firm.example", role="consultant", time_zone="UTC"
    )
    assert replayed_without_details(person).phone == ""


def test_engagement_details_are_typed_percentages_and_enums() -> None:
    deal = engagement(
        probability="35",
        canonical_stage="qualified",
        contract_type="fixed_fee",
        expected_close_date=date(2026, 6, 30),
        amount=Money(Decimal("120000.00"), "EUR"),
    )
    assert deal.probability == Decimal(35)
    assert deal.canonical_stage == "qualified"
    assert deal.revise(probability=None, percent_complete=Decimal("12.5")) == {
        "probability": None,
        "percent_complete": Decimal("12.5"),
    }
    with pytest.raises(RuleViolationError):
        engagement(probability="120")
    with pytest.raises(NegativeQuantityError):
        engagement(budget_hours="-1")
    with pytest.raises(RuleViolationError):
        engagement(canonical_stage="maybe")
    with pytest.raises(RuleViolationError):
        engagement(won_at=datetime(2026, 1, 1))  # an instant needs its offset
    assert engagement(won_at=datetime(2026, 1, 1, tzinfo=UTC)).won_at is not None


def test_a_lost_engagement_takes_its_final_stage_but_not_a_new_currency() -> None:
    deal = engagement(stage="Negotiation")
    deal.lose("price")
    deal.revise(stage="Closed Lost", canonical_stage="lost")
    assert deal.stage == "Closed Lost"
    with pytest.raises(InvalidTransitionError):
        deal.revise(name="Audit 2")


def test_resource_details_classify_the_employment_and_refuse_a_negative_capacity() -> None:
    person = Resource.register(
        id=uuid4(),
        name="Ana",
        email="ana@firm.example",
        role="consultant",
        time_zone="Europe/Lisbon",
        details={"employment_type": "contractor", "default_bill_rate": Money(Decimal(95), "EUR")},
    )
    assert person.employment_type == "contractor"
    with pytest.raises(NegativeQuantityError):
        person.revise(weekly_capacity_hours="-2")
    with pytest.raises(RuleViolationError):
        person.revise(employment_type="intern")
