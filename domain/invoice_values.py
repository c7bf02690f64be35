"""The values an invoice carries: its lines, payments, applied credits and exchange rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.checks import check_required_text, coerce_enum
from domain.errors import CurrencyMismatchError, NegativeQuantityError, RuleViolationError
from domain.values import Money, check_currency, exact_product, to_decimal

# Unit prices are rates, not money (Xero unitdp=4): keep up to six fraction digits.
MAX_UNIT_PRICE_SCALE = 6


@dataclass(frozen=True, slots=True)
class Tracking:
    """A tracking category and the option a line is filed under (Xero: at most two a line)."""

    category: str
    option: str

    def __post_init__(self) -> None:
        check_required_text(self.category, "lines.tracking.category")
        check_required_text(self.option, "lines.tracking.option")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice line; `source_amounts` says the billing system's net and tax were kept."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    net: Money
    tax: Money
    source_amounts: bool = False
    time_entry_ids: tuple[UUID, ...] = ()
    expense_ids: tuple[UUID, ...] = ()
    milestone_id: UUID | None = None
    # What the billing system says about the line beyond its amounts (descriptive: the line's
    # substance, which an issued invoice never changes, is the fields above).
    source_line_id: str = ""
    item_code: str = ""
    account_code: str = ""
    tax_code: str = ""
    tracking: tuple[Tracking, ...] = ()
    service_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None

    def __post_init__(self) -> None:
        check_required_text(self.description, "lines.description")
        quantity = to_decimal(self.quantity, field="lines.quantity")
        if quantity < 0:
            raise NegativeQuantityError("quantity must not be negative", field="lines.quantity")
        unit_price = to_decimal(self.unit_price, field="lines.unit_price")
        if -unit_price.as_tuple().exponent > MAX_UNIT_PRICE_SCALE:  # type: ignore[operator]
            raise RuleViolationError(
                f"unit price {unit_price} has more than {MAX_UNIT_PRICE_SCALE} fraction digits",
                rule="unit_price_scale",
                field="lines.unit_price",
            )
        tax_rate = to_decimal(self.tax_rate, field="lines.tax_rate")
        if tax_rate < 0:
            raise NegativeQuantityError("tax rate must not be negative", field="lines.tax_rate")
        if tax_rate > 1:
            raise RuleViolationError(
                f"tax rate {tax_rate} is a fraction, at most 1",
                rule="tax_rate",
                field="lines.tax_rate",
            )
        if self.net.currency != self.tax.currency:
            raise CurrencyMismatchError("line net and tax differ in currency", field="lines.tax")
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "unit_price", unit_price)
        object.__setattr__(self, "tax_rate", tax_rate)
        # Stored events hold lists; keep tuples so that lines compare and hash alike.
        object.__setattr__(self, "time_entry_ids", tuple(self.time_entry_ids))
        object.__setattr__(self, "expense_ids", tuple(self.expense_ids))
        object.__setattr__(self, "tracking", tuple(self.tracking))
        if any(not isinstance(t, Tracking) for t in self.tracking):
            raise RuleViolationError(
                "tracking holds Tracking values", rule="value_type", field="lines.tracking"
            )
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise RuleViolationError(
                f"line period ends {self.period_end} before it starts {self.period_start}",
                rule="date_order",
                field="lines.period_end",
            )
        exact = self.net_variance.is_zero() and self.tax_variance.is_zero()
        if not self.source_amounts and not exact:
            raise RuleViolationError(
                "hub-computed line amounts must equal quantity x unit price and net x tax rate",
                rule="line_arithmetic",
                field="lines.net",
            )

    @classmethod
    def build(
        cls,
        *,
        description: str,
        quantity: Decimal | int | str,
        unit_price: Decimal | int | str,
        currency: str,
        tax_rate: Decimal | int | str = 0,
        net: Money | None = None,
        tax: Money | None = None,
        time_entry_ids: Sequence[UUID] = (),
        expense_ids: Sequence[UUID] = (),
        milestone_id: UUID | None = None,
        **described: Any,
    ) -> InvoiceLine:
        """Builds a line, computing net and tax half-up unless the billing system gave them."""
        check_currency(currency)
        qty = to_decimal(quantity, field="lines.quantity")
        price = to_decimal(unit_price, field="lines.unit_price")
        rate = to_decimal(tax_rate, field="lines.tax_rate")
        source_amounts = net is not None or tax is not None
        if net is None:
            net = Money.of(exact_product(qty, price), currency)
        if tax is None:
            tax = Money.of(exact_product(net.amount, rate), currency)
        for amount in (net, tax):
            if amount.currency != currency:
                raise CurrencyMismatchError(
                    f"line amount in {amount.currency} on a {currency} invoice", field="lines"
                )
        return cls(
            description=description,
            quantity=qty,
            unit_price=price,
            tax_rate=rate,
            net=net,
            tax=tax,
            source_amounts=source_amounts,
            time_entry_ids=tuple(time_entry_ids),
            expense_ids=tuple(expense_ids),
            milestone_id=milestone_id,
            **described,
        )

    @property
    def currency(self) -> str:
        return self.net.currency

    @property
    def terms(self) -> tuple[object, ...]:
        """What the line bills, without the records it names (those may resolve later) and
        without the codes the billing system files it under."""
        return (self.description, self.quantity, self.unit_price, self.tax_rate, self.net, self.tax)

    @property
    def gross(self) -> Money:
        return self.net + self.tax

    @property
    def computed_net(self) -> Money:
        """The hub's recomputation: quantity x unit price, half-up to the minor unit."""
        return Money.of(exact_product(self.quantity, self.unit_price), self.currency)

    @property
    def computed_tax(self) -> Money:
        """The hub's recomputation of tax on the line's kept net, half-up (per line, as Xero)."""
        return Money.of(exact_product(self.net.amount, self.tax_rate), self.currency)

    @property
    def net_variance(self) -> Money:
        """Kept net minus the hub's recomputation (the audit variance; zero when computed)."""
        return self.net - self.computed_net

    @property
    def tax_variance(self) -> Money:
        """Kept tax minus the hub's recomputation (the audit variance; zero when computed)."""
        return self.tax - self.computed_tax


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment (or, on a credit note, an allocation or refund) against the document."""

    amount: Money
    paid_on: date
    reference: str = ""
    # The system that reported it ("" when told otherwise, or recorded before this was kept):
    # what each system reports paid so far is its own payments' sum (Invoice.paid_in).
    system: str = ""


class RateDirection(StrEnum):
    """Which way an exchange rate reads, as its source declares it (DOMAIN 3.10)."""

    HOME_PER_FOREIGN = "home_per_foreign"  # QuickBooks ExchangeRate, NetSuite
    FOREIGN_PER_HOME = "foreign_per_home"
    # Xero's CurrencyRate direction is unconfirmed (DOMAIN 4.1): kept raw, flagged as such.
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """The rate a billing system used between the document's currency and its home currency."""

    rate: Decimal
    direction: RateDirection
    home_currency: str = ""
    as_of: date | None = None

    def __post_init__(self) -> None:
        rate = to_decimal(self.rate, field="exchange_rate.rate")
        if rate <= 0:
            raise RuleViolationError(
                "an exchange rate is positive", rule="exchange_rate", field="exchange_rate.rate"
            )
        object.__setattr__(self, "rate", rate)
        object.__setattr__(
            self, "direction", coerce_enum(RateDirection, self.direction, "exchange_rate.direction")
        )
        if self.home_currency:
            check_currency(self.home_currency)


@dataclass(frozen=True, slots=True)
class AppliedCredit:
    """A credit note's amount allocated to this invoice."""

    credit_note_id: UUID
    amount: Money


def check_lines(lines: Sequence[InvoiceLine], currency: str) -> list[InvoiceLine]:
    """Returns the lines when all are in the currency and no work item is billed twice."""
    seen: set[tuple[str, UUID]] = set()
    for line in lines:
        if not isinstance(line, InvoiceLine):
            raise RuleViolationError("lines must be InvoiceLines", rule="lines", field="lines")
        if line.currency != currency:
            raise CurrencyMismatchError(
                f"a {line.currency} line on a {currency} invoice", field="lines.currency"
            )
        items = [("time_entry", i) for i in line.time_entry_ids]
        items += [("expense", i) for i in line.expense_ids]
        if line.milestone_id is not None:
            items.append(("milestone", line.milestone_id))
        for item in items:
            if item in seen:
                raise RuleViolationError(
                    f"{item[0]} {item[1]} appears on two lines",
                    rule="duplicate_billing",
                    field=f"lines.{item[0]}_id",
                )
            seen.add(item)
    return list(lines)
