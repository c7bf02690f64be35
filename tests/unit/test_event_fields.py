"""Every attribute of every domain event has a classification, so none reaches events.*
unclassified, and confidential and personal ones are left out for a reader without rights."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from eventsourcing.domain import DomainEvent, Snapshot

from domain.billing_run import BillingRun
from domain.registry import AGGREGATES
from hub.event_fields import FIELD_DICTS, UNCLASSIFIED_ENTITIES, levels, redact_event
from hub.exceptions import ExceptionCase

_LIBRARY = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _events(cls: type) -> list[type[DomainEvent]]:
    # Snapshots go to their own table, never to the log the relay reads.
    return [
        member
        for _, member in inspect.getmembers(cls, inspect.isclass)
        if issubclass(member, DomainEvent) and not issubclass(member, Snapshot)
    ]


def _attributes(event: type[DomainEvent]) -> set[str]:
    return {f.name for f in dataclasses.fields(event)} - _LIBRARY  # type: ignore[arg-type]


@pytest.mark.parametrize("entity", sorted(AGGREGATES))
def test_every_event_attribute_of_an_entity_is_classified(entity: str) -> None:
    known = set(levels(entity)) | FIELD_DICTS
    events = _events(AGGREGATES[entity])
    assert events
    unclassified = {
        f"{event.__qualname__}.{name}" for event in events for name in _attributes(event) - known
    }
    assert not unclassified, f"classify these in hub/event_fields.py: {sorted(unclassified)}"


@pytest.mark.parametrize("entity", sorted(AGGREGATES))
def test_every_revisable_field_is_classified(entity: str) -> None:
    aggregate = AGGREGATES[entity]
    names = set(aggregate.REVISABLE) | set(aggregate.DETAILS)
    assert not names - set(levels(entity)), sorted(names - set(levels(entity)))


def test_exception_cases_have_no_classified_attributes() -> None:
    # The exception queue is served whole to `read` over HTTP; its events are too.
    assert "exception" in UNCLASSIFIED_ENTITIES
    assert {"reason", "detail"} <= set().union(*map(_attributes, _events(ExceptionCase)))
    data = {"reason": "RATE_MISMATCH", "detail": "rate differs", "by": "ops"}
    assert redact_event("exception", data) == data


def test_confidential_and_personal_attributes_are_left_out_without_rights() -> None:
    data = {
        "name": "Ada Example",
        "email": "ada@example.com",
        "role": "consultant",
        "cost_rate": {"amount": "95.00", "currency": "EUR"},
        "xrefs": [],
    }
    assert redact_event("resource", data) == {"role": "consultant", "xrefs": []}
    assert redact_event("resource", data, pii=True) == {
        k: v for k, v in data.items() if k != "cost_rate"
    }
    assert redact_event("resource", data, pii=True, confidential=True) == data


def test_a_revision_keeps_only_the_changes_a_reader_may_see() -> None:
    data = {"changes": {"email": "new@example.com", "time_zone": "Europe/Paris"}}
    assert redact_event("resource", data) == {"changes": {"time_zone": "Europe/Paris"}}


def test_attributes_named_unlike_their_record_field_carry_its_classification() -> None:
    assert redact_event("milestone", {"signed_by": "Grace", "accepted_on": "2026-02-25"}) == {
        "accepted_on": "2026-02-25"
    }
    assert redact_event("rate_card", {"line": {"bill_rate": "1"}, "end": "2027-01-01"}) == {
        "end": "2027-01-01"
    }
    assert redact_event("time_entry", {"value": {"amount": "-10.00"}, "hours": "-2"}) == {
        "hours": "-2"
    }
    # An invoice's line is not confidential: the client receives it.
    assert redact_event("invoice", {"line": {"net": "1"}}) == {"line": {"net": "1"}}


def test_an_attribute_classified_nowhere_is_withheld() -> None:
    assert redact_event("client", {"legal_name": "Acme", "shoe_size": 44}) == {"legal_name": "Acme"}


def test_a_billing_runs_drafts_are_confidential_and_its_other_attributes_classified() -> None:
    known = set(levels("billing_run"))
    assert not {a for e in _events(BillingRun) for a in _attributes(e)} - known
    data = {"engagement_id": "e", "period_start": "2026-03-01", "drafts": [{"total": "1.00"}]}
    assert redact_event("billing_run", data) == {
        "engagement_id": "e",
        "period_start": "2026-03-01",
    }
    assert redact_event("billing_run", data, confidential=True) == data
