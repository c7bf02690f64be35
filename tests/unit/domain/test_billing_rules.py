"""What a billing run bills, per contract type (domain/billing_rules.py), with figures worked
out by hand, and the properties every run keeps: billed + written down = standard value, one
currency per draft, every item billed at most once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.billing_rules import (
    EXPENSE,
    FEE,
    INCLUDED,
    MILESTONE,
    OVERAGE,
    TIME,
    WRITE_DOWN,
    Period,
    ReadyMilestone,
    Terms,
    Work,
    allowances,
    cap_used,
    plan,
    rollover,
    service_period,
)
from domain.billing_run import BillingRun, draft_id, run_id
from domain.contract import ContractType, RetainerTerms
from domain.errors import RuleViolationError
from domain.values import Money

MARCH = Period(date(2026, 3, 1), date(2026, 4, 1))
TM = Terms(ContractType.TIME_AND_MATERIALS)


def gbp(amount: str, currency: str = "GBP") -> Money:
    return Money(Decimal(amount), currency)


def hours(day: int, qty: str, rate: str, currency: str = "GBP", month: int = 3) -> Work:
    value = (Decimal(qty) * Decimal(rate)).quantize(Decimal("0.01"))
    return Work(
        TIME, uuid4(), 1, date(2026, month, day), Decimal(qty), gbp(rate, currency),
        gbp(str(value), currency), "Analysis",
    )  # fmt: skip


def expense(day: int, amount: str, currency: str = "GBP") -> Work:
    return Work(
        EXPENSE, uuid4(), 2, date(2026, 3, day), Decimal(1), None, gbp(amount, currency), "Travel"
    )


def test_time_and_materials_bills_each_item_of_the_period_at_its_value() -> None:
    a, b, c = hours(9, "8", "100.00"), hours(10, "7.5", "120.00"), expense(10, "45.50")
    april = hours(2, "1", "100.00", month=4)
    [draft] = plan(TM, MARCH, [b, april, a, c], [])
    assert [line.kind for line in draft.lines] == [TIME, TIME, EXPENSE]
    assert [line.amount for line in draft.lines] == [gbp("800.00"), gbp("900.00"), gbp("45.50")]
    assert draft.lines[0].time_entries == ((a.id, 1),) and draft.lines[2].expenses == ((c.id, 2),)
    assert draft.total == gbp("1745.50") and draft.write_down == gbp("0.00")


def test_work_approved_after_its_periods_run_is_billed_by_the_next() -> None:
    late = hours(27, "2", "100.00", month=2)  # February's, approved after February's run
    [draft] = plan(TM, MARCH, [late, hours(2, "1", "100.00")], [])
    assert draft.lines[0].time_entries[0][0] == late.id
    assert draft.total == gbp("300.00")


def test_late_retainer_hours_count_in_their_own_period_as_a_catch_up() -> None:
    """February's hours approved after February's run: February had 8 of its 10 included
    hours billed already, so of 5 late hours 2 are included and 3 are February's overage;
    March's own hours count against March's included hours alone."""
    late = hours(27, "5", "100.00", month=2)
    own = hours(2, "4", "100.00")
    terms = Terms(
        ContractType.RETAINER,
        retainer=RETAINER,
        retainer_used={Period(date(2026, 2, 1), date(2026, 3, 1)): Decimal(8)},
    )
    [draft] = plan(terms, MARCH, [late, own], [])
    assert [line.kind for line in draft.lines] == [FEE, INCLUDED, OVERAGE]
    _, march, catch_up = draft.lines
    assert march.time_entries == ((own.id, 1),) and march.quantity == Decimal(4)
    assert catch_up.time_entries == ((late.id, 1),)
    assert catch_up.quantity == Decimal(3) and catch_up.amount == gbp("450.00")  # 3 h x 150
    assert "2026-02-01 to 2026-03-01" in catch_up.description
    assert catch_up.service_date == date(2026, 2, 1)
    assert draft.total == gbp("2450.00") and draft.overage == gbp("450.00")


def test_late_retainer_hours_within_their_periods_included_hours_are_a_zero_line() -> None:
    late = hours(27, "2", "100.00", month=2)
    [draft] = plan(Terms(ContractType.RETAINER, retainer=RETAINER), MARCH, [late], [])
    assert [line.kind for line in draft.lines] == [FEE, INCLUDED]
    assert draft.lines[1].time_entries == ((late.id, 1),)
    assert "2026-02-01 to 2026-03-01" in draft.lines[1].description
    assert draft.total == gbp("2000.00")


def test_a_retainers_service_period_is_its_calendar_month_quarter_or_year() -> None:
    day = date(2026, 11, 17)
    assert service_period(RETAINER, day) == Period(date(2026, 11, 1), date(2026, 12, 1))
    quarterly = replace(RETAINER, period="quarterly")
    assert service_period(quarterly, day) == Period(date(2026, 10, 1), date(2027, 1, 1))
    annual = replace(RETAINER, period="annual")
    assert service_period(annual, day) == Period(date(2026, 1, 1), date(2027, 1, 1))


def test_a_cap_writes_down_what_exceeds_it_on_its_own_line() -> None:
    terms = Terms(
        ContractType.CAPPED_TIME_AND_MATERIALS, cap=gbp("1000.00"), cap_used=gbp("300.00")
    )
    a, b = hours(2, "4", "100.00"), hours(3, "5", "100.00")
    [draft] = plan(terms, MARCH, [a, b], [])
    # 700.00 of room: a (400.00) fits, b (500.00) fits by 300.00, 200.00 is written down.
    assert [line.kind for line in draft.lines] == [TIME, TIME, WRITE_DOWN]
    assert draft.lines[-1].amount == gbp("-200.00")
    assert [(w.id, w.amount) for w in draft.written_down] == [(b.id, gbp("200.00"))]
    assert draft.total == gbp("700.00") and draft.standard == gbp("900.00")


def test_a_cap_applies_only_to_work_in_its_currency() -> None:
    terms = Terms(ContractType.CAPPED_TIME_AND_MATERIALS, cap=gbp("100.00"), cap_used=None)
    drafts = plan(terms, MARCH, [hours(2, "2", "100.00"), expense(3, "80.00", "EUR")], [])
    assert [d.currency for d in drafts] == ["EUR", "GBP"]
    eur, gbp_draft = drafts
    assert eur.total == gbp("80.00", "EUR") and not eur.written_down
    assert gbp_draft.total == gbp("100.00") and gbp_draft.write_down == gbp("100.00")


def test_cap_used_is_what_earlier_invoices_billed_in_its_currency_up_to_the_cap() -> None:
    cap = gbp("1000.00")
    assert cap_used([gbp("400.00"), gbp("50.00", "EUR")], cap) == gbp("400.00")
    assert cap_used([gbp("900.00"), gbp("300.00")], cap) == cap


def test_fixed_fee_bills_each_billing_ready_milestone_once() -> None:
    m1 = ReadyMilestone(uuid4(), 5, "Design", gbp("3000.00"), date(2026, 3, 5))
    m2 = ReadyMilestone(uuid4(), 4, "Build", gbp("2000.00", "EUR"), date(2026, 3, 6))
    drafts = plan(Terms(ContractType.FIXED_FEE), MARCH, [hours(2, "8", "100.00")], [m1, m2])
    assert [d.currency for d in drafts] == ["EUR", "GBP"]
    [line] = drafts[1].lines
    assert (line.kind, line.milestone, line.amount) == (MILESTONE, (m1.id, 5), m1.amount)


def test_no_contract_bills_milestones_only() -> None:
    assert plan(None, MARCH, [hours(2, "8", "100.00")], []) == []


RETAINER = RetainerTerms(
    period="monthly",  # type: ignore[arg-type]
    fee=gbp("2000.00"),
    included_hours=Decimal(10),
    rollover_rule="expire",  # type: ignore[arg-type]
    overage_rate=gbp("150.00"),
)


def test_a_retainer_bills_its_fee_the_included_hours_at_zero_and_the_overage() -> None:
    a, b, c = hours(2, "6", "100.00"), hours(3, "3", "100.00"), hours(4, "4.5", "100.00")
    [draft] = plan(Terms(ContractType.RETAINER, retainer=RETAINER), MARCH, [a, b, c], [])
    assert [line.kind for line in draft.lines] == [FEE, INCLUDED, OVERAGE]
    fee, included, overage = draft.lines
    assert fee.amount == gbp("2000.00")
    assert included.amount == gbp("0.00") and included.time_entries == ((a.id, 1), (b.id, 1))
    # 13.5 h against 10 included: 3.5 h over, all on the entry that crossed.
    assert overage.quantity == Decimal("3.5") and overage.amount == gbp("525.00")
    assert overage.time_entries == ((c.id, 1),)
    assert draft.overage == gbp("525.00") and draft.total == gbp("2525.00")


def test_a_retainer_within_its_hours_bills_the_fee_alone() -> None:
    [draft] = plan(Terms(ContractType.RETAINER, retainer=RETAINER), MARCH, [], [])
    assert [line.kind for line in draft.lines] == [FEE]


FEBRUARY = Period(date(2026, 2, 1), date(2026, 3, 1))
APRIL = Period(date(2026, 4, 1), date(2026, 5, 1))
ROLL = replace(RETAINER, rollover_rule="roll_over")
CAPPED = replace(RETAINER, rollover_rule="roll_over_capped", rollover_cap_hours=Decimal(3))


def retainer(
    terms: RetainerTerms, carried: dict[Period, Decimal], used: dict[Period, Decimal]
) -> Terms:
    return Terms(
        ContractType.RETAINER, retainer=terms, retainer_used=used, retainer_carried=carried
    )


def test_a_rule_rolls_over_all_unused_hours_up_to_its_cap_or_none() -> None:
    assert rollover(ROLL, Decimal("6.5")) == Decimal("6.5")
    assert rollover(CAPPED, Decimal("6.5")) == Decimal(3)
    assert rollover(CAPPED, Decimal("2")) == Decimal(2)
    assert rollover(RETAINER, Decimal("6.5")) == Decimal(0)  # expire
    assert rollover(ROLL, Decimal(-2)) == Decimal(0)  # an overrun period rolls nothing


def test_unused_hours_roll_into_the_next_period_so_its_overage_is_smaller() -> None:
    """February (its run recorded nothing rolled in) billed 4 of its 10 h: 6 h roll into
    March, whose allowance is 16 h. March's 13.5 h all fit: no overage, where expiry would
    bill 3.5 h x 150.00 = 525.00."""
    a, b, c = hours(2, "6", "100.00"), hours(3, "3", "100.00"), hours(4, "4.5", "100.00")
    terms = retainer(ROLL, {FEBRUARY: Decimal(0)}, {FEBRUARY: Decimal(4)})
    [draft] = plan(terms, MARCH, [a, b, c], [])
    assert draft.rolled_over == Decimal(6)
    assert [line.kind for line in draft.lines] == [FEE, INCLUDED]
    assert draft.lines[1].quantity == Decimal("13.5")
    assert "16 h (10 included + 6 rolled over)" in draft.lines[1].description
    assert draft.total == gbp("2000.00") and draft.overage == gbp("0.00")
    expired = retainer(RETAINER, {FEBRUARY: Decimal(0)}, {FEBRUARY: Decimal(4)})
    [plain] = plan(expired, MARCH, [a, b, c], [])
    assert plain.rolled_over == Decimal(0) and plain.overage == gbp("525.00")


def test_a_capped_rollover_carries_no_more_than_its_cap() -> None:
    """6 h unused in February, 3 h cap: March's allowance is 13 h; 15 h worked, 2 h over."""
    work = [hours(2, "8", "100.00"), hours(3, "7", "100.00")]
    terms = retainer(CAPPED, {FEBRUARY: Decimal(0)}, {FEBRUARY: Decimal(4)})
    [draft] = plan(terms, MARCH, work, [])
    assert draft.rolled_over == Decimal(3)
    assert draft.overage == gbp("300.00")  # 2 h x 150.00
    assert draft.total == gbp("2300.00")


def test_rolled_over_hours_roll_on_while_unused_and_a_first_period_has_none() -> None:
    """January rolled 0 in and used 7: 3 roll to February; February used 5 of 13: 8 roll to
    March (no cap). With no earlier run at all, nothing rolls."""
    january = Period(date(2026, 1, 1), date(2026, 2, 1))
    carried = {january: Decimal(0)}
    used = {january: Decimal(7), FEBRUARY: Decimal(5)}
    assert allowances(ROLL, MARCH, carried, used, {})[0] == Decimal(8)
    # February's run recorded 3 rolled in: the walk takes it as recorded.
    assert allowances(ROLL, MARCH, {**carried, FEBRUARY: Decimal(3)}, used, {})[0] == Decimal(8)
    assert allowances(ROLL, MARCH, {}, used, {})[0] == Decimal(0)
    [draft] = plan(retainer(ROLL, {}, {}), MARCH, [], [])
    assert draft.rolled_over == Decimal(0)


def test_a_period_closing_now_counts_its_late_hours_before_it_rolls_over() -> None:
    """February used 4 of 10 by its run; 2 more February hours are approved before March's
    run: they fit February (no charge) and 4 h, not 6, roll into March."""
    late = hours(27, "2", "100.00", month=2)
    terms = retainer(ROLL, {FEBRUARY: Decimal(0)}, {FEBRUARY: Decimal(4)})
    [draft] = plan(terms, MARCH, [late], [])
    assert draft.rolled_over == Decimal(4)
    assert [line.kind for line in draft.lines] == [FEE, INCLUDED]
    assert draft.lines[1].time_entries == ((late.id, 1),)


def test_hours_approved_after_a_close_find_what_rolled_on_gone() -> None:
    """March's run rolled all 6 unused February hours into March: 2 February hours approved
    after it are February's overage at April's run (the hours moved on with the close)."""
    late = hours(27, "2", "100.00", month=2)
    carried = {FEBRUARY: Decimal(0), MARCH: Decimal(6)}
    used = {FEBRUARY: Decimal(4), MARCH: Decimal(16)}
    [draft] = plan(retainer(ROLL, carried, used), APRIL, [late], [])
    assert [line.kind for line in draft.lines] == [FEE, OVERAGE]
    assert draft.overage == gbp("300.00")
    assert draft.rolled_over == Decimal(0)  # March used its 16 h


def test_a_redraft_keeps_the_rollover_its_run_recorded() -> None:
    terms = retainer(ROLL, {FEBRUARY: Decimal(0), MARCH: Decimal(6)}, {FEBRUARY: Decimal(9)})
    [draft] = plan(terms, MARCH, [hours(2, "15", "100.00")], [])
    assert draft.rolled_over == Decimal(6)  # not the 1 h February has unused now
    assert draft.overage == gbp("0.00")


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(RuleViolationError) as raised:
        Period(date(2026, 3, 1), date(2026, 3, 1))
    assert raised.value.field == "period_end"


def test_a_run_is_the_same_aggregate_for_the_same_engagement_and_period() -> None:
    engagement = uuid4()
    assert run_id(engagement, MARCH) == run_id(engagement, Period(MARCH.start, MARCH.end))
    assert run_id(engagement, MARCH) != run_id(engagement, Period(MARCH.start, date(2026, 5, 1)))
    draft = plan(TM, MARCH, [hours(2, "1", "100.00")], [])
    run = BillingRun.of(
        engagement_id=engagement, contract_id=None, contract_type="time_and_materials",
        period=MARCH, drafts=draft, unpriced=[],
    )  # fmt: skip
    [recorded] = run.drafts
    assert recorded["invoice_id"] == str(draft_id(run.id, "GBP"))
    assert recorded["lines"][0]["time_entries"] == [
        {"id": str(draft[0].lines[0].time_entries[0][0]), "version": 1}
    ]


# Properties ---------------------------------------------------------------------------

currencies = st.sampled_from(["GBP", "EUR", "JPY"])


@st.composite
def work_items(draw: st.DrawFn) -> Work:
    currency = draw(currencies)
    exponent = 0 if currency == "JPY" else 2
    qty = Decimal(draw(st.integers(0, 4000))) / 100
    rate = Decimal(draw(st.integers(0, 50_000))).scaleb(-exponent)
    value = Money.of(qty * rate, currency)
    day = date(2026, 3, 1) + timedelta(days=draw(st.integers(0, 40)))
    kind = draw(st.sampled_from([TIME, EXPENSE]))
    return Work(
        kind, UUID(int=draw(st.integers(0, 2**64))), 1, day, qty, Money(rate, currency), value
    )


@given(
    st.lists(work_items(), max_size=25, unique_by=lambda w: w.id),
    st.integers(0, 200_000),
    st.integers(0, 200_000),
)
def test_billed_plus_written_down_is_the_standard_value_per_currency(
    work: list[Work], cap_minor: int, used_minor: int
) -> None:
    cap = Money.from_minor(cap_minor, "GBP")
    used = min(Money.from_minor(used_minor, "GBP"), cap)
    terms = Terms(ContractType.CAPPED_TIME_AND_MATERIALS, cap=cap, cap_used=used)
    drafts = plan(terms, MARCH, work, [])
    due = [w for w in work if w.work_date < MARCH.end]
    for draft in drafts:
        # One currency per draft: Money refuses to add another, so totals prove it.
        assert {line.amount.currency for line in draft.lines} == {draft.currency}
        standard = sum(
            (w.value.amount for w in due if w.value.currency == draft.currency), Decimal(0)
        )
        assert draft.standard.amount == standard
        assert draft.total.amount + draft.write_down.amount == standard
        if draft.currency == "GBP":
            # Never more billed against the cap than its room; nothing written down while
            # there was room for it.
            assert draft.total <= max(cap - used, Money.zero("GBP")) or not draft.written_down
            assert draft.write_down.amount == max(Decimal(0), standard - (cap - used).amount)
        else:
            assert not draft.written_down
    billed = [
        i for d in drafts for line in d.lines for i, _ in (*line.time_entries, *line.expenses)
    ]
    assert sorted(billed) == sorted(w.id for w in due)
    assert len({d.currency for d in drafts}) == len(drafts)


def test_a_run_adds_a_draft_only_in_a_currency_it_has_none_in() -> None:
    engagement = uuid4()
    [gbp] = plan(TM, MARCH, [hours(2, "1", "100.00")], [])
    run = BillingRun.of(
        engagement_id=engagement, contract_id=None, contract_type="time_and_materials",
        period=MARCH, drafts=[gbp], unpriced=[],
    )  # fmt: skip
    [eur] = plan(TM, MARCH, [expense(3, "50.00", "EUR")], [])
    run.add_draft(eur, [{"kind": "expense", "moved_from": "GBP"}])
    assert [d["currency"] for d in run.drafts] == ["GBP", "EUR"]
    assert run.drafts[1]["invoice_id"] == str(draft_id(run.id, "EUR"))
    with pytest.raises(RuleViolationError) as raised:
        run.add_draft(gbp, [])
    assert raised.value.rule == "one_draft_per_currency"
