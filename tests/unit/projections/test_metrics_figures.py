"""Pricing and money figures of the metrics projection, pure: the rate card's precedence on the
work date, the cap write-down, and a retainer's covered hours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from domain.pricing import PricingState, line_from_json, line_to_json
from domain.rate_card import RateLine, RateTier
from domain.values import Money, Period
from projections.metrics import figures as F

ANN, ENGAGEMENT, CLIENT = uuid4(), uuid4(), uuid4()


def _gbp(amount: str) -> Money:
    return Money(Decimal(amount), "GBP")


def _state() -> PricingState:
    lines = [
        RateLine(
            RateTier.ROLE_DEFAULT,
            "GBP",
            _gbp("100"),
            Period(date(2026, 1, 1), date(2026, 3, 10)),
            role="consultant",
            cost_rate=_gbp("60"),
        ),
        RateLine(
            RateTier.ROLE_DEFAULT, "GBP", _gbp("120"), Period(date(2026, 3, 10)), role="consultant"
        ),
        RateLine(
            RateTier.ROLE_CLIENT,
            "GBP",
            _gbp("140"),
            Period(date(2026, 3, 20)),
            role="consultant",
            client_id=CLIENT,
        ),
        RateLine(
            RateTier.RESOURCE_ENGAGEMENT,
            "GBP",
            _gbp("200"),
            Period(date(2026, 3, 25)),
            resource_id=ANN,
            engagement_id=ENGAGEMENT,
        ),
    ]
    return PricingState(
        lines={uuid4(): lines},
        roles={ANN: "consultant"},
        person_cost={ANN: _gbp("50")},
        clients={ENGAGEMENT: CLIENT},
    )


def _work(day: date, **extra: Any) -> dict[str, Any]:
    return {"resource_id": ANN, "engagement_id": ENGAGEMENT, "work_date": day, "task": "", **extra}


def test_the_most_specific_line_in_force_on_the_work_date_prices_the_work() -> None:
    state = _state()
    assert state.price(_work(date(2026, 3, 9))).bill_rate == _gbp("100")
    assert state.price(_work(date(2026, 3, 10))).bill_rate == _gbp("120")  # its first day
    assert state.price(_work(date(2026, 3, 20))).bill_rate == _gbp("140")  # client beats firm
    assert state.price(_work(date(2026, 3, 25))).bill_rate == _gbp("200")  # person+engagement


def test_the_cost_rate_comes_from_the_line_else_the_person() -> None:
    state = _state()
    assert state.price(_work(date(2026, 3, 9))).cost_rate == _gbp("60")
    assert state.price(_work(date(2026, 3, 10))).cost_rate == _gbp("50")


def test_without_a_line_the_source_rate_is_provisional_and_without_either_nothing() -> None:
    state = PricingState()
    sourced = state.price(
        _work(date(2026, 3, 9), source_rate=Decimal("95"), source_rate_currency="GBP")
    )
    assert (sourced.bill_rate, sourced.bill_basis) == (_gbp("95"), "source")
    assert state.price(_work(date(2026, 3, 9))).bill_basis == "none"


def test_a_rate_line_survives_its_json_form() -> None:
    for lines in _state().lines.values():
        for line in lines:
            assert line_from_json(line_to_json(line)) == line


def _row(value: str, status: str = "approved", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "time",
        "status": status,
        "billable": True,
        "running": False,
        "deleted": False,
        "currency": "GBP",
        "value": Decimal(value),
        "hours": Decimal(1),
        **extra,
    }


def test_work_beyond_a_cap_is_written_down_but_never_more_than_the_wip() -> None:
    sums = F.Sums()
    F.wip_sums([_row("700", "billed"), _row("500")], sums)
    cap = {"type": "capped_time_and_materials", "cap": {"amount": "1000", "currency": "GBP"}}
    F.cap_write_down([cap], sums)
    assert sums.get("written_down_cap", "GBP") == Decimal(200)
    sums = F.Sums()
    F.wip_sums([_row("1500", "billed"), _row("100")], sums)
    F.cap_write_down([cap], sums)
    assert sums.get("written_down_cap", "GBP") == Decimal(100)


def test_running_timers_and_unapproved_work_are_no_wip() -> None:
    sums = F.Sums()
    unpriced = F.wip_sums(
        [
            _row("10", running=True),
            _row("20", "submitted"),
            _row("30", billable=False),
            _row("40", deleted=True),
            {**_row("0"), "value": None, "hours": Decimal("2.5")},
        ],
        sums,
    )
    assert sums.get("wip_time", "GBP") == 0
    assert unpriced == Decimal("2.5")


def test_a_retainers_zero_line_is_covered_by_its_fee() -> None:
    doc = {"engagement_id": ENGAGEMENT}
    retainers = F.retainer_engagements(
        [
            {"type": "retainer", "engagement_id": str(ENGAGEMENT)},
            {"type": "fixed_fee", "engagement_id": "x"},
        ]
    )
    assert F.fee_covered({"net": "0.00"}, doc, retainers)
    assert not F.fee_covered({"net": "300.00"}, doc, retainers)
    assert not F.fee_covered({"net": "0.00"}, {"engagement_id": uuid4()}, retainers)


def test_money_is_rounded_to_the_currencys_minor_unit() -> None:
    assert F.money(Decimal("10.005"), "GBP") == {"amount": "10.01", "currency": "GBP"}
    assert F.money(Decimal("1000.5"), "JPY") == {"amount": "1001", "currency": "JPY"}
    assert F.ratio(Decimal(1), Decimal(0)) is None


def test_hours_with_no_cost_rate_are_counted_apart_from_the_cost() -> None:
    sums = F.Sums()
    costed = {**_row("100"), "cost": Decimal("60"), "cost_currency": "GBP"}
    uncosted = {**_row("100"), "cost": None, "cost_currency": None, "hours": Decimal("3")}
    assert F.cost_sums([costed, uncosted], sums) == Decimal(3)
    assert sums.get("cost", "GBP") == Decimal(60)
