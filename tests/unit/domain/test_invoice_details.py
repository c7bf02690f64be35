"""What billing systems report about an invoice beyond its lines: given at creation in the one
event, fixed at issue where it is the document's own figure, moving where it is a balance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.errors import NegativeQuantityError, RuleViolationError
from domain.invoice import ExchangeRate, Invoice, InvoiceLine, RateDirection, Tracking
from domain.values import Money

DAY = date(2026, 2, 2)


def kwd(amount: str) -> Money:
    return Money(Decimal(amount), "KWD")


def line(**described: object) -> InvoiceLine:
    return InvoiceLine.build(
        description="Due diligence, phase 1",
        quantity=Decimal("12.5"),
        unit_price=Decimal("85.250"),
        tax_rate=Decimal("0.05"),
        currency="KWD",
        **described,  # type: ignore[arg-type]
    )


def invoice(**details: object) -> Invoice:
    return Invoice.create(
        id=uuid4(),
        client_id=uuid4(),
        currency="KWD",
        lines=[line()],
        issue_date=DAY,
        details=details,
    )


def test_details_are_given_with_the_creation_in_one_event(
    check_replay: Callable[[Aggregate], None],
) -> None:
    created = invoice(
        reference="PO-4471",
        source_status="SUBMITTED",
        reported_tax=kwd("53.281"),
        exchange_rate=ExchangeRate(Decimal("0.30712"), RateDirection.UNVERIFIED, "USD", DAY),
        customer_name="Gulf Freight WLL",
    )
    assert len(created.pending_events) == 1
    assert created.reference == "PO-4471"
    assert created.exchange_rate.rate == Decimal("0.30712")
    assert created.amount_remaining is None  # not reported: the default
    check_replay(created)


def test_an_issued_invoices_own_figures_are_fixed_but_a_figure_never_known_is_learnt() -> None:
    document = invoice(reported_tax=kwd("53.281"))
    document.issue(number="KW-0009")
    with pytest.raises(RuleViolationError) as caught:
        document.revise(reported_tax=kwd("53.280"))
    assert (caught.value.rule, caught.value.field) == ("issued_immutable", "reported_tax")
    with pytest.raises(RuleViolationError):
        document.revise(reported_tax=None)  # clearing is a change too
    # Never reported before issue: the billing system tells it now.
    assert document.revise(home_total=Money(Decimal("3470.22"), "USD")) == {
        "home_total": Money(Decimal("3470.22"), "USD")
    }


def test_balances_transitions_and_source_status_move_after_issue() -> None:
    document = invoice()
    document.issue(number="KW-0010")
    paid_at = datetime(2026, 2, 20, 9, 30, tzinfo=UTC)
    changed = document.revise(
        amount_remaining=kwd("0.000"),
        paid_at=paid_at,
        source_status="PAID",
        fully_paid_on=date(2026, 2, 20),
    )
    assert set(changed) == {"amount_remaining", "paid_at", "source_status", "fully_paid_on"}
    assert document.revise(source_status=None) == {"source_status": None}


def test_a_detail_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(RuleViolationError) as naive:
        invoice(paid_at=datetime(2026, 2, 20, 9, 30))  # no zone: not an instant
    assert naive.value.field == "paid_at"
    with pytest.raises(NegativeQuantityError):
        invoice(amount_remaining=kwd("-1.000"))
    with pytest.raises(RuleViolationError) as enum:
        invoice(line_amount_types="gross")
    assert enum.value.field == "line_amount_types"
    with pytest.raises(RuleViolationError):
        invoice(colour="blue")


def test_a_customer_balance_may_be_negative_when_the_customer_holds_credit() -> None:
    assert invoice(starting_balance=kwd("-25.500")).starting_balance == kwd("-25.500")


def test_an_exchange_rate_is_positive_and_reads_one_declared_way() -> None:
    with pytest.raises(RuleViolationError):
        ExchangeRate(Decimal(0), RateDirection.HOME_PER_FOREIGN)
    with pytest.raises(RuleViolationError):
        ExchangeRate(Decimal("1.2"), "sideways")  # type: ignore[arg-type]
    assert ExchangeRate(Decimal("1.2"), "home_per_foreign").direction == (  # type: ignore[arg-type]
        RateDirection.HOME_PER_FOREIGN
    )


def test_payment_status_says_partially_paid_which_the_canonical_status_cannot() -> None:
    document = invoice()
    assert document.payment_status is None  # a draft owes nothing yet
    document.issue(number="KW-0011")
    assert document.payment_status == "unpaid"
    document.record_payment(kwd("500.000"), date(2026, 2, 10))
    assert (document.status, document.payment_status) == ("issued", "partially_paid")
    document.record_payment(document.open_balance + kwd("1.000"), date(2026, 2, 11))
    assert (document.status, document.payment_status) == ("paid", "overpaid")


def test_line_codes_describe_a_line_without_changing_what_it_bills() -> None:
    coded = line(
        source_line_id="3f1c",
        item_code="DD-1",
        account_code="4000",
        tax_code="OUTPUT",
        tracking=[Tracking("Region", "GCC")],
        service_date=date(2026, 1, 30),
    )
    assert coded.tracking == (Tracking("Region", "GCC"),)
    assert coded.terms == line().terms
    assert coded != line()


def test_a_line_period_may_not_end_before_it_starts() -> None:
    with pytest.raises(RuleViolationError):
        line(period_start=date(2026, 2, 1), period_end=date(2026, 1, 1))
    # A one-off item's period starts and ends on one day (Stripe).
    assert line(period_start=DAY, period_end=DAY).period_end == DAY
