"""Milestone: a fixed-fee deliverable, accepted by the client and then billed at most once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import (
    Guard,
    check_calendar_date,
    check_detail_values,
    check_id,
    check_optional_date,
    check_optional_id,
    check_required_text,
    check_share,
    check_source_ref,
    check_text,
)
from domain.contract import Contract
from domain.errors import CurrencyMismatchError, InvalidTransitionError, RuleViolationError
from domain.values import Money, SourceRef


class MilestoneStatus(StrEnum):
    PLANNED = "planned"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    BILLING_READY = "billing_ready"
    BILLED = "billed"


_S = MilestoneStatus
# A prerequisite counts once the client has accepted it.
_ACCEPTED_OR_LATER = frozenset({_S.ACCEPTED, _S.BILLING_READY, _S.BILLED})


def check_amount(amount: Money) -> Money:
    if not isinstance(amount, Money):
        raise RuleViolationError("amount must be Money", rule="money", field="amount")
    return amount.check_not_negative("amount")


# Descriptive attributes: what the source plans and says about the milestone beyond its
# amount and lifecycle. They may change even once it is billed (a source's status text moves on).
DETAIL_GUARDS: dict[str, Guard] = {
    "start_date": check_optional_date,
    # Odoo's quantity_percentage: the share of its sale order line this milestone invoices.
    "share": check_share,
    "sale_line": check_source_ref,
    "source_status": check_text,
}


class Milestone(CanonicalAggregate):
    """A milestone of a fixed-fee contract."""

    ENTITY = "milestone"
    DETAILS = dict.fromkeys(DETAIL_GUARDS)
    REVISABLE = frozenset({"name", "amount", "due_date", "prerequisites"}) | frozenset(DETAILS)

    @classmethod
    def plan(
        cls,
        *,
        id: UUID,
        contract_id: UUID,
        engagement_id: UUID,
        name: str,
        amount: Money,
        due_date: date | None = None,
        prerequisites: Sequence[UUID] = (),
        xrefs: Sequence[SourceRef] = (),
        details: Mapping[str, Any] | None = None,
    ) -> Milestone:
        """Plans a milestone after checking its attributes."""
        return cls(
            id=id,
            contract_id=check_id(contract_id, "contract_id"),
            engagement_id=check_id(engagement_id, "engagement_id"),
            name=check_required_text(name, "name"),
            amount=check_amount(amount),
            due_date=None if due_date is None else check_calendar_date(due_date, "due_date"),
            prerequisites=_check_prerequisites(id, prerequisites),
            xrefs=list(xrefs),
            details=check_detail_values(cls.check_details(details), DETAIL_GUARDS),
        )

    @event("Planned")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        contract_id: UUID,
        engagement_id: UUID,
        name: str,
        amount: Money,
        due_date: date | None,
        prerequisites: list[UUID],
        xrefs: list[SourceRef],
        details: dict[str, Any] | None = None,  # absent from events recorded before details
    ) -> None:
        self._init_canonical(xrefs, details)
        self.contract_id = contract_id
        self.engagement_id = engagement_id
        self.name = name
        self.amount = amount
        self.due_date = due_date
        self.prerequisites = list(prerequisites)
        self.status = MilestoneStatus.PLANNED
        self.delivered_on: date | None = None
        self.accepted_by = ""
        self.accepted_on: date | None = None
        self.dispute = ""
        self.invoice_id: UUID | None = None
        self.released_invoice_ids: list[UUID] = []

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        details = {k: v for k, v in changes.items() if k in self.DETAILS}
        changes.update(check_detail_values(details, DETAIL_GUARDS))
        if self.status == _S.BILLED and len(details) < len(changes):
            raise RuleViolationError(
                "a billed milestone is fixed; credit the invoice first",
                rule="billed_immutable",
                field="status",
            )
        if "name" in changes:
            changes["name"] = check_required_text(changes["name"], "name")
        if "amount" in changes:
            check_amount(changes["amount"])
            # One milestone plan, one currency: the contract's.
            if changes["amount"].currency != self.amount.currency:
                raise RuleViolationError(
                    "a milestone keeps its contract's currency",
                    rule="currency_fixed",
                    field="amount.currency",
                )
        if changes.get("due_date") is not None:
            check_calendar_date(changes["due_date"], "due_date")
        if "prerequisites" in changes:
            changes["prerequisites"] = _check_prerequisites(self.id, changes["prerequisites"])
        return changes

    def _check_status(self, action: str, *allowed: MilestoneStatus) -> None:
        self.check_not_deleted(action)
        if self.status not in allowed:
            raise InvalidTransitionError("milestone", self.status, action)

    def deliver(self, delivered_on: date) -> None:
        """Submits the deliverable for the client's acceptance."""
        self._check_status("be delivered", _S.PLANNED)
        self._delivered(delivered_on=check_calendar_date(delivered_on, "delivered_on"))

    @event("Delivered")
    def _delivered(self, delivered_on: date) -> None:
        self.status = _S.DELIVERED
        self.delivered_on = delivered_on

    def reject_delivery(self, reason: str) -> None:
        """Records that the client turned the deliverable down; work resumes."""
        self._check_status("have its delivery rejected", _S.DELIVERED)
        self._delivery_rejected(reason=check_required_text(reason, "reason"))

    @event("DeliveryRejected")
    def _delivery_rejected(self, reason: str) -> None:
        self.status = _S.PLANNED
        self.delivered_on = None

    def accept(self, *, signed_by: str, accepted_on: date) -> None:
        """Records the client's sign-off: who signed and on which date."""
        self._check_status("be accepted", _S.DELIVERED)
        self._accepted(
            signed_by=check_required_text(signed_by, "signed_by"),
            accepted_on=check_calendar_date(accepted_on, "accepted_on"),
        )

    @event("Accepted")
    def _accepted(self, signed_by: str, accepted_on: date) -> None:
        self.status = _S.ACCEPTED
        self.accepted_by = signed_by
        self.accepted_on = accepted_on

    def raise_dispute(self, reason: str) -> None:
        """Opens a dispute; a disputed milestone is not billing-ready."""
        self.check_not_deleted("be disputed")
        self._disputed(reason=check_required_text(reason, "reason"))

    @event("Disputed")
    def _disputed(self, reason: str) -> None:
        self.dispute = reason

    def resolve_dispute(self) -> None:
        """Closes the open dispute."""
        self.check_not_deleted("have a dispute resolved")
        if self.dispute:
            self._dispute_resolved()

    @event("DisputeResolved")
    def _dispute_resolved(self) -> None:
        self.dispute = ""

    def make_billing_ready(
        self, contract: Contract, prerequisites: Sequence[Milestone] = ()
    ) -> None:
        """Marks an accepted milestone ready to invoice once DOMAIN 3.6's criteria all hold."""
        self._check_status("become billing-ready", _S.ACCEPTED)
        if self.dispute:
            raise RuleViolationError(
                f"milestone {self.id} is disputed: {self.dispute}",
                rule="open_dispute",
                field="dispute",
            )
        if contract.id != self.contract_id:
            raise RuleViolationError(
                "that is not this milestone's contract", rule="wrong_contract", field="contract_id"
            )
        contract.check_billable()
        if self.amount.currency != contract.currency:
            raise CurrencyMismatchError(
                f"a {self.amount.currency} milestone on a {contract.currency} contract",
                field="amount.currency",
            )
        given = {m.id: m for m in prerequisites}
        for prerequisite_id in self.prerequisites:
            found = given.get(prerequisite_id)
            if found is None or found.status not in _ACCEPTED_OR_LATER:
                raise RuleViolationError(
                    f"prerequisite milestone {prerequisite_id} is not accepted",
                    rule="prerequisite_not_accepted",
                    field="prerequisites",
                )
        self._made_billing_ready()

    @event("MadeBillingReady")
    def _made_billing_ready(self) -> None:
        self.status = _S.BILLING_READY

    def bill(self, invoice_id: UUID | None) -> None:
        """Marks the milestone invoiced (on an invoice not known yet: None, until the held
        link resolves); a second invoice is duplicate billing."""
        self.check_not_deleted("be billed")
        if self.status == _S.BILLED:
            raise RuleViolationError(
                f"milestone {self.id} is already billed on invoice {self.invoice_id}",
                rule="duplicate_billing",
                field="milestone_id",
            )
        self._check_status("be billed", _S.BILLING_READY)
        self._billed(invoice_id=check_optional_id(invoice_id, "invoice_id"))

    @event("Billed")
    def _billed(self, invoice_id: UUID | None) -> None:
        self.status = _S.BILLED
        self.invoice_id = invoice_id

    def release(self, reason: str) -> None:
        """Returns the milestone to billing-ready after its invoice was voided or credited."""
        self._check_status("be released", _S.BILLED)
        self._released(reason=check_required_text(reason, "reason"), invoice_id=self.invoice_id)

    @event("Released")
    def _released(self, reason: str, invoice_id: UUID) -> None:
        self.status = _S.BILLING_READY
        self.released_invoice_ids = [*self.released_invoice_ids, invoice_id]
        self.invoice_id = None

    def check_deletable(self) -> None:
        if self.status == _S.BILLED:
            raise RuleViolationError(
                "a billed milestone cannot be deleted; credit the invoice first",
                rule="billed_immutable",
                field="status",
            )


def _check_prerequisites(milestone_id: UUID, prerequisites: Sequence[UUID]) -> list[UUID]:
    ids = [check_id(p, "prerequisites") for p in prerequisites]
    if milestone_id in ids:
        raise RuleViolationError(
            "a milestone cannot be its own prerequisite",
            rule="prerequisites",
            field="prerequisites",
        )
    return list(dict.fromkeys(ids))
