"""Expense: amounts, receipts, the shared approval lifecycle, reimbursement and reversal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.approval import ApprovalStatus
from domain.errors import InvalidTransitionError, NegativeQuantityError, RuleViolationError
from domain.expense import Expense, Receipt
from domain.values import Money

S = ApprovalStatus
DAY = date(2025, 4, 2)
RECEIPT = Receipt(uri="s3://receipts/abc.pdf", file_name="abc.pdf", content_type="application/pdf")


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def make_expense(**overrides: object) -> Expense:
    fields: dict[str, object] = {
        "id": uuid4(),
        "engagement_id": uuid4(),
        "resource_id": uuid4(),
        "spent_date": DAY,
        "amount": usd("84.20"),
        "category": "travel",
        "receipt": RECEIPT,
        "reimbursable": True,
    }
    fields.update(overrides)
    return Expense.record(**fields)  # type: ignore[arg-type]


def approved(**overrides: object) -> Expense:
    expense = make_expense(**overrides)
    expense.submit()
    expense.approve()
    return expense


def test_records_a_draft_expense_in_its_transaction_currency() -> None:
    expense = make_expense()
    assert expense.status == S.DRAFT
    assert expense.amount == usd("84.20") and expense.receipt == RECEIPT


def test_refuses_a_negative_amount_as_negative_quantity() -> None:
    with pytest.raises(NegativeQuantityError) as err:
        make_expense(amount=usd("-1.00"))
    assert err.value.reason == "NEGATIVE_QUANTITY"


def test_refuses_an_amount_that_is_not_money() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_expense(amount=Decimal("12.00"))
    assert err.value.rule == "money"


def test_refuses_a_datetime_spent_date_and_empty_category() -> None:
    with pytest.raises(RuleViolationError):
        make_expense(spent_date=datetime(2025, 4, 2, tzinfo=UTC))
    with pytest.raises(RuleViolationError) as err:
        make_expense(category="")
    assert err.value.rule == "required"


def test_refuses_a_receipt_without_a_uri() -> None:
    with pytest.raises(RuleViolationError):
        Receipt(uri=" ")
    with pytest.raises(RuleViolationError):
        make_expense(receipt="s3://x")


def test_refuses_non_boolean_flags() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_expense(billable="yes")
    assert err.value.rule == "boolean"


def test_walks_the_shared_lifecycle_to_billed_and_locked() -> None:
    expense = approved()
    expense.bill(uuid4())
    expense.lock()
    assert expense.status == S.LOCKED


def test_a_rejected_expense_returns_to_draft() -> None:
    expense = make_expense()
    expense.submit()
    expense.reject("no receipt")
    expense.reopen()
    assert expense.status == S.DRAFT


def test_reimburses_an_approved_reimbursable_expense_once() -> None:
    expense = approved()
    with pytest.raises(InvalidTransitionError):
        make_expense().reimburse(DAY)
    expense.reimburse(date(2025, 4, 30))
    assert expense.reimbursed_on == date(2025, 4, 30)
    with pytest.raises(RuleViolationError) as err:
        expense.reimburse(date(2025, 5, 1))
    assert err.value.rule == "duplicate_reimbursement"


def test_refuses_to_reimburse_a_company_paid_expense() -> None:
    with pytest.raises(RuleViolationError) as err:
        approved(reimbursable=False).reimburse(DAY)
    assert err.value.rule == "not_reimbursable"


def test_edits_before_approval_are_revisions_and_after_approval_are_refused() -> None:
    expense = make_expense()
    expense.revise(amount=usd("90.00"), category="meals")
    assert expense.amount == usd("90.00")
    expense.submit()
    expense.approve()
    with pytest.raises(RuleViolationError) as err:
        expense.revise(amount=usd("95.00"))
    assert err.value.rule == "fact_immutable"


def test_a_correction_after_approval_is_a_reversal_plus_a_new_fact() -> None:
    expense = approved()
    expense.collect_events()
    expense.correct("receipt said 80.20", amount=usd("80.20"))
    reversed_, corrected = expense.collect_events()
    assert type(reversed_).__name__ == "Reversed" and type(corrected).__name__ == "Corrected"
    assert reversed_.amount == usd("-84.20")
    assert corrected.amount == usd("80.20")
    assert expense.amount == usd("80.20") and not expense.credit_note_required


def test_correcting_a_billed_expense_requires_a_credit_note() -> None:
    expense = approved()
    invoice_id = uuid4()
    expense.bill(invoice_id)
    expense.correct("not billable after all", billable=False)
    assert expense.credit_note_required and expense.credit_note_for == invoice_id
    assert expense.status == S.APPROVED and not expense.billable


def test_unapproving_emits_a_reversal_of_the_amount() -> None:
    expense = approved()
    expense.collect_events()
    expense.unapprove("duplicate claim")
    reversed_, unapproved = expense.collect_events()
    assert reversed_.amount == usd("-84.20")
    assert type(unapproved).__name__ == "Unapproved"


def test_refuses_to_delete_a_billed_expense() -> None:
    expense = approved()
    expense.bill(uuid4())
    with pytest.raises(RuleViolationError) as err:
        expense.delete()
    assert err.value.rule == "already_billed"


def test_replays_to_the_same_state(check_replay: Callable[[Expense], None]) -> None:
    expense = make_expense(status=S.SUBMITTED)
    expense.reject("blurry receipt")
    expense.reopen()
    expense.revise(receipt=Receipt(uri="https://files.example/r/2.jpg"), notes="taxi")
    expense.submit()
    expense.approve("lead")
    expense.bill(uuid4())
    expense.correct("wrong currency", amount=Money(Decimal("70.00"), "EUR"))
    expense.reimburse(date(2025, 5, 1))
    expense.record_credit_note(uuid4())
    check_replay(expense)
