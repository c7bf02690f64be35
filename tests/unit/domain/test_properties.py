"""Property tests: money and rounding, allocation, milestone splits, rate-card resolution."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from uuid import UUID, uuid4

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.contract import Contract, ContractType, PlannedMilestone, split_by_percentages
from domain.errors import RuleViolationError
from domain.rate_card import TIER_KEYS, TIER_ORDER, RateCard, RateLine, RateTier, resolve
from domain.values import Money, Period, allocate_minor

CURRENCIES = {"JPY": 0, "EUR": 2, "KWD": 3}
currencies = st.sampled_from(sorted(CURRENCIES))
minors = st.integers(min_value=-(10**12), max_value=10**12)


def exact_half_up(value: Fraction, exponent: int) -> Fraction:
    """Reference rounding, in exact fractions: half away from zero."""
    scaled = abs(value) * 10**exponent
    rounded = math.floor(scaled + Fraction(1, 2))
    return Fraction(rounded if value >= 0 else -rounded, 10**exponent)


# Money ------------------------------------------------------------------------------------


@given(currencies, minors, minors, minors)
def test_money_addition_is_exact_commutative_and_associative(
    currency: str, a: int, b: int, c: int
) -> None:
    x, y, z = (Money.from_minor(m, currency) for m in (a, b, c))
    assert (x + y).minor == a + b
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert (x + y) - y == x
    assert (x + (-x)).is_zero()


@given(currencies, minors)
def test_minor_units_round_trip_with_the_currency_exponent(currency: str, minor: int) -> None:
    money = Money.from_minor(minor, currency)
    assert money.minor == minor
    assert money.amount == Decimal(minor).scaleb(-CURRENCIES[currency])
    assert -money.amount.as_tuple().exponent == CURRENCIES[currency]


@given(currencies, st.decimals(min_value=-(10**9), max_value=10**9, places=6))
def test_money_of_rounds_half_up_to_the_minor_unit(currency: str, value: Decimal) -> None:
    exponent = CURRENCIES[currency]
    rounded = Money.of(value, currency)
    assert Fraction(rounded.amount) == exact_half_up(Fraction(value), exponent)
    assert abs(Fraction(rounded.amount) - Fraction(value)) <= Fraction(1, 2 * 10**exponent)


@given(
    currencies,
    st.integers(min_value=-(10**10), max_value=10**10),
    st.decimals(min_value=-1000, max_value=1000, places=12),
)
def test_times_rounds_the_exact_product_once(currency: str, minor: int, factor: Decimal) -> None:
    money = Money.from_minor(minor, currency)
    expected = exact_half_up(Fraction(money.amount) * Fraction(factor), CURRENCIES[currency])
    assert Fraction(money.times(factor).amount) == expected


# Allocation -------------------------------------------------------------------------------

weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any)
decimal_weights = st.lists(
    st.decimals(min_value=0, max_value=1000, places=4), min_size=1, max_size=12
).filter(any)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.one_of(weights, decimal_weights))
def test_allocation_parts_sum_exactly_and_stay_within_one_of_their_share(
    total: int, ws: list
) -> None:
    parts = allocate_minor(total, ws)
    assert sum(parts) == total
    weight_sum = sum(Fraction(w) for w in ws)
    for part, w in zip(parts, ws, strict=True):
        assert abs(part - total * Fraction(w) / weight_sum) < 1


@given(st.integers(min_value=0, max_value=10**12), weights, st.randoms(use_true_random=False))
def test_allocation_is_fair_whatever_the_order_of_the_weights(
    total: int, ws: list[int], rnd
) -> None:
    order = list(range(len(ws)))
    rnd.shuffle(order)
    parts = allocate_minor(total, ws)
    shuffled = allocate_minor(total, [ws[i] for i in order])
    assert sum(shuffled) == total
    for position, i in enumerate(order):
        # Only a tie-break moves a unit, so an item's part moves by at most one.
        assert abs(shuffled[position] - parts[i]) <= 1
    for i in range(len(ws)):
        for j in range(len(ws)):
            if ws[i] > ws[j]:
                assert parts[i] >= parts[j]
            if ws[i] == ws[j]:
                assert abs(parts[i] - parts[j]) <= 1


# Milestone percentage splits ------------------------------------------------------------


@st.composite
def percentages(draw: st.DrawFn) -> list[Decimal]:
    """Percentages with up to two decimals that sum to exactly 100."""
    count = draw(st.integers(min_value=1, max_value=10))
    cuts = sorted(draw(st.lists(st.integers(0, 10000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10000]
    return [Decimal(b - a) / 100 for a, b in pairwise(bounds)]


@given(currencies, st.integers(min_value=0, max_value=10**12), percentages())
@settings(deadline=None)
def test_milestone_percentage_splits_sum_to_the_contract_value(
    currency: str, minor: int, pcts: list[Decimal]
) -> None:
    value = Money.from_minor(minor, currency)
    parts = split_by_percentages(value, pcts)
    assert sum(p.minor for p in parts) == minor
    for part, pct in zip(parts, pcts, strict=True):
        assert abs(part.minor - minor * Fraction(pct) / 100) < 1
    contract = Contract.create(
        id=uuid4(),
        engagement_id=uuid4(),
        client_id=uuid4(),
        type=ContractType.FIXED_FEE,
        currency=currency,
        value=value,
    )
    contract.plan_milestones_by_percentage([uuid4() for _ in pcts], pcts)
    assert [m.amount for m in contract.milestones] == parts
    # The plan is exact: moving one minor unit between milestones keeps it valid, losing one not.
    if minor > 0:
        short = [PlannedMilestone(uuid4(), value - Money.from_minor(1, currency))]
        with pytest.raises(RuleViolationError) as err:
            contract.plan_milestones(short)
        assert err.value.rule == "milestones_sum"


# Rate-card resolution ------------------------------------------------------------------

RESOURCES = [UUID(int=1), UUID(int=2)]
ROLES = ["senior", "junior"]
ENGAGEMENTS = [UUID(int=11), UUID(int=12)]
CLIENTS = [UUID(int=21), UUID(int=22)]
TASKS = ["design", "build"]
POOLS = {
    "resource_id": RESOURCES,
    "role": ROLES,
    "engagement_id": ENGAGEMENTS,
    "client_id": CLIENTS,
    "task": TASKS,
}
EPOCH = date(2025, 1, 1)


@st.composite
def rate_lines(draw: st.DrawFn) -> RateLine:
    tier = draw(st.sampled_from(list(RateTier)))
    keys = {field: draw(st.sampled_from(POOLS[field])) for field in TIER_KEYS[tier]}
    start = EPOCH + timedelta(days=draw(st.integers(0, 60)))
    length = draw(st.one_of(st.none(), st.integers(1, 40)))
    end = None if length is None else start + timedelta(days=length)
    return RateLine(
        tier=tier,
        currency="EUR",
        bill_rate=Money.from_minor(draw(st.integers(0, 10**6)), "EUR"),
        period=Period(start, end),
        **keys,
    )


# None (unknown) a third of the time, so that most queries meet some line.
queries = st.fixed_dictionaries(
    {field: st.sampled_from([*pool, None]) for field, pool in POOLS.items()}
)


def build_card(candidates: list[RateLine]) -> RateCard:
    """Adds lines one by one; a line is refused exactly when it overlaps one of its key."""
    card = RateCard.create(id=uuid4(), name="card")
    for line in candidates:
        clash = any(old.key == line.key and old.period.overlaps(line.period) for old in card.lines)
        if line in card.lines:
            continue
        if clash:
            with pytest.raises(RuleViolationError) as err:
                card.add_line(line)
            assert err.value.rule == "rate_overlap"
        else:
            card.add_line(line)
    return card


@given(st.lists(rate_lines(), max_size=25), queries, st.integers(-5, 100))
@settings(deadline=None)
def test_resolution_picks_a_line_containing_the_work_date_from_the_most_specific_tier(
    candidates: list[RateLine], query: dict, offset: int
) -> None:
    card = build_card(candidates)
    work_date = EPOCH + timedelta(days=offset)
    applicable = [
        line for line in card.lines if line.period.contains(work_date) and line.matches(**query)
    ]
    if not applicable:
        with pytest.raises(RuleViolationError) as err:
            card.resolve(work_date, **query)
        assert err.value.rule == "no_rate"
        return
    chosen = card.resolve(work_date, **query)
    assert chosen.period.contains(work_date)
    assert chosen.matches(**query)
    best = min(TIER_ORDER.index(line.tier) for line in applicable)
    assert TIER_ORDER.index(chosen.tier) == best
    # One line per tier and key can contain the date, so the choice is never arbitrary.
    assert [line for line in applicable if line.tier == chosen.tier] == [chosen]
    assert resolve(card.lines, work_date, **query) == chosen


@given(rate_lines(), st.integers(-30, 30), st.one_of(st.none(), st.integers(1, 60)))
def test_adding_an_overlapping_line_of_one_tier_and_key_is_always_refused(
    line: RateLine, shift: int, length: int | None
) -> None:
    start = line.period.start + timedelta(days=shift)
    other_period = Period(start, None if length is None else start + timedelta(days=length))
    assume(line.period.overlaps(other_period))
    other = RateLine(
        tier=line.tier,
        currency="EUR",
        bill_rate=Money.from_minor(1, "EUR"),
        period=other_period,
        role=line.role,
        resource_id=line.resource_id,
        engagement_id=line.engagement_id,
        client_id=line.client_id,
        task=line.task,
    )
    assume(other != line)
    card = RateCard.create(id=uuid4(), name="card", lines=[line])
    with pytest.raises(RuleViolationError) as err:
        card.add_line(other)
    assert err.value.rule == "rate_overlap"
    with pytest.raises(RuleViolationError):
        RateCard.create(id=uuid4(), name="card", lines=[line, other])
