"""Contract: terms per type, signature, change orders and the milestone plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.contract import (
    BillingSchedule,
    Contract,
    ContractStatus,
    ContractType,
    PlannedMilestone,
    RetainerPeriod,
    RetainerTerms,
    RolloverRule,
    TaxTreatment,
    split_by_percentages,
)
from domain.errors import (
    CurrencyMismatchError,
    InvalidCurrencyError,
    InvalidTransitionError,
    NegativeQuantityError,
    RuleViolationError,
)
from domain.values import Money

T = ContractType
S = ContractStatus
DAY = date(2025, 1, 15)


def eur(amount: str | int) -> Money:
    return Money(Decimal(amount), "EUR")


def retainer_terms(**overrides: object) -> RetainerTerms:
    fields: dict[str, object] = {
        "period": RetainerPeriod.MONTHLY,
        "fee": eur(5000),
        "included_hours": Decimal(20),
        "rollover_rule": RolloverRule.EXPIRE,
        "overage_rate": eur(250),
    }
    fields.update(overrides)
    return RetainerTerms(**fields)  # type: ignore[arg-type]


def make_contract(**overrides: object) -> Contract:
    fields: dict[str, object] = {
        "id": uuid4(),
        "engagement_id": uuid4(),
        "client_id": uuid4(),
        "type": T.FIXED_FEE,
        "currency": "EUR",
        "value": eur(1000),
    }
    fields.update(overrides)
    return Contract.create(**fields)  # type: ignore[arg-type]


def plan(*amounts: str | int) -> list[PlannedMilestone]:
    return [PlannedMilestone(uuid4(), eur(a)) for a in amounts]


def signed(contract: Contract) -> Contract:
    contract.sign(DAY, "Ann Client")
    return contract


class TestTerms:
    def test_creates_a_draft_with_defaults(self) -> None:
        contract = make_contract()
        assert contract.status == S.DRAFT
        assert contract.payment_terms_days == 30
        assert contract.tax_treatment == TaxTreatment.STANDARD
        assert contract.billing_schedule == BillingSchedule.MONTHLY

    def test_a_fixed_fee_contract_needs_a_value(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_contract(value=None)
        assert err.value.rule == "required"

    def test_a_capped_time_and_materials_contract_needs_a_cap(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_contract(type=T.CAPPED_TIME_AND_MATERIALS, value=None)
        assert err.value.rule == "cap_required"
        capped = make_contract(type=T.CAPPED_TIME_AND_MATERIALS, value=None, cap=eur(900))
        assert capped.cap == eur(900)

    def test_a_fixed_fee_contract_has_no_cap(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_contract(cap=eur(10))
        assert err.value.rule == "cap_not_applicable"

    def test_a_retainer_needs_retainer_terms_and_only_a_retainer_has_them(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_contract(type=T.RETAINER, value=None)
        assert err.value.rule == "retainer_terms"
        with pytest.raises(RuleViolationError):
            make_contract(retainer=retainer_terms())
        retainer = make_contract(type=T.RETAINER, value=None, retainer=retainer_terms())
        assert retainer.retainer.included_hours == Decimal(20)

    def test_refuses_amounts_in_another_currency(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            make_contract(value=Money(Decimal(1000), "USD"))
        with pytest.raises(CurrencyMismatchError):
            make_contract(
                type=T.RETAINER,
                value=None,
                retainer=retainer_terms(
                    fee=Money(Decimal(1), "USD"), overage_rate=Money(Decimal(1), "USD")
                ),
            )

    def test_refuses_a_negative_value_or_invalid_currency(self) -> None:
        with pytest.raises(NegativeQuantityError):
            make_contract(value=eur(-1))
        with pytest.raises(InvalidCurrencyError):
            make_contract(currency="EURO", value=None, type=T.TIME_AND_MATERIALS)

    @pytest.mark.parametrize(
        ("days", "error"), [(-1, NegativeQuantityError), (True, None), ("30", None)]
    )
    def test_payment_terms_are_whole_non_negative_days(
        self, days: object, error: type | None
    ) -> None:
        with pytest.raises(error or RuleViolationError):
            make_contract(payment_terms_days=days)

    def test_refuses_an_unknown_contract_type(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_contract(type="hourly")
        assert err.value.rule == "enum"

    def test_retainer_terms_validate_hours_and_the_rollover_cap(self) -> None:
        with pytest.raises(NegativeQuantityError):
            retainer_terms(included_hours=Decimal(-1))
        with pytest.raises(RuleViolationError) as err:
            retainer_terms(rollover_rule=RolloverRule.ROLL_OVER_CAPPED)
        assert err.value.rule == "rollover_cap"
        capped = retainer_terms(
            rollover_rule=RolloverRule.ROLL_OVER_CAPPED, rollover_cap_hours=Decimal(10)
        )
        assert capped.rollover_cap_hours == Decimal(10)
        with pytest.raises(CurrencyMismatchError):
            retainer_terms(overage_rate=Money(Decimal(1), "USD"))

    def test_retainer_terms_come_back_from_plain_strings_as_enums(self) -> None:
        terms = retainer_terms(period="monthly", rollover_rule="expire")
        assert terms.period is RetainerPeriod.MONTHLY
        assert terms.rollover_rule is RolloverRule.EXPIRE


class TestMilestonePlan:
    def test_refuses_a_fixed_fee_plan_that_does_not_sum_to_the_value(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_contract(milestones=plan(500, "499.99"))
        assert err.value.rule == "milestones_sum"
        contract = make_contract()
        with pytest.raises(RuleViolationError) as err:
            contract.plan_milestones(plan(600, 500))
        assert err.value.rule == "milestones_sum"

    def test_accepts_a_plan_that_sums_exactly(self) -> None:
        contract = make_contract()
        milestones = plan(250, 750)
        contract.plan_milestones(milestones)
        assert contract.milestones == milestones

    def test_refuses_a_milestone_twice_in_one_plan(self) -> None:
        milestone = PlannedMilestone(uuid4(), eur(500))
        with pytest.raises(RuleViolationError) as err:
            make_contract().plan_milestones([milestone, milestone])
        assert err.value.rule == "duplicate_milestone"

    def test_plans_by_percentages_with_an_exact_sum(self) -> None:
        contract = make_contract(value=eur(100))
        ids = [uuid4(), uuid4(), uuid4()]
        contract.plan_milestones_by_percentage(ids, [Decimal("33.33"), Decimal("33.33"), "33.34"])
        amounts = [m.amount for m in contract.milestones]
        assert amounts == [eur("33.33"), eur("33.33"), eur("33.34")]
        assert [m.milestone_id for m in contract.milestones] == ids

    def test_split_by_percentages_gives_rounding_units_by_largest_remainder(self) -> None:
        parts = split_by_percentages(
            Money(Decimal(100), "JPY"),
            [Decimal(1) / 3 * 100] * 2 + [Decimal("33.33333333333333333333333334")],
        )
        assert sum(p.minor for p in parts) == 100

    def test_refuses_percentages_that_do_not_sum_to_100(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            split_by_percentages(eur(100), [50, 49])
        assert err.value.rule == "percentages_sum"
        with pytest.raises(NegativeQuantityError):
            split_by_percentages(eur(100), [150, -50])

    def test_refuses_one_percentage_per_milestone_mismatch(self) -> None:
        with pytest.raises(RuleViolationError):
            make_contract().plan_milestones_by_percentage([uuid4()], [50, 50])

    def test_a_time_and_materials_plan_need_not_sum_to_a_value(self) -> None:
        contract = make_contract(type=T.TIME_AND_MATERIALS, value=None)
        contract.plan_milestones(plan(10))
        assert len(contract.milestones) == 1

    def test_value_and_plan_change_together_in_a_draft(self) -> None:
        contract = make_contract(milestones=plan(1000))
        with pytest.raises(RuleViolationError) as err:
            contract.revise(value=eur(1200))
        assert err.value.rule == "milestones_sum"
        contract.revise(value=eur(1200), milestones=plan(600, 600))
        assert contract.value == eur(1200)


class TestLifecycle:
    def test_walks_draft_signed_active_closed(self) -> None:
        contract = signed(make_contract())
        assert contract.status == S.SIGNED
        assert contract.signed_on == DAY and contract.signed_by == "Ann Client"
        contract.activate()
        contract.close(date(2025, 12, 31))
        assert contract.status == S.CLOSED and contract.ended_on == date(2025, 12, 31)

    def test_terminates_a_signed_contract_with_a_reason(self) -> None:
        contract = signed(make_contract())
        with pytest.raises(RuleViolationError):
            contract.terminate(DAY, " ")
        contract.terminate(DAY, "client insolvency")
        assert contract.status == S.TERMINATED and contract.end_reason == "client insolvency"

    def test_refuses_out_of_order_transitions(self) -> None:
        contract = make_contract()
        for action, args in (("activate", ()), ("close", (DAY,)), ("terminate", (DAY, "r"))):
            with pytest.raises(InvalidTransitionError):
                getattr(contract, action)(*args)
        signed(contract)
        with pytest.raises(InvalidTransitionError):
            contract.sign(DAY)

    def test_only_an_active_contract_is_billable(self) -> None:
        contract = signed(make_contract())
        with pytest.raises(RuleViolationError) as err:
            contract.check_billable()
        assert err.value.rule == "contract_active"
        contract.activate()
        contract.check_billable()

    def test_a_closed_contract_cannot_be_revised_or_replanned(self) -> None:
        contract = signed(make_contract())
        contract.activate()
        contract.close(DAY)
        with pytest.raises(InvalidTransitionError):
            contract.revise(payment_terms_days=10)
        with pytest.raises(InvalidTransitionError):
            contract.plan_milestones(plan(1000))


class TestAfterSignature:
    def test_currency_is_fixed_once_signed(self) -> None:
        contract = make_contract(type=T.TIME_AND_MATERIALS, value=None)
        contract.revise(currency="USD")
        signed(contract)
        with pytest.raises(RuleViolationError) as err:
            contract.revise(currency="EUR")
        assert err.value.rule == "currency_fixed"

    def test_value_changes_after_signature_only_by_change_order(self) -> None:
        contract = signed(make_contract())
        with pytest.raises(RuleViolationError) as err:
            contract.revise(value=eur(2000))
        assert err.value.rule == "change_order_required"
        contract.order_change(reference="CO-1", reason="scope", effective_on=DAY, value=eur(2000))
        assert contract.value == eur(2000)

    def test_type_is_fixed_once_signed(self) -> None:
        contract = signed(make_contract())
        with pytest.raises(RuleViolationError) as err:
            contract.revise(type=T.TIME_AND_MATERIALS)
        assert err.value.rule == "type_fixed"

    def test_administrative_terms_stay_revisable_after_signature(self) -> None:
        contract = signed(make_contract())
        contract.revise(payment_terms_days=45, tax_treatment="reverse_charge")
        assert contract.payment_terms_days == 45
        assert contract.tax_treatment is TaxTreatment.REVERSE_CHARGE

    def test_the_plan_may_be_rescheduled_after_signature_but_keeps_its_sum(self) -> None:
        contract = signed(make_contract(milestones=plan(400, 600)))
        contract.revise(milestones=plan(500, 500))
        contract.plan_milestones(plan(300, 300, 400))
        assert len(contract.milestones) == 3
        with pytest.raises(RuleViolationError) as err:
            contract.plan_milestones(plan(300, 300))
        assert err.value.rule == "milestones_sum"

    def test_a_change_order_keeps_a_fixed_fee_plan_summing_to_the_value(self) -> None:
        contract = signed(make_contract(milestones=plan(400, 600)))
        with pytest.raises(RuleViolationError) as err:
            contract.order_change(reference="CO-1", reason="", effective_on=DAY, value=eur(1500))
        assert err.value.rule == "milestones_sum"
        contract.order_change(
            reference="CO-1",
            reason="phase 3",
            effective_on=DAY,
            value=eur(1500),
            milestones=[*contract.milestones, *plan(500)],
        )
        assert len(contract.milestones) == 3

    def test_a_change_order_is_recorded_with_the_previous_value(self) -> None:
        contract = signed(make_contract())
        contract.collect_events()
        contract.order_change(reference="CO-1", reason="scope", effective_on=DAY, value=eur(900))
        (event,) = contract.collect_events()
        assert type(event).__name__ == "ChangeOrdered"
        assert event.previous_value == eur(1000) and event.value == eur(900)

    def test_refuses_a_change_order_before_signature_or_twice(self) -> None:
        contract = make_contract()
        with pytest.raises(InvalidTransitionError):
            contract.order_change(reference="CO-1", reason="", effective_on=DAY, value=eur(1))
        signed(contract)
        contract.order_change(reference="CO-1", reason="", effective_on=DAY, value=eur(1100))
        with pytest.raises(RuleViolationError) as err:
            contract.order_change(reference="CO-1", reason="", effective_on=DAY, value=eur(1200))
        assert err.value.rule == "duplicate_change_order"
        with pytest.raises(RuleViolationError):
            contract.order_change(reference=" ", reason="", effective_on=DAY, value=eur(1200))

    def test_a_change_order_can_raise_a_cap(self) -> None:
        contract = signed(
            make_contract(type=T.CAPPED_TIME_AND_MATERIALS, value=None, cap=eur(5000))
        )
        contract.order_change(reference="CO-9", reason="more", effective_on=DAY, cap=eur(8000))
        assert contract.cap == eur(8000)


def test_replays_to_the_same_state(check_replay: Callable[[Contract], None]) -> None:
    contract = make_contract(start_date=DAY, name="SOW 1")
    contract.plan_milestones_by_percentage([uuid4(), uuid4()], [40, 60])
    contract.revise(billing_schedule=BillingSchedule.MILESTONES, tax_treatment=TaxTreatment.EXEMPT)
    signed(contract)
    contract.activate()
    contract.order_change(
        reference="CO-1",
        reason="extension",
        effective_on=DAY,
        value=eur(1500),
        milestones=[*contract.milestones, PlannedMilestone(UUID(int=7), eur(500))],
    )
    contract.terminate(date(2025, 6, 1), "cancelled")
    check_replay(contract)


def test_retainer_replays_to_the_same_state(check_replay: Callable[[Contract], None]) -> None:
    contract = make_contract(
        type=T.RETAINER,
        value=None,
        retainer=retainer_terms(
            rollover_rule=RolloverRule.ROLL_OVER_CAPPED, rollover_cap_hours=Decimal("7.5")
        ),
    )
    contract.revise(type=T.RETAINER, payment_terms_days=14)
    signed(contract)
    contract.order_change(
        reference="CO-2", reason="bigger", effective_on=DAY, retainer=retainer_terms(fee=eur(6000))
    )
    check_replay(contract)
