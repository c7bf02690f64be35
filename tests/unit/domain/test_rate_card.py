"""Rate card: line scopes, overlap refusal, supersession and resolution by precedence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import CurrencyMismatchError, NegativeQuantityError, RuleViolationError
from domain.rate_card import RateCard, RateLine, RateTier, resolve
from domain.values import Money, Period

T = RateTier
ANN, BOB = uuid4(), uuid4()
ENG, OTHER_ENG = uuid4(), uuid4()
CLIENT = uuid4()
JAN = date(2025, 1, 1)
FEB = date(2025, 2, 1)


def line(tier: RateTier, rate: int, start: date = JAN, end: date | None = None, **keys) -> RateLine:
    return RateLine(
        tier=tier,
        currency="EUR",
        bill_rate=Money(Decimal(rate), "EUR"),
        period=Period(start, end),
        **keys,
    )


FIRM_SENIOR = line(T.ROLE_DEFAULT, 150, role="senior")
ANN_DEFAULT = line(T.RESOURCE_DEFAULT, 120, resource_id=ANN)
CLIENT_SENIOR = line(T.ROLE_CLIENT, 140, role="senior", client_id=CLIENT)
ANN_ON_CLIENT = line(T.RESOURCE_CLIENT, 135, resource_id=ANN, client_id=CLIENT)
TASK_ON_ENG = line(T.TASK_ENGAGEMENT, 110, task="design", engagement_id=ENG)
SENIOR_ON_ENG = line(T.ROLE_ENGAGEMENT, 130, role="senior", engagement_id=ENG)
ANN_ON_ENG = line(T.RESOURCE_ENGAGEMENT, 125, resource_id=ANN, engagement_id=ENG)
ALL = [
    FIRM_SENIOR,
    ANN_DEFAULT,
    CLIENT_SENIOR,
    ANN_ON_CLIENT,
    TASK_ON_ENG,
    SENIOR_ON_ENG,
    ANN_ON_ENG,
]


def make_card(lines: list[RateLine] | None = None) -> RateCard:
    return RateCard.create(id=uuid4(), name="Firm 2025", lines=ALL if lines is None else lines)


def find(card_lines: list[RateLine], day: date, **overrides) -> RateLine:
    query = {"resource_id": ANN, "role": "senior", "engagement_id": ENG, "client_id": CLIENT}
    query.update(overrides)
    return resolve(card_lines, day, **query)


class TestLines:
    @pytest.mark.parametrize(
        ("tier", "keys"),
        [
            (T.ROLE_DEFAULT, {}),
            (T.ROLE_DEFAULT, {"role": "senior", "client_id": CLIENT}),
            (T.RESOURCE_ENGAGEMENT, {"resource_id": ANN}),
            (T.ROLE_CLIENT, {"role": "senior", "engagement_id": ENG}),
        ],
    )
    def test_refuses_a_line_whose_keys_do_not_fit_its_tier(
        self, tier: RateTier, keys: dict
    ) -> None:
        with pytest.raises(RuleViolationError) as err:
            line(tier, 100, **keys)
        assert err.value.rule == "rate_scope"

    def test_refuses_a_bill_rate_in_another_currency(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            RateLine(
                tier=T.ROLE_DEFAULT,
                currency="EUR",
                bill_rate=Money(Decimal(1), "USD"),
                period=Period(JAN),
                role="senior",
            )

    def test_keeps_a_cost_rate_in_its_own_currency(self) -> None:
        cost = Money(Decimal(60), "GBP")
        assert line(T.RESOURCE_DEFAULT, 100, resource_id=ANN).bill_rate.currency == "EUR"
        costed = RateLine(
            tier=T.RESOURCE_DEFAULT,
            currency="EUR",
            bill_rate=Money(Decimal(100), "EUR"),
            period=Period(JAN),
            resource_id=ANN,
            cost_rate=cost,
        )
        assert costed.cost_rate == cost

    def test_refuses_negative_rates(self) -> None:
        with pytest.raises(NegativeQuantityError):
            line(T.ROLE_DEFAULT, -1, role="senior")

    def test_tier_given_as_a_plain_string_becomes_the_enum(self) -> None:
        assert line("role_default", 1, role="x").tier is T.ROLE_DEFAULT  # type: ignore[arg-type]


class TestOverlap:
    def test_refuses_overlapping_rate_lines_in_one_tier(self) -> None:
        card = make_card()
        with pytest.raises(RuleViolationError) as err:
            card.add_line(line(T.ROLE_DEFAULT, 160, start=FEB, role="senior"))
        assert err.value.rule == "rate_overlap"

    def test_rejects_a_whole_card_with_overlapping_lines(self) -> None:
        overlapping = [
            line(T.ROLE_DEFAULT, 150, end=date(2025, 3, 1), role="senior"),
            line(T.ROLE_DEFAULT, 160, start=FEB, role="senior"),
        ]
        with pytest.raises(RuleViolationError) as err:
            make_card(overlapping)
        assert err.value.rule == "rate_overlap"
        with pytest.raises(RuleViolationError):
            make_card([]).replace_lines(overlapping)

    def test_accepts_adjacent_lines_and_overlaps_in_other_keys_or_tiers(self) -> None:
        card = make_card([line(T.ROLE_DEFAULT, 150, end=FEB, role="senior")])
        card.add_line(line(T.ROLE_DEFAULT, 160, start=FEB, role="senior"))
        card.add_line(line(T.ROLE_DEFAULT, 90, role="junior"))
        card.add_line(line(T.ROLE_CLIENT, 140, role="senior", client_id=CLIENT))
        assert len(card.lines) == 4

    def test_adding_the_same_line_twice_is_a_no_op(self) -> None:
        card = make_card()
        card.collect_events()
        card.add_line(FIRM_SENIOR)
        assert card.collect_events() == []

    def test_supersede_ends_the_open_line_where_the_new_rate_starts(self) -> None:
        card = make_card([FIRM_SENIOR])
        card.add_line(line(T.ROLE_DEFAULT, 160, start=FEB, role="senior"), supersede=True)
        assert card.lines[0].period == Period(JAN, FEB)
        assert find(card.lines, date(2025, 1, 31)).bill_rate.amount == 150
        assert find(card.lines, FEB).bill_rate.amount == 160

    def test_supersede_still_refuses_a_line_starting_on_or_before_an_existing_one(self) -> None:
        card = make_card([line(T.ROLE_DEFAULT, 160, start=FEB, role="senior")])
        with pytest.raises(RuleViolationError) as err:
            card.add_line(line(T.ROLE_DEFAULT, 150, role="senior"), supersede=True)
        assert err.value.rule == "rate_overlap"

    def test_ends_a_line(self) -> None:
        card = make_card([FIRM_SENIOR])
        card.end_line(FIRM_SENIOR, FEB)
        assert card.lines[0].period.end == FEB
        with pytest.raises(RuleViolationError) as err:
            card.end_line(FIRM_SENIOR, FEB)  # the old line is gone
        assert err.value.rule == "unknown_line"
        with pytest.raises(RuleViolationError):
            card.end_line(card.lines[0], JAN)


class TestResolve:
    @pytest.mark.parametrize(
        ("remove", "expected"),
        [
            ([], ANN_ON_ENG),
            ([ANN_ON_ENG], SENIOR_ON_ENG),
            ([ANN_ON_ENG, SENIOR_ON_ENG], TASK_ON_ENG),
            ([ANN_ON_ENG, SENIOR_ON_ENG, TASK_ON_ENG], ANN_ON_CLIENT),
            ([ANN_ON_ENG, SENIOR_ON_ENG, TASK_ON_ENG, ANN_ON_CLIENT], CLIENT_SENIOR),
            ([ANN_ON_ENG, SENIOR_ON_ENG, TASK_ON_ENG, ANN_ON_CLIENT, CLIENT_SENIOR], FIRM_SENIOR),
            (
                [ANN_ON_ENG, SENIOR_ON_ENG, TASK_ON_ENG, ANN_ON_CLIENT, CLIENT_SENIOR, FIRM_SENIOR],
                ANN_DEFAULT,
            ),
        ],
    )
    def test_picks_the_most_specific_tier_first(
        self, remove: list[RateLine], expected: RateLine
    ) -> None:
        lines = [x for x in ALL if x not in remove]
        assert find(lines, JAN, task="design") == expected

    def test_a_line_for_another_engagement_or_resource_does_not_apply(self) -> None:
        assert find(ALL, JAN, engagement_id=OTHER_ENG) == ANN_ON_CLIENT
        assert find(ALL, JAN, resource_id=BOB, engagement_id=OTHER_ENG) == CLIENT_SENIOR

    def test_an_entry_on_the_first_day_of_a_new_rate_takes_the_new_rate(self) -> None:
        card = make_card(
            [
                line(T.ROLE_DEFAULT, 150, end=FEB, role="senior"),
                line(T.ROLE_DEFAULT, 160, start=FEB, role="senior"),
            ]
        )
        resolved = card.resolve(
            FEB, resource_id=ANN, role="senior", engagement_id=ENG, client_id=CLIENT
        )
        assert resolved.bill_rate.amount == 160

    def test_uses_harvests_inclusive_end_date_through_from_inclusive(self) -> None:
        jan_only = RateLine(
            tier=T.ROLE_DEFAULT,
            currency="EUR",
            bill_rate=Money(Decimal(150), "EUR"),
            period=Period.from_inclusive(JAN, date(2025, 1, 31)),
            role="senior",
        )
        assert find([jan_only], date(2025, 1, 31)) == jan_only
        with pytest.raises(RuleViolationError):
            find([jan_only], FEB)

    def test_falls_back_to_a_less_specific_tier_outside_the_specific_lines_period(self) -> None:
        january_deal = line(T.ROLE_ENGAGEMENT, 100, end=FEB, role="senior", engagement_id=ENG)
        lines = [january_deal, FIRM_SENIOR]
        assert find(lines, JAN) == january_deal
        assert find(lines, FEB) == FIRM_SENIOR

    def test_raises_no_rate_when_nothing_applies(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            find(ALL, date(2024, 12, 31))
        assert err.value.rule == "no_rate"
        with pytest.raises(RuleViolationError):
            find([], JAN)

    def test_within_a_tier_the_line_in_the_works_currency_wins_but_precedence_comes_first(
        self,
    ) -> None:
        # A firm with a card per currency: one role-default line in each.
        usd = RateLine(
            tier=T.ROLE_DEFAULT, currency="USD", bill_rate=Money(Decimal(170), "USD"),
            period=Period(JAN, None), role="senior",
        )  # fmt: skip
        for order in ([FIRM_SENIOR, usd], [usd, FIRM_SENIOR]):
            assert find(order, JAN, currency="USD") == usd
            assert find(order, JAN, currency="EUR") == FIRM_SENIOR
            # Without a currency the choice is still the same whatever the lines' order.
            assert find(order, JAN) == find(list(reversed(order)), JAN)
        # A more specific line in another currency still beats the firm's line in the work's.
        assert find([usd, CLIENT_SENIOR], JAN, currency="USD") == CLIENT_SENIOR

    def test_an_unknown_role_or_task_matches_no_role_or_task_line(self) -> None:
        lines = [FIRM_SENIOR, TASK_ON_ENG]
        with pytest.raises(RuleViolationError):
            find(lines, JAN, role=None, resource_id=None)
        assert find(lines, JAN, role=None, resource_id=None, task="design") == TASK_ON_ENG


def test_name_is_required_and_revisable() -> None:
    with pytest.raises(RuleViolationError):
        RateCard.create(id=uuid4(), name=" ")
    card = make_card()
    card.revise(name=" Firm 2026 ")
    assert card.name == "Firm 2026"


def test_replays_to_the_same_state(check_replay: Callable[[RateCard], None]) -> None:
    card = make_card()
    card.add_line(line(T.ROLE_DEFAULT, 90, role="junior"))
    card.add_line(line(T.ROLE_DEFAULT, 160, start=FEB, role="senior"), supersede=True)
    card.end_line(ANN_DEFAULT, FEB)
    card.revise(name="Firm card")
    card.replace_lines(card.lines[1:3])
    check_replay(card)
