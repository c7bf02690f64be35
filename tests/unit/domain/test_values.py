"""Money, allocation, periods, source references and hours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.errors import (
    CurrencyMismatchError,
    InvalidCurrencyError,
    NegativeQuantityError,
    RuleViolationError,
)
from domain.values import (
    Money,
    Period,
    SourceRef,
    allocate_minor,
    check_currency,
    check_hours,
    currency_exponent,
    exact_product,
    round_half_up,
    sum_money,
    to_decimal,
)


class TestCurrency:
    @pytest.mark.parametrize(
        ("code", "exponent"), [("JPY", 0), ("EUR", 2), ("USD", 2), ("KWD", 3), ("CLF", 4)]
    )
    def test_uses_the_iso_4217_exponent(self, code: str, exponent: int) -> None:
        assert currency_exponent(code) == exponent

    @pytest.mark.parametrize("code", ["GBR", "US$", "usd", "", "XAU", "XXX", None])
    def test_refuses_codes_that_are_not_active_currencies(self, code: str) -> None:
        with pytest.raises(InvalidCurrencyError) as err:
            check_currency(code)
        assert err.value.reason == "INVALID_CURRENCY"


class TestMoney:
    def test_normalises_the_scale_so_equal_amounts_compare_equal(self) -> None:
        assert Money(Decimal("1.5"), "EUR") == Money(Decimal("1.50"), "EUR")
        assert hash(Money(Decimal("1.5"), "EUR")) == hash(Money(Decimal("1.50"), "EUR"))

    def test_refuses_more_fraction_digits_than_the_currency_allows(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            Money(Decimal("1.5"), "JPY")
        assert err.value.rule == "minor_unit"
        with pytest.raises(RuleViolationError):
            Money(Decimal("1.005"), "EUR")
        assert Money(Decimal("1.005"), "KWD").minor == 1005

    def test_refuses_floats(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            Money(0.1, "EUR")  # type: ignore[arg-type]
        assert err.value.rule == "decimal"

    def test_refuses_non_finite_and_non_numeric_amounts(self) -> None:
        for bad in ("NaN", "Infinity", "abc"):
            with pytest.raises(RuleViolationError):
                Money(bad, "EUR")  # type: ignore[arg-type]

    def test_refuses_an_amount_too_large_for_the_decimal_context(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            Money(Decimal("1E+30"), "USD")
        assert err.value.rule == "decimal"

    def test_of_rounds_half_up_to_the_minor_unit(self) -> None:
        assert Money.of("2.5", "JPY") == Money(Decimal(3), "JPY")
        assert Money.of("-2.5", "JPY") == Money(Decimal(-3), "JPY")
        assert Money.of("100.375", "EUR") == Money(Decimal("100.38"), "EUR")
        assert Money.of("0.0005", "KWD") == Money(Decimal("0.001"), "KWD")

    def test_converts_minor_units_both_ways(self) -> None:
        assert Money.from_minor(12345, "EUR").amount == Decimal("123.45")
        assert Money.from_minor(12345, "JPY").amount == Decimal(12345)
        assert Money.from_minor(12345, "KWD").amount == Decimal("12.345")
        assert Money(Decimal("123.45"), "EUR").minor == 12345

    def test_refuses_non_integer_minor_units(self) -> None:
        for bad in (1.0, True, "1"):
            with pytest.raises(RuleViolationError):
                Money.from_minor(bad, "EUR")  # type: ignore[arg-type]

    def test_adds_and_subtracts_in_one_currency(self) -> None:
        a, b = Money(Decimal("10.10"), "EUR"), Money(Decimal("0.95"), "EUR")
        assert a + b == Money(Decimal("11.05"), "EUR")
        assert a - b == Money(Decimal("9.15"), "EUR")
        assert -a == Money(Decimal("-10.10"), "EUR")
        assert b < a and a > b and a >= a and b <= b

    def test_never_adds_or_compares_different_currencies(self) -> None:
        eur, usd = Money(Decimal(1), "EUR"), Money(Decimal(1), "USD")
        with pytest.raises(CurrencyMismatchError) as err:
            eur + usd
        assert err.value.rule == "currency_mismatch"
        with pytest.raises(CurrencyMismatchError):
            eur - usd
        with pytest.raises(CurrencyMismatchError):
            assert eur < usd

    def test_refuses_to_add_something_that_is_not_money(self) -> None:
        with pytest.raises(TypeError):
            Money(Decimal(1), "EUR") + 1  # type: ignore[operator]

    def test_times_rounds_once_half_up(self) -> None:
        # Xero's example: 100.37 x 20 % = 20.074 -> 20.07.
        assert Money(Decimal("100.37"), "GBP").times(Decimal("0.20")) == Money.of("20.07", "GBP")
        assert Money(Decimal("0.05"), "EUR").times("0.5") == Money.of("0.03", "EUR")

    def test_times_does_not_round_twice_on_long_factors(self) -> None:
        # The exact product is 0.00499...; rounding at 28 digits first would make it 0.005.
        factor = Decimal("0.0499999999999999999999999999999")
        assert Money(Decimal("0.10"), "EUR").times(factor) == Money.zero("EUR")

    def test_check_not_negative_raises_negative_quantity(self) -> None:
        with pytest.raises(NegativeQuantityError) as err:
            Money(Decimal("-1"), "EUR").check_not_negative("fee")
        assert err.value.reason == "NEGATIVE_QUANTITY" and err.value.field == "fee"

    def test_allocate_splits_exactly(self) -> None:
        parts = Money(Decimal("100.00"), "EUR").allocate([1, 1, 1])
        assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]

    def test_sum_money_adds_one_currency_and_is_zero_when_empty(self) -> None:
        assert sum_money([], "JPY") == Money.zero("JPY")
        assert sum_money([Money.of(1, "EUR"), Money.of(2, "EUR")], "EUR") == Money.of(3, "EUR")
        with pytest.raises(CurrencyMismatchError):
            sum_money([Money.of(1, "USD")], "EUR")

    def test_prints_amount_and_code(self) -> None:
        assert str(Money(Decimal("5"), "KWD")) == "5.000 KWD"


class TestRounding:
    def test_round_half_up_goes_away_from_zero_on_ties(self) -> None:
        assert round_half_up(Decimal("0.125"), 2) == Decimal("0.13")
        assert round_half_up(Decimal("-0.125"), 2) == Decimal("-0.13")
        assert round_half_up(Decimal("0.124"), 2) == Decimal("0.12")

    def test_exact_product_keeps_every_digit(self) -> None:
        a = Decimal("123456789012345678.123456789")
        assert Fraction(exact_product(a, a)) == Fraction(a) ** 2

    def test_to_decimal_refuses_booleans(self) -> None:
        with pytest.raises(RuleViolationError):
            to_decimal(True)  # type: ignore[arg-type]


class TestAllocateMinor:
    def test_gives_leftover_units_to_the_largest_remainders(self) -> None:
        assert allocate_minor(10, [1, 1, 1]) == [4, 3, 3]
        assert allocate_minor(100, [Decimal("0.5"), Decimal("0.3"), Decimal("0.2")]) == [50, 30, 20]
        assert allocate_minor(7, [2, 1]) == [5, 2]

    def test_splits_negative_totals_symmetrically(self) -> None:
        assert allocate_minor(-10, [1, 1, 1]) == [-4, -3, -3]

    def test_stays_exact_for_totals_beyond_the_decimal_precision(self) -> None:
        # Decimal division at 28 digits used to hand out three units too many here.
        total = 10**30 + 7
        assert sum(allocate_minor(total, [1, 3, 7])) == total

    def test_refuses_empty_negative_or_all_zero_weights(self) -> None:
        with pytest.raises(RuleViolationError):
            allocate_minor(10, [])
        with pytest.raises(NegativeQuantityError):
            allocate_minor(10, [1, -1])
        with pytest.raises(RuleViolationError):
            allocate_minor(10, [0, 0])


class TestPeriod:
    def test_is_half_open(self) -> None:
        period = Period(date(2025, 1, 1), date(2025, 2, 1))
        assert period.contains(date(2025, 1, 1))
        assert period.contains(date(2025, 1, 31))
        assert not period.contains(date(2025, 2, 1))
        assert not period.contains(date(2024, 12, 31))

    def test_open_ended_period_contains_every_later_date(self) -> None:
        assert Period(date(2025, 1, 1)).contains(date(2999, 1, 1))

    def test_refuses_an_end_on_or_before_the_start(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            Period(date(2025, 1, 1), date(2025, 1, 1))
        assert err.value.rule == "date_order"

    def test_turns_harvests_inclusive_end_date_into_an_exclusive_end(self) -> None:
        period = Period.from_inclusive(date(2025, 1, 1), date(2025, 1, 31))
        assert period.end == date(2025, 2, 1)
        assert period.contains(date(2025, 1, 31))
        assert Period.from_inclusive(date(2025, 1, 1), None).end is None

    def test_adjacent_periods_do_not_overlap(self) -> None:
        jan = Period(date(2025, 1, 1), date(2025, 2, 1))
        feb = Period(date(2025, 2, 1))
        assert not jan.overlaps(feb) and not feb.overlaps(jan)
        assert Period(date(2025, 1, 15)).overlaps(jan)
        assert Period(date(2024, 1, 1)).overlaps(feb)


class TestSourceRef:
    def test_renders_system_type_and_id(self) -> None:
        ref = SourceRef("salesforce", "org1", "Opportunity", "006Hs00001XbR7QIAV")
        assert str(ref) == "salesforce:Opportunity:006Hs00001XbR7QIAV"

    def test_compares_the_type_case_insensitively_in_its_key(self) -> None:
        a = SourceRef("quickbooks", "realm", "Invoice", "1047")
        b = SourceRef("quickbooks", "realm", "invoice", "1047")
        assert a.key == b.key

    def test_refuses_missing_parts(self) -> None:
        with pytest.raises(RuleViolationError):
            SourceRef("harvest", "acct", "time_entry", " ")
        with pytest.raises(RuleViolationError):
            SourceRef("harvest", None, "time_entry", "1")  # type: ignore[arg-type]


class TestHours:
    def test_accepts_hours_up_to_24(self) -> None:
        assert check_hours("24") == Decimal(24)
        assert check_hours(Decimal("0.25")) == Decimal("0.25")

    def test_refuses_negative_hours_as_negative_quantity(self) -> None:
        with pytest.raises(NegativeQuantityError) as err:
            check_hours("-1")
        assert err.value.reason == "NEGATIVE_QUANTITY"

    def test_refuses_zero_and_more_than_24_hours(self) -> None:
        with pytest.raises(RuleViolationError) as err:
            check_hours(0)
        assert err.value.rule == "hours_positive"
        with pytest.raises(RuleViolationError) as err:
            check_hours("24.01")
        assert err.value.rule == "implausible_duration"

    def test_refuses_float_hours(self) -> None:
        with pytest.raises(RuleViolationError):
            check_hours(1.5)  # type: ignore[arg-type]
