"""Expense: money a resource spent for an engagement, approved, then billed or reimbursed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.approval import ApprovableFact, ApprovalStatus, check_initial_status
from domain.checks import (
    Guard,
    check_calendar_date,
    check_count,
    check_detail_values,
    check_flag,
    check_id,
    check_money,
    check_quantity,
    check_required_text,
    check_text,
    optional_text,
)
from domain.errors import CurrencyMismatchError, InvalidTransitionError, RuleViolationError
from domain.values import Money, SourceRef


@dataclass(frozen=True, slots=True)
class Receipt:
    """A reference to the stored receipt image or file."""

    uri: str
    file_name: str = ""
    content_type: str = ""

    def __post_init__(self) -> None:
        check_required_text(self.uri, "receipt.uri")


def check_amount(amount: Money) -> Money:
    """Returns the amount (transaction currency), or raises when it is not non-negative Money."""
    if not isinstance(amount, Money):
        raise RuleViolationError("amount must be Money", rule="money", field="amount")
    return amount.check_not_negative("amount")


# Descriptive attributes, revised in place in any state: they say how the source files the
# expense, not what it is worth (units and unit price, which make up the amount, are facts).
_GUARDS: dict[str, Guard] = {
    "unit_name": check_text,
    "is_locked": check_flag,
    "locked_reason": check_text,
    "receipt_size_bytes": check_count,
}


class Expense(ApprovableFact):
    """An expense in its transaction currency (the receipt's), charged to an engagement."""

    ENTITY = "expense"
    DETAILS = dict.fromkeys(_GUARDS)
    DETAIL_GUARDS = _GUARDS
    REVISABLE = frozenset(
        {
            "engagement_id",
            "spent_date",
            "amount",
            "category",
            "billable",
            "reimbursable",
            "receipt",
            "notes",
            # Fact fields: units x unit price make up the amount (a mileage or per-diem claim).
            "units",
            "unit_price",
        }
    ) | frozenset(DETAILS)
    LEARNT = frozenset({"units", "unit_price"})
    # Defaults for expenses restored from snapshots taken before these fact fields existed.
    units = None
    unit_price = None

    @classmethod
    def record(
        cls,
        *,
        id: UUID,
        engagement_id: UUID,
        resource_id: UUID,
        spent_date: date,
        amount: Money,
        category: str,
        billable: bool = True,
        reimbursable: bool = False,
        receipt: Receipt | None = None,
        notes: str = "",
        status: ApprovalStatus = ApprovalStatus.DRAFT,
        xrefs: Sequence[SourceRef] = (),
        units: Decimal | None = None,
        unit_price: Money | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Expense:
        """Records an expense after checking it (a non-negative amount, a calendar date)."""
        fact = check_expense_fact(
            {
                "engagement_id": engagement_id,
                "spent_date": spent_date,
                "amount": amount,
                "category": category,
                "billable": billable,
                "reimbursable": reimbursable,
                "receipt": receipt,
                "notes": notes,
                "units": units,
                "unit_price": unit_price,
            }
        )
        return cls(
            id=id,
            resource_id=check_id(resource_id, "resource_id"),
            status=check_initial_status(status),
            xrefs=list(xrefs),
            details=check_detail_values(cls.check_details(details), _GUARDS),
            **fact,
        )

    @event("Recorded")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        engagement_id: UUID,
        resource_id: UUID,
        spent_date: date,
        amount: Money,
        category: str,
        billable: bool,
        reimbursable: bool,
        receipt: Receipt | None,
        notes: str,
        status: str,
        xrefs: list[SourceRef],
        # Absent from events recorded before they existed.
        units: Decimal | None = None,
        unit_price: Money | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._init_canonical(xrefs, details)
        self._init_approval(status)
        self.engagement_id = engagement_id
        self.resource_id = resource_id
        self.spent_date = spent_date
        self.amount = amount
        self.category = category
        self.billable = billable
        self.reimbursable = reimbursable
        self.receipt = receipt
        self.notes = notes
        self.units = units
        self.unit_price = unit_price
        self.reimbursed_on: date | None = None
        self.reversal_reason = ""

    def check_fact(self, fact: dict[str, Any]) -> dict[str, Any]:
        return check_expense_fact(fact)

    def reimburse(self, reimbursed_on: date) -> None:
        """Records that the employee was paid back for an approved, reimbursable expense."""
        self.check_not_deleted("be reimbursed")
        if not self.reimbursable:
            raise RuleViolationError(
                f"expense {self.id} is not reimbursable", rule="not_reimbursable", field="status"
            )
        if self.reimbursed_on is not None:
            raise RuleViolationError(
                f"expense {self.id} was reimbursed on {self.reimbursed_on}",
                rule="duplicate_reimbursement",
                field="reimbursed_on",
            )
        if self.status not in (
            ApprovalStatus.APPROVED,
            ApprovalStatus.BILLED,
            ApprovalStatus.LOCKED,
        ):
            raise InvalidTransitionError("expense", self.status, "be reimbursed")
        self._reimbursed(reimbursed_on=check_calendar_date(reimbursed_on, "reimbursed_on"))

    @event("Reimbursed")
    def _reimbursed(self, reimbursed_on: date) -> None:
        self.reimbursed_on = reimbursed_on

    def _reverse(self, *, reason: str, credit_note_for: UUID | None) -> None:
        self._reversed(
            reason=reason,
            engagement_id=self.engagement_id,
            spent_date=self.spent_date,
            amount=-self.amount,
            billable=self.billable,
            credit_note_for=credit_note_for,
        )

    @event("Reversed")
    def _reversed(
        self,
        *,
        reason: str,
        engagement_id: UUID,
        spent_date: date,
        amount: Money,
        billable: bool,
        credit_note_for: UUID | None,
    ) -> None:
        # The negated amount is for the projections; the expense keeps its fact until the
        # Corrected (or Unapproved) event that follows.
        self.reversal_reason = reason
        self._apply_reversal(credit_note_for)

    def _correct(self, fact: dict[str, Any]) -> None:
        self._corrected(**fact)

    @event("Corrected")
    def _corrected(
        self,
        *,
        engagement_id: UUID,
        spent_date: date,
        amount: Money,
        category: str,
        billable: bool,
        reimbursable: bool,
        receipt: Receipt | None,
        notes: str,
        units: Decimal | None = None,
        unit_price: Money | None = None,
    ) -> None:
        self.engagement_id = engagement_id
        self.spent_date = spent_date
        self.amount = amount
        self.category = category
        self.billable = billable
        self.reimbursable = reimbursable
        self.receipt = receipt
        self.notes = notes
        self.units = units
        self.unit_price = unit_price


def check_expense_fact(fact: dict[str, Any]) -> dict[str, Any]:
    """Returns the fact fields of an expense normalised, or raises a DomainError."""
    for flag in ("billable", "reimbursable"):
        if not isinstance(fact[flag], bool):
            raise RuleViolationError(f"{flag} must be true or false", rule="boolean", field=flag)
    unit_price = check_money(fact.get("unit_price"), "unit_price")
    amount = fact["amount"]
    if (
        unit_price is not None
        and isinstance(amount, Money)
        and unit_price.currency != amount.currency
    ):
        raise CurrencyMismatchError(
            f"a {unit_price.currency} unit price on a {amount.currency} expense", field="unit_price"
        )
    receipt = fact["receipt"]
    if receipt is not None and not isinstance(receipt, Receipt):
        raise RuleViolationError("receipt must be a Receipt", rule="receipt", field="receipt")
    return {
        "engagement_id": check_id(fact["engagement_id"], "engagement_id"),
        "spent_date": check_calendar_date(fact["spent_date"], "spent_date"),
        "amount": check_amount(fact["amount"]),
        "category": check_required_text(fact["category"], "category"),
        "billable": fact["billable"],
        "reimbursable": fact["reimbursable"],
        "receipt": receipt,
        "notes": optional_text(fact["notes"]),
        "units": check_quantity(fact.get("units"), "units"),
        "unit_price": unit_price,
    }
