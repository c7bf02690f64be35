"""Invoice and credit note: line arithmetic, issue once, payments, credits and voids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import (
    CurrencyMismatchError,
    InvalidTransitionError,
    NegativeQuantityError,
    RuleViolationError,
)
from domain.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from domain.values import Money

S = InvoiceStatus
DAY = date(2025, 5, 1)
CLIENT = uuid4()


def gbp(amount: str | int) -> Money:
    return Money(Decimal(amount), "GBP")


def consulting(qty: str = "10", price: str = "100.37", rate: str = "0.20", **kw) -> InvoiceLine:
    return InvoiceLine.build(
        description="Consulting",
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        tax_rate=Decimal(rate),
        currency=kw.pop("currency", "GBP"),
        **kw,
    )


def make_invoice(*lines: InvoiceLine, **overrides: object) -> Invoice:
    fields: dict[str, object] = {
        "id": uuid4(),
        "client_id": CLIENT,
        "currency": "GBP",
        "lines": list(lines) or [consulting()],
        "issue_date": DAY,
    }
    fields.update(overrides)
    return Invoice.create(**fields)  # type: ignore[arg-type]


def issued(*lines: InvoiceLine, **overrides: object) -> Invoice:
    invoice = make_invoice(*lines, **overrides)
    invoice.issue(number="INV-001", due_date=date(2025, 5, 31))
    return invoice


class TestLines:
    def test_net_and_tax_round_half_up_per_line(self) -> None:
        # Xero's example: 100.37 x 20 % = 20.074 -> 20.07.
        line = consulting(qty="1")
        assert line.net == gbp("100.37") and line.tax == gbp("20.07")
        assert line.gross == gbp("120.44")
        half = consulting(qty="1", price="0.125", rate="0")
        assert half.net == gbp("0.13")

    def test_uses_the_currency_exponent(self) -> None:
        line = InvoiceLine.build(
            description="Advisory", quantity="3", unit_price="333.5", currency="JPY", tax_rate="0.1"
        )
        assert line.net == Money(Decimal(1001), "JPY")
        assert line.tax == Money(Decimal(100), "JPY")
        kwd = InvoiceLine.build(
            description="Advisory", quantity="1", unit_price="1.0005", currency="KWD"
        )
        assert kwd.net == Money(Decimal("1.001"), "KWD")

    def test_keeps_the_billing_systems_amounts_and_records_the_variance(self) -> None:
        line = consulting(qty="1", net=gbp("100.37"), tax=gbp("20.08"))
        assert line.source_amounts
        assert line.tax == gbp("20.08") and line.computed_tax == gbp("20.07")
        assert line.tax_variance == gbp("0.01") and line.net_variance == gbp(0)

    def test_refuses_hub_computed_amounts_that_do_not_add_up(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            InvoiceLine(
                description="x",
                quantity=Decimal(1),
                unit_price=Decimal(10),
                tax_rate=Decimal(0),
                net=gbp(11),
                tax=gbp(0),
            )
        assert err.value.rule == "line_arithmetic"

    def test_refuses_negative_quantity_and_tax_rate(self) -> None:
        with pytest.raises(NegativeQuantityError):
            consulting(qty="-1")
        with pytest.raises(NegativeQuantityError):
            consulting(rate="-0.2")
        with pytest.raises(RuleViolationError) as err:
            consulting(rate="20")
        assert err.value.rule == "tax_rate"

    def test_allows_a_negative_unit_price_for_a_discount_line(self) -> None:
        assert consulting(qty="1", price="-50", rate="0").net == gbp(-50)

    def test_keeps_unit_prices_to_six_fraction_digits(self) -> None:
        assert consulting(price="12.345678").unit_price == Decimal("12.345678")
        with pytest.raises(RuleViolationError) as err:
            consulting(price="12.3456789")
        assert err.value.rule == "unit_price_scale"

    def test_refuses_float_quantities(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            InvoiceLine.build(description="x", quantity=1.5, unit_price="1", currency="GBP")
        assert err.value.rule == "decimal"

    def test_refuses_source_amounts_in_another_currency(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            consulting(net=Money(Decimal(1), "EUR"))

    def test_lines_rebuilt_from_lists_equal_the_originals(self) -> None:
        entry = uuid4()
        line = consulting(time_entry_ids=[entry])
        fields = {name: getattr(line, name) for name in line.__slots__}
        fields["time_entry_ids"] = list(fields["time_entry_ids"])
        assert InvoiceLine(**fields) == line


class TestDrafts:
    def test_totals_are_sums_of_line_net_and_tax(self) -> None:
        invoice = make_invoice(consulting(qty="1"), consulting(qty="2", price="50", rate="0"))
        assert invoice.subtotal == gbp("200.37")
        assert invoice.tax_total == gbp("20.07")
        assert invoice.total == gbp("220.44")

    def test_refuses_a_line_in_another_currency(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            make_invoice(consulting(currency="EUR"))
        invoice = make_invoice()
        with pytest.raises(CurrencyMismatchError):
            invoice.add_line(consulting(currency="EUR"))

    def test_refuses_the_same_milestone_or_time_entry_on_two_lines(self) -> None:
        milestone, entry = uuid4(), uuid4()
        with pytest.raises(RuleViolationError) as err:
            make_invoice(consulting(milestone_id=milestone), consulting(milestone_id=milestone))
        assert err.value.rule == "duplicate_billing"
        with pytest.raises(RuleViolationError) as err:
            make_invoice(consulting(time_entry_ids=[entry]), consulting(time_entry_ids=[entry]))
        assert err.value.rule == "duplicate_billing"

    def test_a_draft_may_change_its_lines_and_dates(self) -> None:
        invoice = make_invoice()
        invoice.add_line(consulting(qty="1"))
        invoice.replace_lines([consulting(qty="2")])
        invoice.revise(due_date=date(2025, 6, 1))
        assert len(invoice.lines) == 1 and invoice.due_date == date(2025, 6, 1)

    def test_refuses_a_due_date_before_the_issue_date(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            make_invoice(due_date=date(2025, 4, 1))
        assert err.value.rule == "date_order"


class TestIssue:
    def test_issues_with_the_billing_systems_number(self) -> None:
        invoice = issued()
        assert invoice.status == S.ISSUED and invoice.number == "INV-001"
        assert invoice.open_balance == invoice.total

    def test_an_issued_invoice_is_never_edited(self) -> None:
        invoice = issued()
        for attempt in (
            lambda: invoice.add_line(consulting()),
            lambda: invoice.replace_lines([consulting(qty="1")]),
            lambda: invoice.revise(due_date=date(2025, 7, 1)),
        ):
            with pytest.raises(RuleViolationError) as err:
                attempt()
            assert err.value.rule == "issued_immutable"
        with pytest.raises(RuleViolationError):
            invoice.issue(number="INV-002")

    def test_an_issued_invoice_without_payments_or_credits_may_be_deleted_at_its_source(
        self,
    ) -> None:
        invoice = issued()
        invoice.delete("source_deleted")
        assert invoice.deleted

    def test_an_invoice_with_a_payment_cannot_be_deleted(self) -> None:
        invoice = issued()
        invoice.record_payment(gbp("10.00"), date(2025, 7, 1))
        with pytest.raises(RuleViolationError) as err:
            invoice.delete()
        assert err.value.rule == "issued_immutable"

    def test_refuses_a_source_total_that_does_not_reconcile(self) -> None:
        invoice = make_invoice()
        with pytest.raises(RuleViolationError) as err:
            invoice.issue(number="INV-1", total=gbp("1204.39"))
        assert err.value.rule == "totals_mismatch"
        invoice.issue(number="INV-1", total=gbp("1204.44"))

    def test_needs_a_number_an_issue_date_and_lines(self) -> None:
        with pytest.raises(RuleViolationError):
            make_invoice().issue(number=" ")
        with pytest.raises(RuleViolationError) as err:
            make_invoice(issue_date=None).issue(number="1")
        assert err.value.field == "issue_date"
        with pytest.raises(RuleViolationError) as err:
            make_invoice(lines=[]).issue(number="1")
        assert err.value.rule == "lines_required"

    def test_refuses_a_negative_total(self) -> None:
        invoice = make_invoice(consulting(qty="1", price="-10", rate="0"))
        with pytest.raises(RuleViolationError) as err:
            invoice.issue(number="1")
        assert err.value.rule == "negative_total"

    def test_a_zero_total_invoice_is_paid_when_issued(self) -> None:
        invoice = make_invoice(consulting(qty="1", price="0", rate="0"))
        invoice.issue(number="0")
        assert invoice.status == S.PAID


class TestPayments:
    def test_partial_then_full_payment_marks_it_paid(self) -> None:
        invoice = issued()
        invoice.record_payment(gbp(200), DAY, "pay-1")
        assert invoice.status == S.ISSUED and invoice.open_balance == gbp("1004.44")
        invoice.record_payment(gbp("1004.44"), DAY, "pay-2")
        assert invoice.status == S.PAID and invoice.open_balance == gbp(0)

    def test_an_overpayment_becomes_customer_credit(self) -> None:
        invoice = issued()
        invoice.record_payment(gbp(1300), DAY)
        assert invoice.status == S.PAID
        assert invoice.open_balance == gbp(0) and invoice.customer_credit == gbp("95.56")

    def test_refuses_payments_in_another_currency_or_not_positive(self) -> None:
        invoice = issued()
        with pytest.raises(CurrencyMismatchError):
            invoice.record_payment(Money(Decimal(1), "EUR"), DAY)
        with pytest.raises(NegativeQuantityError):
            invoice.record_payment(gbp(-1), DAY)
        with pytest.raises(RuleViolationError) as err:
            invoice.record_payment(gbp(0), DAY)
        assert err.value.rule == "positive"

    def test_refuses_the_same_payment_reference_twice(self) -> None:
        invoice = issued()
        invoice.record_payment(gbp(1), DAY, "pi_123")
        with pytest.raises(RuleViolationError) as err:
            invoice.record_payment(gbp(1), DAY, "pi_123")
        assert err.value.rule == "duplicate_payment"

    def test_refuses_payments_on_drafts_and_paid_invoices(self) -> None:
        with pytest.raises(InvalidTransitionError):
            make_invoice().record_payment(gbp(1), DAY)
        invoice = issued()
        invoice.record_payment(invoice.total, DAY)
        with pytest.raises(InvalidTransitionError):
            invoice.record_payment(gbp(1), DAY)


class TestVoid:
    def test_voids_an_issued_invoice_without_payments(self) -> None:
        invoice = issued()
        invoice.void("wrong client")
        assert invoice.status == S.VOID and invoice.void_reason == "wrong client"

    def test_refuses_to_void_with_payments_applied(self) -> None:
        invoice = issued()
        invoice.record_payment(gbp(1), DAY)
        with pytest.raises(RuleViolationError) as err:
            invoice.void("mistake")
        assert err.value.rule == "payments_applied"

    def test_refuses_to_void_a_credited_invoice_or_a_draft(self) -> None:
        invoice = issued()
        invoice.apply_credit(uuid4(), gbp(10))
        with pytest.raises(RuleViolationError) as err:
            invoice.void("mistake")
        assert err.value.rule == "credits_applied"
        with pytest.raises(InvalidTransitionError):
            make_invoice().void("draft")


class TestCreditNotes:
    def test_a_credit_note_references_its_original_invoice(self) -> None:
        original = issued()
        note = make_invoice(consulting(qty="2"), kind=InvoiceKind.CREDIT_NOTE, original=original)
        assert note.kind == InvoiceKind.CREDIT_NOTE
        assert note.original_invoice_id == original.id
        note.issue(number="CN-1", original=original)
        original.apply_credit(note.id, note.total)
        assert original.credited_total == gbp("240.89")
        assert original.open_balance == gbp("963.55")

    def test_refuses_a_credit_note_larger_than_the_creditable_amount(self) -> None:
        original = issued()
        with pytest.raises(RuleViolationError) as err:
            make_invoice(consulting(qty="11"), kind=InvoiceKind.CREDIT_NOTE, original=original)
        assert err.value.rule == "credit_exceeds_invoice"
        original.apply_credit(uuid4(), gbp(1000))
        with pytest.raises(RuleViolationError) as err:
            original.apply_credit(uuid4(), gbp("204.45"))
        assert err.value.rule == "credit_exceeds_invoice"
        original.apply_credit(uuid4(), gbp("204.44"))
        assert original.status == S.PAID and original.creditable == gbp(0)

    def test_rechecks_the_creditable_amount_when_the_credit_note_is_issued(self) -> None:
        original = issued()
        note = make_invoice(consulting(qty="5"), kind=InvoiceKind.CREDIT_NOTE, original=original)
        original.apply_credit(uuid4(), gbp(1000))
        with pytest.raises(RuleViolationError) as err:
            note.issue(number="CN-2", original=original)
        assert err.value.rule == "credit_exceeds_invoice"
        with pytest.raises(RuleViolationError) as err:
            note.issue(number="CN-2")
        assert err.value.rule == "credit_note_original"

    def test_a_credit_on_a_paid_invoice_becomes_customer_credit(self) -> None:
        original = issued()
        original.record_payment(original.total, DAY)
        original.apply_credit(uuid4(), gbp(100))
        assert original.status == S.PAID and original.customer_credit == gbp(100)

    def test_only_a_credit_note_has_an_original_and_only_an_invoice_is_credited(self) -> None:
        original = issued()
        with pytest.raises(RuleViolationError) as err:
            make_invoice(original=original)
        assert err.value.rule == "credit_note_original"
        with pytest.raises(RuleViolationError):
            make_invoice(kind=InvoiceKind.CREDIT_NOTE)
        note = make_invoice(consulting(qty="1"), kind=InvoiceKind.CREDIT_NOTE, original=original)
        note.issue(number="CN-3", original=original)
        with pytest.raises(RuleViolationError):
            note.apply_credit(uuid4(), gbp(1))

    def test_refuses_crediting_a_draft_or_void_invoice_or_another_clients(self) -> None:
        with pytest.raises(InvalidTransitionError):
            make_invoice(kind=InvoiceKind.CREDIT_NOTE, original=make_invoice())
        voided = issued()
        voided.void("x")
        with pytest.raises(InvalidTransitionError):
            voided.apply_credit(uuid4(), gbp(1))
        with pytest.raises(RuleViolationError) as err:
            make_invoice(kind=InvoiceKind.CREDIT_NOTE, original=issued(), client_id=uuid4())
        assert err.value.rule == "credit_note_client"

    def test_refuses_the_same_credit_note_twice(self) -> None:
        original = issued()
        note_id = uuid4()
        original.apply_credit(note_id, gbp(1))
        with pytest.raises(RuleViolationError) as err:
            original.apply_credit(note_id, gbp(1))
        assert err.value.rule == "duplicate_credit"


def test_lists_line_variances_for_audit() -> None:
    invoice = make_invoice(consulting(qty="1"), consulting(qty="1", tax=gbp("20.08")))
    assert invoice.variances() == [(1, gbp(0), gbp("0.01"))]


def test_replays_to_the_same_state(check_replay: Callable[[Invoice], None]) -> None:
    invoice = make_invoice(consulting(time_entry_ids=[uuid4(), uuid4()]), engagement_id=uuid4())
    invoice.add_line(consulting(qty="1", milestone_id=uuid4(), net=gbp(100), tax=gbp(20)))
    invoice.revise(due_date=date(2025, 6, 15))
    invoice.issue(number="INV-9")
    invoice.record_payment(gbp(100), DAY, "p1")
    invoice.apply_credit(uuid4(), gbp(50))
    invoice.record_payment(gbp(2000), DAY, "p2")
    check_replay(invoice)


def test_credit_note_replays_to_the_same_state(check_replay: Callable[[Invoice], None]) -> None:
    original = issued()
    note = make_invoice(consulting(qty="1"), kind=InvoiceKind.CREDIT_NOTE, original=original)
    note.issue(number="CN-1", original=original)
    note.record_payment(note.total, DAY, "allocation")
    check_replay(note)


def _paid() -> Invoice:
    invoice = issued()
    invoice.record_payment(invoice.total, DAY, "all")
    return invoice


def _voided() -> Invoice:
    invoice = issued()
    invoice.void("entered twice")
    return invoice


class TestCarryOver:
    """A billing migration carries an open invoice's balance to the system migrated to."""

    def test_carries_the_open_balance_and_what_was_paid_once(
        self, check_replay: Callable[[Invoice], None]
    ) -> None:
        invoice = issued()  # 1,204.44 with tax
        invoice.record_payment(gbp(200), DAY, "p1")
        assert invoice.carry_over(to_system="xero", from_system="quickbooks") is True
        assert (invoice.carried_to, invoice.carried_from) == ("xero", "quickbooks")
        assert invoice.carried_balance == gbp("1004.44")
        assert invoice.carried_paid == gbp(200)
        version = invoice.version
        # A second run of the migration records nothing.
        assert invoice.carry_over(to_system="xero", from_system="quickbooks") is False
        assert invoice.version == version
        check_replay(invoice)

    def test_each_system_reports_its_own_share_of_what_was_paid_after_it(
        self, check_replay: Callable[[Invoice], None]
    ) -> None:
        """After the move, the system carried to holds the balance only and reports its own
        payments; the system carried from reports what was paid before plus its own payments
        since (a customer paying the old system). Others, and any before, see everything."""
        invoice = issued()  # 1,204.44
        invoice.record_payment(gbp(200), DAY, "q1", system="quickbooks")
        assert invoice.paid_in("quickbooks") == invoice.paid_in("xero") == gbp(200)
        invoice.carry_over(to_system="xero", from_system="quickbooks")
        assert (invoice.paid_in("xero"), invoice.paid_in("quickbooks")) == (gbp(0), gbp(200))
        invoice.record_payment(gbp(50), DAY, "x1", system="xero")
        invoice.record_payment(gbp(100), DAY, "q2", system="quickbooks")
        invoice.record_payment(gbp(25), DAY, "x2")  # of no known system: the carried-to's
        assert invoice.paid_in("xero") == gbp(75)
        assert invoice.paid_in("quickbooks") == gbp(300)
        assert invoice.paid_in("stripe") == invoice.paid_total == gbp(375)
        assert [p.system for p in invoice.payments] == ["quickbooks", "xero", "quickbooks", ""]
        check_replay(invoice)

    @pytest.mark.parametrize(
        ("make", "field"),
        [
            (make_invoice, "status"),  # a draft: nothing issued to collect
            (_paid, "status"),
            (_voided, "status"),
        ],
    )
    def test_only_an_open_invoice_is_carried(self, make: Callable[[], Invoice], field: str) -> None:
        invoice = make()
        events = len(invoice.pending_events)
        with pytest.raises(RuleViolationError) as refused:
            invoice.carry_over(to_system="xero", from_system="quickbooks")
        assert (refused.value.rule, refused.value.field) == ("open_invoice", field)
        assert invoice.carried_to is None and len(invoice.pending_events) == events

    def test_a_credit_note_is_not_carried(self) -> None:
        original = issued()
        note = make_invoice(consulting(qty="1"), kind=InvoiceKind.CREDIT_NOTE, original=original)
        note.issue(number="CN-1", original=original)
        with pytest.raises(RuleViolationError, match="open invoice"):
            note.carry_over(to_system="xero", from_system="quickbooks")
