"""Contract: the terms of an engagement line, amended after signature only by change orders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import check_dates, coerce_enum, optional_text
from domain.errors import (
    CurrencyMismatchError,
    InvalidTransitionError,
    NegativeQuantityError,
    RuleViolationError,
)
from domain.values import Money, SourceRef, check_currency, sum_money, to_decimal


class ContractType(StrEnum):
    TIME_AND_MATERIALS = "time_and_materials"
    CAPPED_TIME_AND_MATERIALS = "capped_time_and_materials"
    FIXED_FEE = "fixed_fee"
    RETAINER = "retainer"


class ContractStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    ACTIVE = "active"
    CLOSED = "closed"
    TERMINATED = "terminated"


class TaxTreatment(StrEnum):
    STANDARD = "standard"
    REVERSE_CHARGE = "reverse_charge"
    EXEMPT = "exempt"
    ZERO_RATED = "zero_rated"
    OUT_OF_SCOPE = "out_of_scope"


class BillingSchedule(StrEnum):
    MONTHLY = "monthly"
    MILESTONES = "milestones"
    ON_COMPLETION = "on_completion"
    IN_ADVANCE = "in_advance"


class RetainerPeriod(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class RolloverRule(StrEnum):
    EXPIRE = "expire"
    ROLL_OVER = "roll_over"
    ROLL_OVER_CAPPED = "roll_over_capped"


_S = ContractStatus
_T = ContractType
_SIGNED_OR_LATER = (_S.SIGNED, _S.ACTIVE)
_FINAL = (_S.CLOSED, _S.TERMINATED)


@dataclass(frozen=True, slots=True)
class RetainerTerms:
    """What a retainer buys each period: a fee, included hours, and what happens beyond them."""

    period: RetainerPeriod
    fee: Money
    included_hours: Decimal
    rollover_rule: RolloverRule
    overage_rate: Money
    rollover_cap_hours: Decimal | None = None

    def __post_init__(self) -> None:
        # Values come back from the store as plain strings; keep the enums.
        object.__setattr__(self, "period", RetainerPeriod(self.period))
        object.__setattr__(self, "rollover_rule", RolloverRule(self.rollover_rule))
        hours = to_decimal(self.included_hours, field="retainer.included_hours")
        if hours < 0:
            raise NegativeQuantityError(
                "included hours must not be negative", field="retainer.included_hours"
            )
        object.__setattr__(self, "included_hours", hours)
        self.fee.check_not_negative("retainer.fee")
        self.overage_rate.check_not_negative("retainer.overage_rate")
        if self.fee.currency != self.overage_rate.currency:
            raise CurrencyMismatchError(
                "the retainer fee and overage rate must share one currency",
                field="retainer.overage_rate",
            )
        cap = self.rollover_cap_hours
        if (self.rollover_rule == RolloverRule.ROLL_OVER_CAPPED) != (cap is not None):
            raise RuleViolationError(
                "a rollover cap is given exactly when the rule is roll_over_capped",
                rule="rollover_cap",
                field="retainer.rollover_cap_hours",
            )
        if cap is not None:
            cap = to_decimal(cap, field="retainer.rollover_cap_hours")
            if cap < 0:
                raise NegativeQuantityError(
                    "the rollover cap must not be negative", field="retainer.rollover_cap_hours"
                )
            object.__setattr__(self, "rollover_cap_hours", cap)


@dataclass(frozen=True, slots=True)
class PlannedMilestone:
    """One entry of a contract's milestone plan: which milestone, for how much."""

    milestone_id: UUID
    amount: Money


def split_by_percentages(value: Money, percentages: Sequence[Decimal | int | str]) -> list[Money]:
    """Splits a value by percentages summing to 100, so that the parts sum to it exactly."""
    shares = [to_decimal(p, field="percentage") for p in percentages]
    if any(p < 0 for p in shares):
        raise NegativeQuantityError("percentages must not be negative", field="percentage")
    if sum(shares, Decimal(0)) != 100:
        raise RuleViolationError(
            "milestone percentages must sum to 100", rule="percentages_sum", field="percentage"
        )
    # Largest remainder rather than "round each, give the rest to the last one": no single
    # milestone absorbs the whole rounding error.
    return value.allocate(shares)


def check_payment_terms(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise RuleViolationError(
            "payment terms are a whole number of days", rule="integer", field="payment_terms_days"
        )
    if days < 0:
        raise NegativeQuantityError(
            "payment terms must not be negative", field="payment_terms_days"
        )
    return days


def _check_in_currency(amount: Money | None, currency: str, field: str) -> None:
    if amount is None:
        return
    amount.check_not_negative(field)
    if amount.currency != currency:
        raise CurrencyMismatchError(
            f"{field} is in {amount.currency}, the contract in {currency}",
            field=f"{field}.currency",
        )


def check_terms(
    *,
    type: ContractType,
    currency: str,
    value: Money | None,
    cap: Money | None,
    retainer: RetainerTerms | None,
    milestones: Sequence[PlannedMilestone],
) -> None:
    """Raises unless the commercial terms are consistent with each other and the contract type."""
    check_currency(currency)
    _check_in_currency(value, currency, "value")
    _check_in_currency(cap, currency, "cap")
    if type == _T.FIXED_FEE and value is None:
        raise RuleViolationError(
            "a fixed-fee contract needs a value", rule="required", field="value"
        )
    if type == _T.CAPPED_TIME_AND_MATERIALS and cap is None:
        raise RuleViolationError(
            "a capped time-and-materials contract needs a cap", rule="cap_required", field="cap"
        )
    if type in (_T.FIXED_FEE, _T.RETAINER) and cap is not None:
        raise RuleViolationError(
            f"a {type} contract has no cap", rule="cap_not_applicable", field="cap"
        )
    if (type == _T.RETAINER) != (retainer is not None):
        raise RuleViolationError(
            "retainer terms are given exactly when the contract is a retainer",
            rule="retainer_terms",
            field="retainer",
        )
    if retainer is not None:
        _check_in_currency(retainer.fee, currency, "retainer.fee")
    check_milestone_plan(type=type, currency=currency, value=value, milestones=milestones)


def check_milestone_plan(
    *,
    type: ContractType,
    currency: str,
    value: Money | None,
    milestones: Sequence[PlannedMilestone],
) -> None:
    """Raises unless the plan is in the contract currency and, for fixed fee, sums to the value."""
    ids = [m.milestone_id for m in milestones]
    if len(set(ids)) != len(ids):
        raise RuleViolationError(
            "a milestone appears twice in the plan", rule="duplicate_milestone", field="milestones"
        )
    for planned in milestones:
        _check_in_currency(planned.amount, currency, "milestones.amount")
    if type == _T.FIXED_FEE and milestones and value is not None:
        planned_total = sum_money((m.amount for m in milestones), currency)
        # Exact, in minor units: a one-cent gap is a broken plan, not a rounding detail.
        if planned_total != value:
            raise RuleViolationError(
                f"milestones sum to {planned_total}, the contract value is {value}",
                rule="milestones_sum",
                field="milestones",
            )


class Contract(CanonicalAggregate):
    """A contract line of an engagement, in one currency fixed at signature."""

    ENTITY = "contract"
    REVISABLE = frozenset(
        {
            "name",
            "type",
            "currency",
            "value",
            "cap",
            "retainer",
            "milestones",
            "payment_terms_days",
            "tax_treatment",
            "billing_schedule",
            "start_date",
            "end_date",
        }
    )
    ENUM_FIELDS = {
        "type": ContractType,
        "tax_treatment": TaxTreatment,
        "billing_schedule": BillingSchedule,
    }
    # After signature these change only through a change order. The milestone plan may still
    # be rescheduled: for a fixed fee it must keep summing to the unchanged value.
    CHANGE_ORDER_FIELDS = frozenset({"value", "cap", "retainer"})

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        engagement_id: UUID,
        client_id: UUID | None,
        type: ContractType,
        currency: str,
        value: Money | None = None,
        cap: Money | None = None,
        retainer: RetainerTerms | None = None,
        milestones: Sequence[PlannedMilestone] = (),
        payment_terms_days: int = 30,
        tax_treatment: TaxTreatment = TaxTreatment.STANDARD,
        billing_schedule: BillingSchedule = BillingSchedule.MONTHLY,
        name: str = "",
        start_date: date | None = None,
        end_date: date | None = None,
        xrefs: Sequence[SourceRef] = (),
    ) -> Contract:
        """Creates a draft contract after checking its terms."""
        type = coerce_enum(ContractType, type, "type")
        check_terms(
            type=type,
            currency=currency,
            value=value,
            cap=cap,
            retainer=retainer,
            milestones=milestones,
        )
        check_dates(start_date, end_date)
        return cls(
            id=id,
            engagement_id=engagement_id,
            client_id=client_id,
            type=type,
            currency=currency,
            value=value,
            cap=cap,
            retainer=retainer,
            milestones=list(milestones),
            payment_terms_days=check_payment_terms(payment_terms_days),
            tax_treatment=coerce_enum(TaxTreatment, tax_treatment, "tax_treatment"),
            billing_schedule=coerce_enum(BillingSchedule, billing_schedule, "billing_schedule"),
            name=optional_text(name),
            start_date=start_date,
            end_date=end_date,
            xrefs=list(xrefs),
        )

    @event("Created")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        engagement_id: UUID,
        client_id: UUID | None,
        type: str,
        currency: str,
        value: Money | None,
        cap: Money | None,
        retainer: RetainerTerms | None,
        milestones: list[PlannedMilestone],
        payment_terms_days: int,
        tax_treatment: str,
        billing_schedule: str,
        name: str,
        start_date: date | None,
        end_date: date | None,
        xrefs: list[SourceRef],
    ) -> None:
        self._init_canonical(xrefs)
        self.engagement_id = engagement_id
        self.client_id = client_id
        self.type = ContractType(type)
        self.currency = currency
        self.value = value
        self.cap = cap
        self.retainer = retainer
        self.milestones = list(milestones)
        self.payment_terms_days = payment_terms_days
        self.tax_treatment = TaxTreatment(tax_treatment)
        self.billing_schedule = BillingSchedule(billing_schedule)
        self.name = name
        self.start_date = start_date
        self.end_date = end_date
        self.status = ContractStatus.DRAFT
        self.signed_on: date | None = None
        self.signed_by = ""
        self.ended_on: date | None = None
        self.end_reason = ""
        self.change_orders: list[str] = []

    # Revisions ---------------------------------------------------------------------------

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        if self.status in _FINAL:
            raise InvalidTransitionError("contract", self.status, "be revised")
        signed = self.status in _SIGNED_OR_LATER
        if signed:
            if changes.get("currency", self.currency) != self.currency:
                raise RuleViolationError(
                    "the contract currency is fixed once it is signed",
                    rule="currency_fixed",
                    field="currency",
                )
            if changes.get("type", self.type) != self.type:
                raise RuleViolationError(
                    "the contract type is fixed once it is signed", rule="type_fixed", field="type"
                )
            amended = sorted(
                k for k in self.CHANGE_ORDER_FIELDS & set(changes) if changes[k] != getattr(self, k)
            )
            if amended:
                raise RuleViolationError(
                    f"{amended[0]} of a signed contract changes only by a change order",
                    rule="change_order_required",
                    field=amended[0],
                )
        if "type" in changes:
            changes["type"] = coerce_enum(ContractType, changes["type"], "type")
        for field, enum in (
            ("tax_treatment", TaxTreatment),
            ("billing_schedule", BillingSchedule),
        ):
            if field in changes:
                changes[field] = coerce_enum(enum, changes[field], field)
        if "milestones" in changes:
            changes["milestones"] = list(changes["milestones"])
        if "payment_terms_days" in changes:
            check_payment_terms(changes["payment_terms_days"])
        if "name" in changes:
            changes["name"] = optional_text(changes["name"])
        merged = {k: changes.get(k, getattr(self, k)) for k in self.REVISABLE}
        check_terms(
            type=merged["type"],
            currency=merged["currency"],
            value=merged["value"],
            cap=merged["cap"],
            retainer=merged["retainer"],
            milestones=merged["milestones"],
        )
        check_dates(merged["start_date"], merged["end_date"])
        return changes

    # Milestone plan --------------------------------------------------------------------

    def plan_milestones(self, milestones: Sequence[PlannedMilestone]) -> None:
        """Replaces the milestone plan; for a fixed fee it must sum to the value exactly."""
        self.check_not_deleted("plan milestones")
        if self.status in _FINAL:
            raise InvalidTransitionError("contract", self.status, "plan milestones")
        check_milestone_plan(
            type=self.type, currency=self.currency, value=self.value, milestones=milestones
        )
        if list(milestones) != self.milestones:
            self._milestones_planned(milestones=list(milestones))

    @event("MilestonesPlanned")
    def _milestones_planned(self, milestones: list[PlannedMilestone]) -> None:
        self.milestones = list(milestones)

    def plan_milestones_by_percentage(
        self, milestone_ids: Sequence[UUID], percentages: Sequence[Decimal | int | str]
    ) -> None:
        """Plans milestones as shares of the contract value (largest remainder, exact sum)."""
        if self.value is None:
            raise RuleViolationError(
                "percentages need a contract value", rule="required", field="value"
            )
        if len(milestone_ids) != len(percentages):
            raise RuleViolationError(
                "one percentage per milestone", rule="percentages_sum", field="percentage"
            )
        amounts = split_by_percentages(self.value, percentages)
        self.plan_milestones(
            [PlannedMilestone(m, a) for m, a in zip(milestone_ids, amounts, strict=True)]
        )

    # Lifecycle ------------------------------------------------------------------------

    def _check_status(self, action: str, allowed: Sequence[ContractStatus]) -> None:
        self.check_not_deleted(action)
        if self.status not in allowed:
            raise InvalidTransitionError("contract", self.status, action)

    def sign(self, signed_on: date, signed_by: str = "") -> None:
        """Records the signature; currency and value are fixed from here on."""
        self._check_status("be signed", (_S.DRAFT,))
        self._signed(signed_on=signed_on, signed_by=optional_text(signed_by))

    @event("Signed")
    def _signed(self, signed_on: date, signed_by: str) -> None:
        self.status = _S.SIGNED
        self.signed_on = signed_on
        self.signed_by = signed_by

    def activate(self) -> None:
        """Starts delivery under the contract."""
        self._check_status("be activated", (_S.SIGNED,))
        self._activated()

    @event("Activated")
    def _activated(self) -> None:
        self.status = _S.ACTIVE

    def close(self, closed_on: date) -> None:
        """Closes a contract whose work is complete."""
        self._check_status("be closed", (_S.ACTIVE,))
        self._closed(closed_on=closed_on)

    @event("Closed")
    def _closed(self, closed_on: date) -> None:
        self.status = _S.CLOSED
        self.ended_on = closed_on

    def terminate(self, terminated_on: date, reason: str) -> None:
        """Ends a signed contract early."""
        self._check_status("be terminated", _SIGNED_OR_LATER)
        if not isinstance(reason, str) or not reason.strip():
            raise RuleViolationError(
                "a termination needs a reason", rule="required", field="reason"
            )
        self._terminated(terminated_on=terminated_on, reason=reason.strip())

    @event("Terminated")
    def _terminated(self, terminated_on: date, reason: str) -> None:
        self.status = _S.TERMINATED
        self.ended_on = terminated_on
        self.end_reason = reason

    # Change orders --------------------------------------------------------------------

    def order_change(
        self,
        *,
        reference: str,
        reason: str,
        effective_on: date,
        value: Money | None = None,
        cap: Money | None = None,
        retainer: RetainerTerms | None = None,
        milestones: Sequence[PlannedMilestone] | None = None,
    ) -> None:
        """Amends the value, cap, retainer terms or plan of a signed contract."""
        self._check_status("take a change order", _SIGNED_OR_LATER)
        if not isinstance(reference, str) or not reference.strip():
            raise RuleViolationError(
                "a change order needs a reference", rule="required", field="reference"
            )
        if reference in self.change_orders:
            raise RuleViolationError(
                f"change order {reference} is already recorded",
                rule="duplicate_change_order",
                field="reference",
            )
        new_value = self.value if value is None else value
        new_cap = self.cap if cap is None else cap
        new_retainer = self.retainer if retainer is None else retainer
        new_plan = self.milestones if milestones is None else list(milestones)
        check_terms(
            type=self.type,
            currency=self.currency,
            value=new_value,
            cap=new_cap,
            retainer=new_retainer,
            milestones=new_plan,
        )
        self._change_ordered(
            reference=reference.strip(),
            reason=optional_text(reason),
            effective_on=effective_on,
            previous_value=self.value,
            value=new_value,
            cap=new_cap,
            retainer=new_retainer,
            milestones=list(new_plan),
        )

    @event("ChangeOrdered")
    def _change_ordered(
        self,
        *,
        reference: str,
        reason: str,
        effective_on: date,
        previous_value: Money | None,
        value: Money | None,
        cap: Money | None,
        retainer: RetainerTerms | None,
        milestones: list[PlannedMilestone],
    ) -> None:
        self.value = value
        self.cap = cap
        self.retainer = retainer
        self.milestones = list(milestones)
        self.change_orders = [*self.change_orders, reference]

    # Guards used by other aggregates -------------------------------------------------------

    def check_billable(self) -> None:
        """Raises unless the contract is signed and active (DOMAIN 3.6 billing-ready criterion)."""
        self.check_not_deleted("be billed")
        if self.status != _S.ACTIVE:
            raise RuleViolationError(
                f"contract {self.id} is {self.status}, not active",
                rule="contract_active",
                field="contract_id",
            )
