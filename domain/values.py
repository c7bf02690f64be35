"""Value objects: Money with ISO 4217 exponents, half-open Periods, source references."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from fractions import Fraction

import iso4217

from domain.errors import (
    CurrencyMismatchError,
    InvalidCurrencyError,
    NegativeQuantityError,
    RuleViolationError,
)

# Active ISO 4217 codes with a minor unit. Codes without one (XAU, XDR, XXX, ...) are not
# money an invoice can carry; the enum's lower-case aliases are not canonical codes.
_EXPONENTS: dict[str, int] = {
    c.code: int(c.exponent) for c in iso4217.Currency if c.exponent is not None
}


def currency_exponent(code: str) -> int:
    """Returns the ISO 4217 minor-unit exponent of an upper-case, active currency code."""
    exponent = _EXPONENTS.get(code) if isinstance(code, str) else None
    if exponent is None:
        raise InvalidCurrencyError(
            f"'{code}' is not an active ISO 4217 currency code", rule="iso4217", field="currency"
        )
    return exponent


def check_currency(code: str) -> str:
    """Returns the code if it is a valid currency, else raises InvalidCurrencyError."""
    currency_exponent(code)
    return code


def to_decimal(value: Decimal | int | str, *, field: str = "amount") -> Decimal:
    """Returns a finite Decimal; floats are refused because they cannot hold money exactly."""
    if isinstance(value, (bool, float)):
        raise RuleViolationError(
            f"{field} must be a decimal string or integer, not a float", rule="decimal", field=field
        )
    try:
        result = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise RuleViolationError(
            f"{field} is not a decimal number: {value!r}", rule="decimal", field=field
        ) from exc
    if not result.is_finite():
        raise RuleViolationError(f"{field} must be finite", rule="decimal", field=field)
    return result


def round_half_up(value: Decimal, exponent: int) -> Decimal:
    """Rounds half away from zero to `exponent` fraction digits."""
    try:
        return value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        # More digits than the decimal context holds (28): no real amount is that large.
        raise RuleViolationError(
            f"{value} is too large to be an amount", rule="decimal", field="amount"
        ) from exc


def exact_product(a: Decimal, b: Decimal) -> Decimal:
    """Returns a x b without the context's rounding, so a later half-up rounding is the only one."""
    with localcontext() as ctx:
        # A product needs at most the sum of both operands' digits.
        ctx.prec = len(a.as_tuple().digits) + len(b.as_tuple().digits) + 1
        return a * b


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one ISO 4217 currency, with no more fraction digits than it allows."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        exponent = currency_exponent(self.currency)
        amount = to_decimal(self.amount)
        if amount.as_tuple().exponent < -exponent:  # type: ignore[operator]
            raise RuleViolationError(
                f"{amount} has more fraction digits than {self.currency} allows ({exponent})",
                rule="minor_unit",
                field="amount",
            )
        # Normalise the scale so that equal amounts compare and hash alike (1.5 == 1.50).
        object.__setattr__(self, "amount", round_half_up(amount, exponent))

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Returns Money after rounding half-up to the currency's minor unit."""
        exponent = currency_exponent(currency)
        return cls(round_half_up(to_decimal(amount), exponent), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """Returns Money from an integer count of minor units (Stripe, Chargebee)."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise RuleViolationError("minor units must be an integer", rule="minor_unit")
        return cls(Decimal(minor).scaleb(-currency_exponent(currency)), currency)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    @property
    def minor(self) -> int:
        """The amount as an integer count of minor units."""
        return int(self.amount.scaleb(self.exponent))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"expected Money, got {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency}", field="currency"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def times(self, factor: Decimal | int | str) -> Money:
        """Returns amount x factor, rounded half-up to the minor unit (one invoice line)."""
        product = exact_product(self.amount, to_decimal(factor, field="factor"))
        return Money.of(product, self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def check_not_negative(self, field: str = "amount") -> Money:
        """Returns self, or raises NegativeQuantityError for a negative amount."""
        if self.amount < 0:
            raise NegativeQuantityError(f"{field} must not be negative", field=field)
        return self

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Splits the amount by weights so that the parts sum exactly (largest remainder)."""
        return [
            Money.from_minor(part, self.currency) for part in allocate_minor(self.minor, weights)
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def sum_money(amounts: Iterable[Money], currency: str) -> Money:
    """Returns the sum of amounts in one currency (zero when empty); mixing currencies raises."""
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total


def allocate_minor(total: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Splits an integer total by non-negative weights; parts differ from exact shares by < 1.

    Largest-remainder method: floor every exact share, then hand the leftover units to the
    largest fractional remainders (earliest first on ties), so the parts always sum to total.
    Shares are exact fractions: Decimal division rounds at 28 digits and could hand out more
    units than the total.
    """
    if not weights:
        raise RuleViolationError("allocation needs at least one weight", rule="allocation")
    decimals = [to_decimal(w, field="weight") for w in weights]
    if any(w < 0 for w in decimals):
        raise NegativeQuantityError("allocation weights must not be negative", field="weight")
    fractions = [Fraction(w) for w in decimals]
    weight_sum = sum(fractions, Fraction(0))
    if weight_sum == 0:
        raise RuleViolationError("allocation weights must not all be zero", rule="allocation")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [magnitude * w / weight_sum for w in fractions]
    floors = [int(share) for share in shares]
    leftover = magnitude - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * part for part in floors]


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open range of calendar dates [start, end); end None means open-ended."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise RuleViolationError(
                f"period end {self.end} must be after its start {self.start}",
                rule="date_order",
                field="end",
            )

    @classmethod
    def from_inclusive(cls, start: date, last_day: date | None) -> Period:
        """Builds a period from an inclusive last day (Harvest's end_date)."""
        return cls(start, None if last_day is None else last_day + timedelta(days=1))

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def overlaps(self, other: Period) -> bool:
        return (self.end is None or other.start < self.end) and (
            other.end is None or self.start < other.end
        )


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A cross-reference: one record in one source system, unique per (system, tenant, type, id)."""

    system: str
    tenant: str
    type: str
    id: str

    def __post_init__(self) -> None:
        for name in ("system", "type", "id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RuleViolationError(
                    f"xref {name} must be a non-empty string", rule="xref", field=name
                )
        if not isinstance(self.tenant, str):
            raise RuleViolationError("xref tenant must be a string", rule="xref", field="tenant")

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The uniqueness key; the type compares case-insensitively (CONTRACT xref route)."""
        return (self.system, self.tenant, self.type.lower(), self.id)

    def __str__(self) -> str:
        return f"{self.system}:{self.type}:{self.id}"


@dataclass(frozen=True, slots=True)
class PendingLink:
    """A reference a record makes to another record the hub does not know yet: kept as the
    source named it until that record becomes known, then resolved into `field`."""

    field: str  # the attribute it sets once resolved: client_id, invoice_id, manager_id
    entity: str  # the entity it names
    ref: SourceRef

    @property
    def many(self) -> bool:
        """Whether the field holds several references (a list of ids): one link per ref."""
        return self.field.endswith("_ids")


def check_hours(hours: Decimal | int | str, *, field: str = "hours") -> Decimal:
    """Returns hours as a Decimal in (0, 24]; negative is NEGATIVE_QUANTITY, more is a rule."""
    value = to_decimal(hours, field=field)
    if value < 0:
        raise NegativeQuantityError(f"{field} must not be negative", field=field)
    if value == 0:
        raise RuleViolationError(
            f"{field} must be greater than zero", rule="hours_positive", field=field
        )
    if value > 24:
        raise RuleViolationError(
            f"{field} {value} exceeds 24 on one work date", rule="implausible_duration", field=field
        )
    return value
