"""Milestone: delivery, acceptance, the billing-ready criteria and billing at most once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.contract import Contract, ContractType
from domain.errors import InvalidTransitionError, NegativeQuantityError, RuleViolationError
from domain.milestone import Milestone, MilestoneStatus
from domain.values import Money

S = MilestoneStatus
DAY = date(2025, 6, 30)


def eur(amount: int | str) -> Money:
    return Money(Decimal(amount), "EUR")


def active_contract() -> Contract:
    contract = Contract.create(
        id=uuid4(),
        engagement_id=uuid4(),
        client_id=uuid4(),
        type=ContractType.FIXED_FEE,
        currency="EUR",
        value=eur(10000),
    )
    contract.sign(date(2025, 1, 1))
    contract.activate()
    return contract


def make_milestone(contract: Contract | None = None, **overrides: object) -> Milestone:
    contract = contract or active_contract()
    fields: dict[str, object] = {
        "id": uuid4(),
        "contract_id": contract.id,
        "engagement_id": contract.engagement_id,
        "name": "Discovery report",
        "amount": eur(4000),
        "due_date": DAY,
    }
    fields.update(overrides)
    return Milestone.plan(**fields)  # type: ignore[arg-type]


def accepted(milestone: Milestone) -> Milestone:
    milestone.deliver(date(2025, 6, 20))
    milestone.accept(signed_by="Client CFO", accepted_on=date(2025, 6, 25))
    return milestone


def ready() -> tuple[Milestone, Contract]:
    contract = active_contract()
    milestone = accepted(make_milestone(contract))
    milestone.make_billing_ready(contract)
    return milestone, contract


def test_plans_a_milestone() -> None:
    milestone = make_milestone()
    assert milestone.status == S.PLANNED and milestone.amount == eur(4000)


def test_refuses_a_negative_amount_or_empty_name() -> None:
    with pytest.raises(NegativeQuantityError):
        make_milestone(amount=eur(-1))
    with pytest.raises(RuleViolationError):
        make_milestone(name="")


def test_refuses_itself_as_a_prerequisite() -> None:
    milestone_id = uuid4()
    with pytest.raises(RuleViolationError) as err:
        make_milestone(id=milestone_id, prerequisites=[milestone_id])
    assert err.value.rule == "prerequisites"


def test_acceptance_records_the_signer_and_date() -> None:
    milestone = accepted(make_milestone())
    assert milestone.status == S.ACCEPTED
    assert milestone.accepted_by == "Client CFO" and milestone.accepted_on == date(2025, 6, 25)


def test_acceptance_needs_a_signer_and_a_delivery() -> None:
    milestone = make_milestone()
    with pytest.raises(InvalidTransitionError):
        milestone.accept(signed_by="CFO", accepted_on=DAY)
    milestone.deliver(DAY)
    with pytest.raises(RuleViolationError) as err:
        milestone.accept(signed_by=" ", accepted_on=DAY)
    assert err.value.rule == "required"


def test_a_rejected_delivery_returns_the_milestone_to_planned() -> None:
    milestone = make_milestone()
    milestone.deliver(DAY)
    milestone.reject_delivery("incomplete")
    assert milestone.status == S.PLANNED and milestone.delivered_on is None


def test_becomes_billing_ready_when_accepted_under_an_active_contract() -> None:
    milestone, _ = ready()
    assert milestone.status == S.BILLING_READY


def test_is_not_billing_ready_before_acceptance() -> None:
    contract = active_contract()
    with pytest.raises(InvalidTransitionError):
        make_milestone(contract).make_billing_ready(contract)


def test_is_not_billing_ready_while_the_contract_is_not_active() -> None:
    contract = Contract.create(
        id=uuid4(),
        engagement_id=uuid4(),
        client_id=uuid4(),
        type=ContractType.FIXED_FEE,
        currency="EUR",
        value=eur(10000),
    )
    milestone = accepted(make_milestone(contract))
    with pytest.raises(RuleViolationError) as err:
        milestone.make_billing_ready(contract)
    assert err.value.rule == "contract_active"


def test_is_not_billing_ready_against_another_contract() -> None:
    milestone = accepted(make_milestone())
    with pytest.raises(RuleViolationError) as err:
        milestone.make_billing_ready(active_contract())
    assert err.value.rule == "wrong_contract"


def test_is_not_billing_ready_in_another_currency_than_its_contract() -> None:
    contract = active_contract()
    milestone = accepted(make_milestone(contract, amount=Money(Decimal(4000), "USD")))
    with pytest.raises(RuleViolationError) as err:
        milestone.make_billing_ready(contract)
    assert err.value.rule == "currency_mismatch"


def test_is_not_billing_ready_until_every_prerequisite_is_accepted() -> None:
    contract = active_contract()
    first = make_milestone(contract, name="Phase 1")
    second = accepted(make_milestone(contract, name="Phase 2", prerequisites=[first.id]))
    with pytest.raises(RuleViolationError) as err:
        second.make_billing_ready(contract, [first])
    assert err.value.rule == "prerequisite_not_accepted"
    with pytest.raises(RuleViolationError):
        second.make_billing_ready(contract)  # the prerequisite was not even given
    accepted(first)
    second.make_billing_ready(contract, [first])
    assert second.status == S.BILLING_READY


def test_is_not_billing_ready_while_disputed() -> None:
    contract = active_contract()
    milestone = accepted(make_milestone(contract))
    milestone.raise_dispute("deliverable incomplete")
    with pytest.raises(RuleViolationError) as err:
        milestone.make_billing_ready(contract)
    assert err.value.rule == "open_dispute"
    milestone.resolve_dispute()
    milestone.make_billing_ready(contract)


def test_is_billed_at_most_once() -> None:
    milestone, _ = ready()
    first = uuid4()
    milestone.bill(first)
    assert milestone.status == S.BILLED and milestone.invoice_id == first
    with pytest.raises(RuleViolationError) as err:
        milestone.bill(uuid4())
    assert err.value.rule == "duplicate_billing"
    with pytest.raises(RuleViolationError) as err:
        milestone.bill(first)
    assert err.value.rule == "duplicate_billing"


def test_may_be_billed_again_after_its_invoice_was_released() -> None:
    milestone, _ = ready()
    first = uuid4()
    milestone.bill(first)
    milestone.release("invoice voided")
    assert milestone.status == S.BILLING_READY and milestone.invoice_id is None
    assert milestone.released_invoice_ids == [first]
    milestone.bill(uuid4())
    assert milestone.status == S.BILLED


def test_cannot_be_billed_before_billing_ready() -> None:
    with pytest.raises(InvalidTransitionError):
        accepted(make_milestone()).bill(uuid4())


def test_a_billed_milestone_is_neither_revised_nor_deleted() -> None:
    milestone, _ = ready()
    milestone.bill(uuid4())
    with pytest.raises(RuleViolationError) as err:
        milestone.revise(amount=eur(5000))
    assert err.value.rule == "billed_immutable"
    with pytest.raises(RuleViolationError):
        milestone.delete()


def test_revision_keeps_the_currency() -> None:
    milestone = make_milestone()
    milestone.revise(amount=eur(4500), due_date=date(2025, 7, 31))
    assert milestone.amount == eur(4500)
    with pytest.raises(RuleViolationError) as err:
        milestone.revise(amount=Money(Decimal(4500), "USD"))
    assert err.value.rule == "currency_fixed"


def test_replays_to_the_same_state(check_replay: Callable[[Milestone], None]) -> None:
    contract = active_contract()
    prerequisite = accepted(make_milestone(contract))
    milestone = make_milestone(contract, prerequisites=[prerequisite.id])
    milestone.revise(name="Final report", amount=eur(6000))
    milestone.deliver(DAY)
    milestone.reject_delivery("typos")
    accepted(milestone)
    milestone.raise_dispute("scope")
    milestone.resolve_dispute()
    milestone.make_billing_ready(contract, [prerequisite])
    milestone.bill(uuid4())
    milestone.release("credited")
    milestone.bill(uuid4())
    check_replay(milestone)
