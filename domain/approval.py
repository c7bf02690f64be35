"""The approval lifecycle that time entries and expenses share, and their reversal rule."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import Guard, check_detail_values, check_required_text, optional_text
from domain.errors import InvalidTransitionError, RuleViolationError


class ApprovalStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    BILLED = "billed"
    LOCKED = "locked"


_S = ApprovalStatus
EDITABLE = frozenset({_S.DRAFT, _S.SUBMITTED, _S.REJECTED})
# Approved, billed and locked records are facts: they change only by reversal plus a new fact.
FACTS = frozenset({_S.APPROVED, _S.BILLED, _S.LOCKED})
INITIAL = frozenset({_S.DRAFT, _S.SUBMITTED, _S.APPROVED})


def check_initial_status(status: ApprovalStatus | str) -> ApprovalStatus:
    """Returns the status a new record may start in (draft, submitted or approved)."""
    if status not in INITIAL:
        raise RuleViolationError(
            f"a new record starts as draft, submitted or approved, not {status}",
            rule="initial_status",
            field="status",
        )
    return ApprovalStatus(status)


class ApprovableFact(CanonicalAggregate):
    """Base of TimeEntry and Expense: draft -> submitted -> approved -> billed -> locked.

    Subclasses name their fact fields (`REVISABLE` less `DETAILS`), check a whole fact
    (`check_fact`) and record their own `Reversed` and `Corrected` events (`_reverse`,
    `_correct`). Fact fields are what the record is valued on (dates, quantities, rates): a
    change to one of an approved record is a reversal plus a new fact. Descriptive attributes
    (`DETAILS`: a locked reason, an external reference) change by plain revision in any state.
    """

    DETAIL_GUARDS: ClassVar[dict[str, Guard]] = {}
    # Fact fields added after records were first kept: None means "not known yet", and
    # learning the value is not a change of the fact, so it is a plain revision in any state
    # (else every approved record would be reversed the first time a source reports it).
    LEARNT: ClassVar[frozenset[str]] = frozenset()

    def _init_approval(self, status: str) -> None:
        # Called from each subclass's creation event body, replay included.
        self.status = ApprovalStatus(status)
        self.approved_by = ""
        self.rejection_reason = ""
        self.invoice_id: UUID | None = None
        self.credit_note_required = False
        self.credit_note_for: UUID | None = None
        self.credit_note_id: UUID | None = None

    # Fact fields ---------------------------------------------------------------------

    @classmethod
    def fact_fields(cls) -> frozenset[str]:
        return cls.REVISABLE - frozenset(cls.DETAILS)

    def fact(self) -> dict[str, Any]:
        """Returns the current values of the fact fields."""
        return {name: getattr(self, name) for name in self.fact_fields()}

    def plain_revisions(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The changes a record takes as a plain revision whatever its state: descriptive
        attributes, and fact fields it has never known (see LEARNT)."""
        return {
            k: v
            for k, v in changes.items()
            if k in self.DETAILS or (k in self.LEARNT and getattr(self, k) is None)
        }

    def check_fact(self, fact: dict[str, Any]) -> dict[str, Any]:
        """Returns a whole fact normalised, or raises a DomainError (subclasses implement)."""
        raise NotImplementedError

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        if self.status not in EDITABLE and len(self.plain_revisions(changes)) < len(changes):
            raise RuleViolationError(
                f"a {self.status} {self.ENTITY} is a fact: correct it, never edit it",
                rule="fact_immutable",
                field="status",
            )
        facts = {k: v for k, v in changes.items() if k not in self.DETAILS}
        details = {k: v for k, v in changes.items() if k in self.DETAILS}
        checked = self.check_fact({**self.fact(), **facts}) if facts else {}
        return {
            **{name: checked[name] for name in facts},
            **check_detail_values(details, self.DETAIL_GUARDS),
        }

    def correct(self, reason: str, **changes: Any) -> bool:
        """Replaces an approved fact by a reversal plus a new fact; returns whether it changed.

        A billed or locked record also raises a credit-note requirement, since the issued
        invoice is never edited; the new fact is approved and unbilled.
        """
        self.check_not_deleted("be corrected")
        if self.status not in FACTS:
            raise InvalidTransitionError(self.ENTITY, self.status, "be corrected (revise it)")
        reason = check_required_text(reason, "reason")
        unknown = sorted(set(changes) - self.fact_fields())
        if unknown:
            raise RuleViolationError(
                f"{self.ENTITY} attributes {unknown} cannot be corrected",
                rule="not_revisable",
                field=unknown[0],
            )
        current = self.fact()
        new = self.check_fact({**current, **changes})
        if new == current:
            return False
        billed = self.status in (_S.BILLED, _S.LOCKED)
        self._reverse(reason=reason, credit_note_for=self.invoice_id if billed else None)
        self._correct(new)
        return True

    def _reverse(self, *, reason: str, credit_note_for: UUID | None) -> None:
        """Records the subclass's Reversed event for the current fact."""
        raise NotImplementedError

    def _correct(self, fact: dict[str, Any]) -> None:
        """Records the subclass's Corrected event with the new fact."""
        raise NotImplementedError

    def _apply_reversal(self, credit_note_for: UUID | None) -> None:
        # Shared part of the subclasses' Reversed bodies.
        if credit_note_for is not None:
            self.status = _S.APPROVED
            self.invoice_id = None
            self.credit_note_required = True
            self.credit_note_for = credit_note_for

    # Lifecycle ------------------------------------------------------------------------

    def _check_status(self, action: str, *allowed: ApprovalStatus) -> None:
        self.check_not_deleted(action)
        if self.status not in allowed:
            raise InvalidTransitionError(self.ENTITY, self.status, action)

    def check_ready(self) -> None:
        """Raises when the record may not be submitted or approved yet (subclasses extend)."""

    def submit(self) -> None:
        """Submits a draft or rejected record for approval."""
        self._check_status("be submitted", _S.DRAFT, _S.REJECTED)
        self.check_ready()
        self._submitted()

    @event("Submitted")
    def _submitted(self) -> None:
        self.status = _S.SUBMITTED
        self.rejection_reason = ""

    def recall(self) -> None:
        """Takes a submitted record back to draft."""
        self._check_status("be recalled", _S.SUBMITTED)
        self._recalled()

    @event("Recalled")
    def _recalled(self) -> None:
        self.status = _S.DRAFT

    def approve(self, approved_by: str = "") -> None:
        """Approves a submitted record: from here on it is a fact."""
        self._check_status("be approved", _S.SUBMITTED)
        self.check_ready()
        self._approved(approved_by=optional_text(approved_by))

    @event("Approved")
    def _approved(self, approved_by: str) -> None:
        self.status = _S.APPROVED
        self.approved_by = approved_by

    def reject(self, reason: str) -> None:
        """Rejects a submitted record, with the reason the approver gave."""
        self._check_status("be rejected", _S.SUBMITTED)
        self._rejected(reason=check_required_text(reason, "reason"))

    @event("Rejected")
    def _rejected(self, reason: str) -> None:
        self.status = _S.REJECTED
        self.rejection_reason = reason

    def reopen(self) -> None:
        """Returns a rejected record to draft for rework."""
        self._check_status("be reopened", _S.REJECTED)
        self._reopened()

    @event("Reopened")
    def _reopened(self) -> None:
        self.status = _S.DRAFT

    def unapprove(self, reason: str) -> None:
        """Withdraws an unbilled approval (a reversal); the record is submitted again."""
        self.check_not_deleted("be unapproved")
        if self.status in (_S.BILLED, _S.LOCKED):
            raise RuleViolationError(
                f"a {self.status} {self.ENTITY} cannot be unapproved; correct it instead",
                rule="already_billed",
                field="status",
            )
        self._check_status("be unapproved", _S.APPROVED)
        self._reverse(reason=check_required_text(reason, "reason"), credit_note_for=None)
        self._unapproved()

    @event("Unapproved")
    def _unapproved(self) -> None:
        self.status = _S.SUBMITTED
        self.approved_by = ""

    def bill(self, invoice_id: UUID | None) -> None:
        """Marks an approved, billable record as invoiced (on an invoice not known yet: None,
        until the held link resolves)."""
        self._check_status("be billed", _S.APPROVED)
        if not self.billable:
            raise RuleViolationError(
                f"{self.ENTITY} {self.id} is not billable", rule="not_billable", field="billable"
            )
        self._billed(invoice_id=invoice_id)

    @event("Billed")
    def _billed(self, invoice_id: UUID | None) -> None:
        self.status = _S.BILLED
        self.invoice_id = invoice_id

    def release(self, reason: str) -> None:
        """Returns a billed record to WIP when its invoice is voided or credited."""
        self._check_status("be released", _S.BILLED)
        self._released(reason=check_required_text(reason, "reason"))

    @event("Released")
    def _released(self, reason: str) -> None:
        self.status = _S.APPROVED
        self.invoice_id = None

    def lock(self) -> None:
        """Locks a billed record, or an approved non-billable one, at period close."""
        self.check_not_deleted("be locked")
        if self.status == _S.LOCKED:
            return
        if not (self.status == _S.BILLED or (self.status == _S.APPROVED and not self.billable)):
            raise InvalidTransitionError(self.ENTITY, self.status, "be locked")
        self._locked()

    @event("Locked")
    def _locked(self) -> None:
        self.status = _S.LOCKED

    def record_credit_note(self, credit_note_id: UUID) -> None:
        """Settles the credit-note requirement a correction raised."""
        self.check_not_deleted("record a credit note")
        if not self.credit_note_required:
            raise RuleViolationError(
                f"{self.ENTITY} {self.id} needs no credit note",
                rule="no_credit_note_required",
                field="credit_note_id",
            )
        self._credit_note_recorded(credit_note_id=credit_note_id)

    @event("CreditNoteRecorded")
    def _credit_note_recorded(self, credit_note_id: UUID) -> None:
        self.credit_note_required = False
        self.credit_note_id = credit_note_id

    def check_deletable(self) -> None:
        if self.status in (_S.BILLED, _S.LOCKED):
            raise RuleViolationError(
                f"a {self.status} {self.ENTITY} cannot be deleted; credit it instead",
                rule="already_billed",
                field="status",
            )
