"""The approval lifecycle shared by time entries and expenses, as a transition table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.approval import ApprovableFact, ApprovalStatus
from domain.errors import RuleViolationError
from domain.expense import Expense
from domain.time_entry import TimeEntry
from domain.values import Money

S = ApprovalStatus
INVOICE = uuid4()


def time_entry(billable: bool = True) -> ApprovableFact:
    return TimeEntry.record(
        id=uuid4(),
        engagement_id=uuid4(),
        resource_id=uuid4(),
        work_date=date(2025, 1, 2),
        hours=Decimal(8),
        billable=billable,
    )


def expense(billable: bool = True) -> ApprovableFact:
    return Expense.record(
        id=uuid4(),
        engagement_id=uuid4(),
        resource_id=uuid4(),
        spent_date=date(2025, 1, 2),
        amount=Money(Decimal("12.50"), "EUR"),
        category="meals",
        billable=billable,
    )


# How to reach each status from a new draft.
PATHS: dict[ApprovalStatus, list[tuple[str, tuple]]] = {
    S.DRAFT: [],
    S.SUBMITTED: [("submit", ())],
    S.REJECTED: [("submit", ()), ("reject", ("no",))],
    S.APPROVED: [("submit", ()), ("approve", ())],
    S.BILLED: [("submit", ()), ("approve", ()), ("bill", (INVOICE,))],
    S.LOCKED: [("submit", ()), ("approve", ()), ("bill", (INVOICE,)), ("lock", ())],
}
# action -> (arguments, {status it may start from: status it leads to}).
TABLE: dict[str, tuple[tuple, dict[ApprovalStatus, ApprovalStatus]]] = {
    "submit": ((), {S.DRAFT: S.SUBMITTED, S.REJECTED: S.SUBMITTED}),
    "recall": ((), {S.SUBMITTED: S.DRAFT}),
    "approve": ((), {S.SUBMITTED: S.APPROVED}),
    "reject": (("reason",), {S.SUBMITTED: S.REJECTED}),
    "reopen": ((), {S.REJECTED: S.DRAFT}),
    "unapprove": (("reason",), {S.APPROVED: S.SUBMITTED}),
    "bill": ((INVOICE,), {S.APPROVED: S.BILLED}),
    "release": (("voided",), {S.BILLED: S.APPROVED}),
    "lock": ((), {S.BILLED: S.LOCKED, S.LOCKED: S.LOCKED}),
}
CASES = [(action, start) for action in TABLE for start in S]


def reach(make: Callable[[], ApprovableFact], status: ApprovalStatus) -> ApprovableFact:
    record = make()
    for action, args in PATHS[status]:
        getattr(record, action)(*args)
    assert record.status == status
    return record


@pytest.mark.parametrize("make", [time_entry, expense], ids=["time_entry", "expense"])
@pytest.mark.parametrize(("action", "start"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_follows_the_transition_table(
    make: Callable[[], ApprovableFact], action: str, start: ApprovalStatus
) -> None:
    record = reach(make, start)
    args, moves = TABLE[action]
    if start in moves:
        getattr(record, action)(*args)
        assert record.status == moves[start]
    else:
        with pytest.raises(RuleViolationError):
            getattr(record, action)(*args)
        assert record.status == start


@pytest.mark.parametrize("make", [time_entry, expense], ids=["time_entry", "expense"])
def test_a_refused_transition_records_nothing(make: Callable[[], ApprovableFact]) -> None:
    record = reach(make, S.BILLED)
    record.collect_events()
    with pytest.raises(RuleViolationError):
        record.unapprove("too late")
    assert record.collect_events() == []


@pytest.mark.parametrize("make", [time_entry, expense], ids=["time_entry", "expense"])
def test_non_billable_records_lock_when_approved(make: Callable[..., ApprovableFact]) -> None:
    record = make(billable=False)
    record.submit()
    record.approve()
    record.lock()
    assert record.status == S.LOCKED
