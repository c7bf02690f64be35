"""Invoice and credit note: drafted, issued once and never edited, then paid or voided.

An overpayment (or a credit larger than the open balance) is accepted and kept as customer
credit, never as a negative balance (DOMAIN 3.8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import (
    check_calendar_date,
    check_dates,
    check_detail_values,
    check_id,
    check_optional_id,
    check_required_text,
    coerce_enum,
    optional_text,
)
from domain.errors import CurrencyMismatchError, InvalidTransitionError, RuleViolationError
from domain.invoice_details import DETAIL_GUARDS, DOCUMENT_DETAILS, INVOICE_DETAILS
from domain.invoice_values import (
    MAX_UNIT_PRICE_SCALE,
    AppliedCredit,
    ExchangeRate,
    InvoiceLine,
    Payment,
    RateDirection,
    Tracking,
    check_lines,
)
from domain.values import Money, SourceRef, check_currency, sum_money

__all__ = [
    "MAX_UNIT_PRICE_SCALE",
    "AppliedCredit",
    "ExchangeRate",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "Payment",
    "RateDirection",
    "Tracking",
    "check_lines",
]


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


_S = InvoiceStatus


class Invoice(CanonicalAggregate):
    """An invoice or credit note in one currency, as the billing system of record keeps it."""

    ENTITY = "invoice"
    DETAILS = dict.fromkeys(INVOICE_DETAILS)
    REVISABLE = frozenset({"engagement_id", "issue_date", "due_date"}) | frozenset(DETAILS)
    # Set when a billing migration carries the open balance to another system (carry_over);
    # on the class, so records from before it read these (see CanonicalAggregate).
    carried_to = None  # type: str | None
    carried_from = None  # type: str | None
    carried_balance = None  # type: Money | None
    carried_paid = None  # type: Money | None
    # How many payments the invoice had when it was carried: those after are each system's own.
    carried_payments = 0

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        client_id: UUID | None,
        currency: str,
        lines: Sequence[InvoiceLine] = (),
        engagement_id: UUID | None = None,
        issue_date: date | None = None,
        due_date: date | None = None,
        kind: InvoiceKind = InvoiceKind.INVOICE,
        original: Invoice | None = None,
        xrefs: Sequence[SourceRef] = (),
        details: Mapping[str, Any] | None = None,
    ) -> Invoice:
        """Creates a draft invoice, or a draft credit note against an original invoice."""
        kind = coerce_enum(InvoiceKind, kind, "kind")
        check_currency(currency)
        lines = check_lines(lines, currency)
        _check_document_dates(issue_date, due_date)
        if (kind == InvoiceKind.CREDIT_NOTE) != (original is not None):
            raise RuleViolationError(
                "a credit note, and only a credit note, references an original invoice",
                rule="credit_note_original",
                field="original_invoice_id",
            )
        if original is not None:
            original.check_creditable(
                sum_money((line.gross for line in lines), currency), client_id=client_id
            )
        return cls(
            id=id,
            kind=kind,
            # None while the billing system's customer is not known yet (a held link).
            client_id=check_optional_id(client_id, "client_id"),
            engagement_id=check_optional_id(engagement_id, "engagement_id"),
            currency=currency,
            lines=lines,
            issue_date=issue_date,
            due_date=due_date,
            original_invoice_id=None if original is None else original.id,
            xrefs=list(xrefs),
            details=check_detail_values(cls.check_details(details), DETAIL_GUARDS),
        )

    @event("Created")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        kind: str,
        client_id: UUID | None,
        engagement_id: UUID | None,
        currency: str,
        lines: list[InvoiceLine],
        issue_date: date | None,
        due_date: date | None,
        original_invoice_id: UUID | None,
        xrefs: list[SourceRef],
        details: dict[str, Any] | None = None,  # absent from events recorded before details
    ) -> None:
        self._init_canonical(xrefs, details)
        self.kind = InvoiceKind(kind)
        self.client_id = client_id
        self.engagement_id = engagement_id
        self.currency = currency
        self.lines = list(lines)
        self.issue_date = issue_date
        self.due_date = due_date
        self.original_invoice_id = original_invoice_id
        self.number = ""
        self.status = InvoiceStatus.DRAFT
        self.payments: list[Payment] = []
        self.credits: list[AppliedCredit] = []
        self.customer_credit = Money.zero(currency)
        self.void_reason = ""

    # Figures ----------------------------------------------------------------------------

    @property
    def subtotal(self) -> Money:
        return sum_money((line.net for line in self.lines), self.currency)

    @property
    def tax_total(self) -> Money:
        return sum_money((line.tax for line in self.lines), self.currency)

    @property
    def total(self) -> Money:
        return self.subtotal + self.tax_total

    @property
    def paid_total(self) -> Money:
        return sum_money((p.amount for p in self.payments), self.currency)

    @property
    def credited_total(self) -> Money:
        return sum_money((c.amount for c in self.credits), self.currency)

    @property
    def open_balance(self) -> Money:
        """total - payments - credits, never below zero (the excess is customer credit)."""
        owed = self.total - self.paid_total - self.credited_total
        return max(owed, Money.zero(self.currency))

    @property
    def creditable(self) -> Money:
        """What credit notes may still credit: the total less credits already applied."""
        return self.total - self.credited_total

    def variances(self) -> list[tuple[int, Money, Money]]:
        """Returns (line index, net variance, tax variance) where the source's amounts differ."""
        return [
            (i, line.net_variance, line.tax_variance)
            for i, line in enumerate(self.lines)
            if not (line.net_variance.is_zero() and line.tax_variance.is_zero())
        ]

    # Drafting ---------------------------------------------------------------------------

    def check_draft(self, action: str) -> None:
        """Raises unless the document is still a draft (an issued invoice is immutable)."""
        self.check_not_deleted(action)
        if self.status != _S.DRAFT:
            raise RuleViolationError(
                f"a {self.status} {self.kind} cannot {action}; credit or void it instead",
                rule="issued_immutable",
                field="status",
            )

    @property
    def payment_status(self) -> str | None:
        """unpaid, partially_paid, paid or overpaid for an issued or paid document, else None."""
        if self.status not in (_S.ISSUED, _S.PAID):
            return None
        if not self.customer_credit.is_zero():
            return "overpaid"
        if self.status == _S.PAID or self.open_balance.is_zero():
            return "paid"
        settled = self.paid_total + self.credited_total
        return "partially_paid" if settled.amount > 0 else "unpaid"

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        details = {k: v for k, v in changes.items() if k in self.DETAILS}
        if len(details) < len(changes):
            self.check_draft("be revised")
        elif self.status != _S.DRAFT:
            for name in DOCUMENT_DETAILS & set(details):
                current = getattr(self, name)
                if current is not None and details[name] != current:
                    raise RuleViolationError(
                        f"the {name} of a {self.status} {self.kind} is fixed at issue "
                        f"({current}); credit or void it instead",
                        rule="issued_immutable",
                        field=name,
                    )
        changes.update(check_detail_values(details, DETAIL_GUARDS))
        if "engagement_id" in changes:
            check_optional_id(changes["engagement_id"], "engagement_id")
        _check_document_dates(
            changes.get("issue_date", self.issue_date), changes.get("due_date", self.due_date)
        )
        return changes

    def replace_lines(self, lines: Sequence[InvoiceLine]) -> None:
        """Replaces the lines of a draft."""
        self.check_draft("change its lines")
        checked = check_lines(lines, self.currency)
        if checked != self.lines:
            self._lines_replaced(lines=checked)

    def assign_link(self, field: str, canonical_id: UUID) -> None:
        # Lines name their time entries, expenses and milestone as "lines.<n>.<field>".
        parts = field.split(".")
        if len(parts) != 3 or parts[0] != "lines":
            super().assign_link(field, canonical_id)
            return
        index, name = int(parts[1]), parts[2]
        if index >= len(self.lines):
            return  # the draft's lines were replaced since
        line = self.lines[index]
        value: object = canonical_id
        if name.endswith("_ids"):
            current = getattr(line, name)
            value = current if canonical_id in current else (*current, canonical_id)
        lines = list(self.lines)
        lines[index] = replace(line, **{name: value})
        self.lines = lines

    @event("LinesReplaced")
    def _lines_replaced(self, lines: list[InvoiceLine]) -> None:
        self.lines = list(lines)

    def add_line(self, line: InvoiceLine) -> None:
        """Adds a line to a draft."""
        self.check_draft("change its lines")
        check_lines([*self.lines, line], self.currency)
        self._line_added(line=line)

    @event("LineAdded")
    def _line_added(self, line: InvoiceLine) -> None:
        self.lines = [*self.lines, line]

    # Issue, pay, credit, void -------------------------------------------------------

    def issue(
        self,
        *,
        number: str,
        issue_date: date | None = None,
        due_date: date | None = None,
        total: Money | None = None,
        original: Invoice | None = None,
    ) -> None:
        """Issues the draft under the billing system's number; its source total must reconcile.

        A credit note is issued against its original invoice, which must still be creditable
        by the credit note's total.
        """
        self.check_draft("be issued")
        number = check_required_text(number, "number")
        issue_date = issue_date or self.issue_date
        if issue_date is None:
            raise RuleViolationError(
                "an issued invoice needs an issue date", rule="required", field="issue_date"
            )
        due_date = due_date or self.due_date
        _check_document_dates(issue_date, due_date)
        if not self.lines:
            raise RuleViolationError("an invoice needs lines", rule="lines_required", field="lines")
        if total is not None and total != self.total:
            # Park it for a person; never "fix" a total (DOMAIN 3.8).
            raise RuleViolationError(
                f"source total {total} differs from lines net + tax {self.total}",
                rule="totals_mismatch",
                field="total",
            )
        if self.total.is_negative():
            raise RuleViolationError(
                "a document total must not be negative; issue a credit note instead",
                rule="negative_total",
                field="total",
            )
        if self.kind == InvoiceKind.CREDIT_NOTE:
            if original is None or original.id != self.original_invoice_id:
                raise RuleViolationError(
                    "a credit note is issued against its original invoice",
                    rule="credit_note_original",
                    field="original_invoice_id",
                )
            original.check_creditable(self.total, client_id=self.client_id)
        self._issued(
            number=number,
            issue_date=issue_date,
            due_date=due_date,
            status=_S.PAID if self.total.is_zero() else _S.ISSUED,
        )

    @event("Issued")
    def _issued(self, number: str, issue_date: date, due_date: date | None, status: str) -> None:
        self.number = number
        self.issue_date = issue_date
        self.due_date = due_date
        self.status = InvoiceStatus(status)

    def record_payment(
        self, amount: Money, paid_on: date, reference: str = "", system: str = ""
    ) -> None:
        """Records a payment (`system`: the one that reported it); the invoice is paid at a
        zero balance, any excess is credit."""
        self.check_not_deleted("record a payment")
        if self.status != _S.ISSUED:
            raise InvalidTransitionError(self.ENTITY, self.status, "record a payment")
        self._check_positive(amount, "amount")
        reference = optional_text(reference)
        if reference and any(p.reference == reference for p in self.payments):
            raise RuleViolationError(
                f"payment {reference} is already recorded",
                rule="duplicate_payment",
                field="reference",
            )
        excess = self._excess_over_balance(amount)
        self._payment_recorded(
            payment=Payment(amount, check_calendar_date(paid_on, "paid_on"), reference, system),
            customer_credit=self.customer_credit + excess,
            status=_S.PAID if amount >= self.open_balance else _S.ISSUED,
        )

    @event("PaymentRecorded")
    def _payment_recorded(self, payment: Payment, customer_credit: Money, status: str) -> None:
        self.payments = [*self.payments, payment]
        self.customer_credit = customer_credit
        self.status = InvoiceStatus(status)

    def check_creditable(self, amount: Money, *, client_id: UUID | None = None) -> None:
        """Raises unless a credit note for `amount` may be raised against this invoice."""
        self.check_not_deleted("be credited")
        if self.kind != InvoiceKind.INVOICE:
            raise RuleViolationError(
                "only an invoice can be credited", rule="credit_note_original", field="kind"
            )
        if self.status not in (_S.ISSUED, _S.PAID):
            raise InvalidTransitionError(self.ENTITY, self.status, "be credited")
        # A customer not known yet on either side cannot be compared; its link resolves later.
        if None not in (client_id, self.client_id) and client_id != self.client_id:
            raise RuleViolationError(
                "a credit note is for the original invoice's client",
                rule="credit_note_client",
                field="client_id",
            )
        if amount.currency != self.currency:
            raise CurrencyMismatchError(
                f"a {amount.currency} credit on a {self.currency} invoice", field="currency"
            )
        if amount > self.creditable:
            raise RuleViolationError(
                f"credit {amount} exceeds the creditable {self.creditable}",
                rule="credit_exceeds_invoice",
                field="total",
            )

    def apply_credit(self, credit_note_id: UUID, amount: Money) -> None:
        """Allocates an issued credit note to this invoice, reducing its open balance."""
        self._check_positive(amount, "amount")
        self.check_creditable(amount)
        if any(c.credit_note_id == credit_note_id for c in self.credits):
            raise RuleViolationError(
                f"credit note {credit_note_id} is already applied",
                rule="duplicate_credit",
                field="credit_note_id",
            )
        excess = self._excess_over_balance(amount)
        self._credit_applied(
            credit=AppliedCredit(check_id(credit_note_id, "credit_note_id"), amount),
            customer_credit=self.customer_credit + excess,
            status=_S.PAID if amount >= self.open_balance else self.status,
        )

    @event("CreditApplied")
    def _credit_applied(self, credit: AppliedCredit, customer_credit: Money, status: str) -> None:
        self.credits = [*self.credits, credit]
        self.customer_credit = customer_credit
        self.status = InvoiceStatus(status)

    def void(self, reason: str) -> None:
        """Voids an issued document on which nothing has been paid or credited."""
        self.check_not_deleted("be voided")
        if self.status != _S.ISSUED:
            raise InvalidTransitionError(self.ENTITY, self.status, "be voided")
        if self.payments:
            raise RuleViolationError(
                "a document with payments cannot be voided; credit it instead",
                rule="payments_applied",
                field="status",
            )
        if self.credits:
            raise RuleViolationError(
                "a credited invoice cannot be voided", rule="credits_applied", field="status"
            )
        self._voided(reason=check_required_text(reason, "reason"))

    @event("Voided")
    def _voided(self, reason: str) -> None:
        self.status = _S.VOID
        self.void_reason = reason

    def carry_over(self, *, to_system: str, from_system: str) -> bool:
        """A billing migration moves collecting this open invoice to `to_system`: that system
        is to hold its open balance as a document of its own (same number, the one line of
        the balance). What that system reports paid afterwards counts on top of what was
        paid before (`carried_paid`). False when it was carried there already."""
        to_system = check_required_text(to_system, "to")
        if self.carried_to == to_system:
            return False
        self.check_not_deleted("be carried over")
        if self.kind != InvoiceKind.INVOICE or self.status != _S.ISSUED:
            raise RuleViolationError(
                f"only an open invoice is carried to another system, not a {self.status} "
                f"{self.kind}",
                rule="open_invoice",
                field="status",
            )
        if self.open_balance.is_zero():
            raise RuleViolationError(
                "an invoice with nothing left to collect is not carried over",
                rule="open_invoice",
                field="open_balance",
            )
        self._carried_over(
            to_system=to_system,
            from_system=check_required_text(from_system, "from"),
            balance=self.open_balance,
            paid=self.paid_total,
        )
        return True

    @event("CarriedOver")
    def _carried_over(self, to_system: str, from_system: str, balance: Money, paid: Money) -> None:
        self.carried_to = to_system
        self.carried_from = from_system
        self.carried_balance = balance
        self.carried_paid = paid
        self.carried_payments = len(self.payments)

    def paid_in(self, system: str) -> Money:
        """What `system` would report paid so far on this invoice, from the payments recorded:
        the figure a report of its "amount paid so far" is compared with (the difference is a
        new payment). Before a carry-over one system collects: everything paid. After it, the
        system carried to holds the balance only, so it reports its own payments since; the
        system carried from reports what was paid before plus its own payments since (a
        customer paying the old system after the move). Payments since of no known system
        (recorded before payments kept theirs) count as the system carried to's."""
        if self.carried_to is None or system not in (self.carried_to, self.carried_from):
            return self.paid_total
        since = self.payments[self.carried_payments :]
        if system == self.carried_to:
            return sum_money((p.amount for p in since if p.system in (system, "")), self.currency)
        before = self.carried_paid or Money.zero(self.currency)
        return before + sum_money((p.amount for p in since if p.system == system), self.currency)

    def check_deletable(self) -> None:
        # Drafts are deleted at the source (Stripe invoice.deleted, Xero DELETED). QuickBooks
        # has no drafts and deletes issued invoices outright (DOMAIN 3.8's table maps its
        # Delete to deleted): allowed only while nothing was paid or credited against it.
        if self.status == _S.DRAFT:
            return
        if self.status in (_S.ISSUED, _S.VOID) and not self.payments and not self.credits:
            return
        raise RuleViolationError(
            f"a {self.status} {self.kind} with payments or credits cannot be deleted; "
            "credit it instead",
            rule="issued_immutable",
            field="status",
        )

    def _check_positive(self, amount: Money, field: str) -> None:
        if not isinstance(amount, Money):
            raise RuleViolationError(f"{field} must be Money", rule="money", field=field)
        amount.check_not_negative(field)
        if amount.is_zero():
            raise RuleViolationError(f"{field} must be positive", rule="positive", field=field)
        if amount.currency != self.currency:
            raise CurrencyMismatchError(
                f"a {amount.currency} amount on a {self.currency} {self.kind}", field=field
            )

    def _excess_over_balance(self, amount: Money) -> Money:
        return max(amount - self.open_balance, Money.zero(self.currency))


def _check_document_dates(issue_date: date | None, due_date: date | None) -> None:
    for value, field in ((issue_date, "issue_date"), (due_date, "due_date")):
        if value is not None:
            check_calendar_date(value, field)
    check_dates(issue_date, due_date, field="due_date")
