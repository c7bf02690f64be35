"""Engagement: creation, revisions, the lifecycle of DOMAIN 3.2 and walking it from a source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.engagement import Engagement, EngagementStatus
from domain.errors import (
    InvalidCurrencyError,
    InvalidTransitionError,
    NegativeQuantityError,
    RuleViolationError,
)
from domain.values import Money

S = EngagementStatus
DAY = date(2025, 3, 1)


def make_engagement(**overrides: object) -> Engagement:
    fields: dict[str, object] = {
        "id": uuid4(),
        "client_id": uuid4(),
        "code": " ENG-1 ",
        "name": "Audit",
        "currency": "EUR",
    }
    fields.update(overrides)
    return Engagement.create(**fields)  # type: ignore[arg-type]


def test_creates_a_pipeline_engagement_with_a_trimmed_code() -> None:
    engagement = make_engagement()
    assert engagement.status == S.PIPELINE
    assert engagement.code == "ENG-1"


def test_may_start_as_won_or_active_but_not_closed() -> None:
    assert make_engagement(status=S.ACTIVE).status == S.ACTIVE
    with pytest.raises(RuleViolationError) as err:
        make_engagement(status=S.CLOSED)
    assert err.value.rule == "initial_status"


def test_refuses_an_end_date_before_the_start_date() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_engagement(start_date=date(2025, 2, 1), end_date=date(2025, 1, 31))
    assert err.value.rule == "date_order"
    make_engagement(start_date=DAY, end_date=DAY)


def test_refuses_a_budget_in_another_currency_or_negative() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_engagement(budget=Money(Decimal(10), "USD"))
    assert err.value.rule == "currency_mismatch"
    with pytest.raises(NegativeQuantityError):
        make_engagement(budget=Money(Decimal(-10), "EUR"))


def test_refuses_an_invalid_currency_and_empty_name() -> None:
    with pytest.raises(InvalidCurrencyError):
        make_engagement(currency="EURO")
    with pytest.raises(RuleViolationError) as err:
        make_engagement(name="")
    assert err.value.rule == "required"


def test_currency_may_change_in_pipeline_but_is_fixed_once_won() -> None:
    engagement = make_engagement()
    engagement.revise(currency="USD")
    engagement.win()
    with pytest.raises(RuleViolationError) as err:
        engagement.revise(currency="EUR")
    assert err.value.rule == "currency_fixed"


def test_revision_checks_dates_against_the_current_values() -> None:
    engagement = make_engagement(start_date=DAY)
    with pytest.raises(RuleViolationError):
        engagement.revise(end_date=date(2025, 2, 1))


def test_walks_the_lifecycle_pipeline_won_active_on_hold_closed() -> None:
    engagement = make_engagement()
    engagement.win()
    engagement.activate()
    engagement.put_on_hold("client freeze")
    assert engagement.status == S.ON_HOLD
    engagement.resume()
    engagement.close(DAY)
    assert engagement.status == S.CLOSED and engagement.closed_on == DAY


@pytest.mark.parametrize(
    ("action", "args"),
    [("activate", ()), ("resume", ()), ("put_on_hold", ()), ("reopen", ("r",))],
)
def test_refuses_transitions_the_lifecycle_does_not_allow(action: str, args: tuple) -> None:
    with pytest.raises(InvalidTransitionError) as err:
        getattr(make_engagement(), action)(*args)
    assert err.value.rule == "state_transition"


def test_lost_is_terminal() -> None:
    engagement = make_engagement()
    engagement.lose("price")
    for action in ("win", "activate"):
        with pytest.raises(InvalidTransitionError):
            getattr(engagement, action)()
    with pytest.raises(InvalidTransitionError):
        engagement.revise(name="x")


def test_reopening_a_closed_engagement_needs_a_reason() -> None:
    engagement = make_engagement(status=S.ACTIVE)
    engagement.close(DAY)
    with pytest.raises(RuleViolationError):
        engagement.reopen(" ")
    engagement.reopen("late invoice")
    assert engagement.status == S.ACTIVE and engagement.closed_on is None


def test_closed_or_lost_engagements_accept_no_work() -> None:
    engagement = make_engagement(status=S.ACTIVE)
    engagement.check_accepts_work(DAY)
    engagement.close(DAY)
    with pytest.raises(RuleViolationError) as err:
        engagement.check_accepts_work(DAY)
    assert err.value.rule == "engagement_open"


def test_a_deleted_engagement_refuses_transitions() -> None:
    engagement = make_engagement()
    engagement.delete()
    with pytest.raises(RuleViolationError) as err:
        engagement.win()
    assert err.value.rule == "deleted"


@pytest.mark.parametrize(
    ("start", "target", "actions"),
    [
        (S.PIPELINE, S.ACTIVE, ["win", "activate"]),
        (S.PIPELINE, S.CLOSED, ["win", "close"]),
        (S.WON, S.ON_HOLD, ["activate", "put_on_hold"]),
        (S.PIPELINE, S.ON_HOLD, ["win", "activate", "put_on_hold"]),
        (S.ACTIVE, S.ACTIVE, []),
    ],
)
def test_advance_to_walks_the_lifecycle_to_a_source_status(
    start: S, target: S, actions: list[str]
) -> None:
    engagement = make_engagement(status=start)
    assert engagement.advance_to(target, on=DAY) == actions
    assert engagement.status == target


def test_advance_to_refuses_a_status_the_lifecycle_cannot_reach() -> None:
    engagement = make_engagement()
    engagement.lose()
    with pytest.raises(InvalidTransitionError):
        engagement.advance_to(S.ACTIVE, on=DAY)


def test_advance_to_refuses_an_unknown_status_as_a_domain_error() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_engagement().advance_to("started", on=DAY)  # type: ignore[arg-type]
    assert err.value.rule == "enum"


def test_replays_to_the_same_state(check_replay: Callable[[Engagement], None]) -> None:
    engagement = make_engagement(budget=Money(Decimal("1000.50"), "EUR"), start_date=DAY)
    engagement.revise(name="Audit 2025", budget=Money(Decimal(2000), "EUR"))
    engagement.advance_to(S.ACTIVE, on=DAY)
    engagement.put_on_hold("freeze")
    engagement.resume()
    engagement.close(DAY)
    engagement.reopen("more work")
    check_replay(engagement)
