"""Delivered work beyond its core facts: descriptive attributes change in place in any state;
fact fields (cost rate, cost, units, unit price) change an approved entry only by reversal
plus a new fact, unless the entry never knew them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.approval import ApprovalStatus
from domain.contract import Contract, ContractType
from domain.errors import CurrencyMismatchError, NegativeQuantityError, RuleViolationError
from domain.expense import Expense, Receipt
from domain.milestone import Milestone
from domain.rate_card import RateCard, RateLine, RateTier
from domain.time_entry import ExternalReference, TimeEntry
from domain.values import Money, Period, SourceRef

WORK_DAY = date(2026, 3, 4)


def jpy(amount: str) -> Money:
    return Money(Decimal(amount), "JPY")


def entry(**kwargs: object) -> TimeEntry:
    fields: dict[str, object] = {
        "id": uuid4(),
        "engagement_id": uuid4(),
        "resource_id": uuid4(),
        "work_date": WORK_DAY,
        "hours": Decimal("6.5"),
        "source_rate": jpy("18000"),
        "status": ApprovalStatus.APPROVED,
    }
    fields.update(kwargs)
    return TimeEntry.record(**fields)  # type: ignore[arg-type]


def topics(aggregate: Aggregate) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


class TestTimeEntry:
    def test_descriptive_attributes_come_with_the_recording(
        self, check_replay: Callable[[Aggregate], None]
    ) -> None:
        recorded = entry(
            cost_rate=jpy("7200"),
            details={
                "started_time": "09:15",
                "ended_time": "15:45",
                "external_reference": ExternalReference("PROJ-88", "jira", "PROJ"),
                "task_ref": SourceRef("harvest", "88121", "Task", "8083366"),
            },
        )
        assert len(recorded.pending_events) == 1
        assert recorded.cost_value == jpy("46800")  # 6.5 h at the cost rate
        check_replay(recorded)

    def test_a_locked_reason_on_a_billed_entry_is_revised_in_place(self) -> None:
        billed = entry(billable=True)
        billed.bill(uuid4())
        billed.collect_events()
        billed.revise(is_locked=True, locked_reason="Item Invoiced and Approved and Locked")
        assert topics(billed) == ["Revised"]
        assert billed.credit_note_required is False

    def test_learning_a_cost_rate_never_known_is_not_a_correction(self) -> None:
        approved = entry()
        approved.collect_events()
        approved.revise(cost_rate=jpy("7200"))
        assert topics(approved) == ["Revised"]

    def test_changing_a_known_cost_rate_of_an_approved_entry_is_a_reversal_and_a_new_fact(
        self,
    ) -> None:
        approved = entry(cost_rate=jpy("7200"))
        approved.collect_events()
        with pytest.raises(RuleViolationError) as caught:
            approved.revise(cost_rate=jpy("7500"))
        assert caught.value.rule == "fact_immutable"
        assert approved.correct("cost rate raised at source", cost_rate=jpy("7500"))
        events = approved.collect_events()
        assert [type(e).__name__ for e in events] == ["Reversed", "Corrected"]
        assert events[0].cost == jpy("-46800")  # type: ignore[attr-defined]
        assert approved.cost_rate == jpy("7500")

    def test_a_clock_time_is_hh_mm(self) -> None:
        with pytest.raises(RuleViolationError) as caught:
            entry(details={"started_time": "3:00pm"})
        assert caught.value.field == "started_time"

    def test_a_negative_cost_is_refused(self) -> None:
        with pytest.raises(NegativeQuantityError):
            entry(cost=jpy("-10"))

    def test_descriptive_attributes_cannot_be_corrected_as_facts(self) -> None:
        with pytest.raises(RuleViolationError) as caught:
            entry().correct("no", locked_reason="x")
        assert caught.value.rule == "not_revisable"


class TestExpense:
    def expense(self, **kwargs: object) -> Expense:
        fields: dict[str, object] = {
            "id": uuid4(),
            "engagement_id": uuid4(),
            "resource_id": uuid4(),
            "spent_date": WORK_DAY,
            "amount": Money(Decimal("63.00"), "EUR"),
            "category": "Mileage",
            "receipt": Receipt("https://files.example/r/1.pdf", "1.pdf", "application/pdf"),
            "status": ApprovalStatus.APPROVED,
        }
        fields.update(kwargs)
        return Expense.record(**fields)  # type: ignore[arg-type]

    def test_units_and_unit_price_make_up_the_amount(
        self, check_replay: Callable[[Aggregate], None]
    ) -> None:
        mileage = self.expense(
            units=Decimal("150"),
            unit_price=Money(Decimal("0.42"), "EUR"),
            details={"unit_name": "km", "receipt_size_bytes": 48213},
        )
        assert (mileage.units, mileage.unit_name) == (Decimal("150"), "km")
        check_replay(mileage)

    def test_a_unit_price_in_another_currency_is_refused(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            self.expense(units=Decimal(2), unit_price=Money(Decimal("30"), "USD"))

    def test_the_receipt_size_is_descriptive_even_on_an_approved_expense(self) -> None:
        approved = self.expense()
        approved.collect_events()
        approved.revise(receipt_size_bytes=1024, unit_name="trip")
        assert topics(approved) == ["Revised"]

    def test_new_units_on_a_known_count_are_a_correction(self) -> None:
        approved = self.expense(units=Decimal("150"))
        assert approved.correct("re-measured", units=Decimal("160"))


class TestMilestone:
    def test_details_change_even_once_billed(self) -> None:
        contract = Contract.create(
            id=uuid4(),
            engagement_id=uuid4(),
            client_id=uuid4(),
            type=ContractType.FIXED_FEE,
            currency="EUR",
            value=Money(Decimal("1000.00"), "EUR"),
        )
        milestone = Milestone.plan(
            id=uuid4(),
            contract_id=contract.id,
            engagement_id=contract.engagement_id,
            name="Blueprint",
            amount=Money(Decimal("1000.00"), "EUR"),
            details={"share": Decimal("0.25"), "start_date": date(2026, 1, 5)},
        )
        contract.sign(date(2026, 1, 2), "Ana")
        contract.activate()
        milestone.deliver(date(2026, 2, 1))
        milestone.accept(signed_by="Ana", accepted_on=date(2026, 2, 2))
        milestone.make_billing_ready(contract)
        milestone.bill(uuid4())
        assert milestone.revise(source_status="Invoiced") == {"source_status": "Invoiced"}
        with pytest.raises(RuleViolationError) as caught:
            milestone.revise(name="Blueprint v2")
        assert caught.value.rule == "billed_immutable"

    def test_a_share_is_a_fraction(self) -> None:
        with pytest.raises(RuleViolationError):
            Milestone.plan(
                id=uuid4(),
                contract_id=uuid4(),
                engagement_id=uuid4(),
                name="M",
                amount=Money(Decimal("1.00"), "EUR"),
                details={"share": Decimal("25")},
            )


def test_a_rate_card_says_when_its_currency_was_assumed_and_keeps_rate_ids() -> None:
    resource = uuid4()
    rate = RateLine(
        tier=RateTier.RESOURCE_DEFAULT,
        currency="USD",
        bill_rate=Money(Decimal("140.00"), "USD"),
        period=Period(date(2024, 1, 1)),
        resource_id=resource,
        source_id="1836493",
    )
    card = RateCard.create(
        id=uuid4(), name="Harvest rates", lines=[rate], details={"currency_assumed": True}
    )
    assert card.currency_assumed is True
    assert card.lines[0].source_id == "1836493"


def test_a_timer_started_at_must_carry_its_zone() -> None:
    with pytest.raises(RuleViolationError):
        entry(details={"timer_started_at": datetime(2026, 3, 4, 9, 0)})
    assert entry(details={"timer_started_at": datetime(2026, 3, 4, 9, 0, tzinfo=UTC)})
