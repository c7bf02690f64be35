"""Descriptive attributes (CanonicalAggregate.DETAILS): defaults, creation, revision, refusal."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.errors import RuleViolationError


class Thing(CanonicalAggregate):
    ENTITY = "thing"
    DETAILS = {"website": "", "probability": None}
    REVISABLE = frozenset({"name"}) | frozenset(DETAILS)

    @classmethod
    def create(cls, name: str, details: dict[str, Any] | None = None) -> Thing:
        return cls(id=uuid4(), name=name, details=cls.check_details(details))

    @event("Created")
    def __init__(self, *, id: Any, name: str, details: dict[str, Any] | None = None) -> None:
        self._init_canonical([], details)
        self.name = name


def test_details_take_their_defaults_unless_given() -> None:
    thing = Thing.create("a", {"probability": 40})
    assert (thing.website, thing.probability) == ("", 40)


def test_only_details_that_differ_from_the_default_are_stored() -> None:
    thing = Thing.create("a", {"website": "", "probability": 40})
    assert thing.pending_events[0].details == {"probability": 40}  # type: ignore[attr-defined]


def test_a_detail_is_revised_and_cleared_like_any_revisable_attribute() -> None:
    thing = Thing.create("a", {"website": "https://a.example"})
    thing.revise(website="https://b.example", probability=None)
    assert thing.website == "https://b.example"
    assert thing.revise(probability=None) == {}


def test_an_unknown_detail_is_refused() -> None:
    with pytest.raises(RuleViolationError) as caught:
        Thing.create("a", {"colour": "red"})
    assert caught.value.field == "colour"
