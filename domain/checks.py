"""Guards shared by the aggregates: required text, date order, calendar dates, enum values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from domain.errors import NegativeQuantityError, RuleViolationError
from domain.values import Money, SourceRef, to_decimal

E = TypeVar("E", bound=StrEnum)


def check_required_text(value: str, field: str) -> str:
    """Returns the text stripped, or raises when it is missing or blank."""
    if not isinstance(value, str) or not value.strip():
        raise RuleViolationError(f"{field} must not be empty", rule="required", field=field)
    return value.strip()


def optional_text(value: str | None) -> str:
    """Returns the text stripped, empty for None."""
    return (value or "").strip()


def check_dates(start_date: date | None, end_date: date | None, field: str = "end_date") -> None:
    """Raises when the end date lies before the start date (a one-day span is fine)."""
    if start_date is not None and end_date is not None and end_date < start_date:
        raise RuleViolationError(
            f"end date {end_date} is before start date {start_date}",
            rule="date_order",
            field=field,
        )


def check_calendar_date(value: date, field: str) -> date:
    """Returns a calendar date; a datetime is refused, since a work date never has a time zone."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise RuleViolationError(
            f"{field} must be a calendar date, not {type(value).__name__}",
            rule="calendar_date",
            field=field,
        )
    return value


def coerce_enum(enum: type[E], value: object, field: str) -> E:
    """Returns the enum member for a value, or raises a RuleViolationError naming the field."""
    try:
        return enum(value)
    except ValueError as exc:
        raise RuleViolationError(
            f"'{value}' is not a valid {field}", rule="enum", field=field
        ) from exc


def check_id(value: object, field: str) -> UUID:
    """Returns a required reference id, or raises when it is missing or not a UUID."""
    if not isinstance(value, UUID):
        raise RuleViolationError(f"{field} must be a UUID", rule="required", field=field)
    return value


def check_optional_id(value: object, field: str) -> UUID | None:
    """Returns an optional reference id (None allowed), or raises when it is not a UUID."""
    return None if value is None else check_id(value, field)


# Guards of descriptive attributes (CanonicalAggregate.DETAILS): None is always allowed, since
# None clears a detail; anything else must have the detail's type.


def check_instant(value: object, field: str) -> datetime | None:
    """Returns an aware instant in UTC (None allowed); a naive datetime has no known zone."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise RuleViolationError(
            f"{field} must be a timezone-aware instant", rule="instant", field=field
        )
    return value.astimezone(UTC)


def check_optional_date(value: object, field: str) -> date | None:
    return None if value is None else check_calendar_date(value, field)  # type: ignore[arg-type]


def check_count(value: object, field: str) -> int | None:
    """Returns a non-negative integer (a size in bytes, a version number), None allowed."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolationError(f"{field} must be an integer", rule="integer", field=field)
    if value < 0:
        raise NegativeQuantityError(f"{field} must not be negative", field=field)
    return value


def check_quantity(value: object, field: str) -> Decimal | None:
    """Returns a non-negative decimal quantity (hours, units), None allowed."""
    if value is None:
        return None
    quantity = to_decimal(value, field=field)  # type: ignore[arg-type]
    if quantity < 0:
        raise NegativeQuantityError(f"{field} must not be negative", field=field)
    return quantity


def check_share(value: object, field: str) -> Decimal | None:
    """Returns a fraction in [0, 1] (0.25 is a quarter), None allowed."""
    share = check_quantity(value, field)
    if share is not None and share > 1:
        raise RuleViolationError(
            f"{field} {share} is a fraction, at most 1", rule="share", field=field
        )
    return share


def check_text(value: object, field: str) -> str | None:
    """Returns text stripped (empty is None), None allowed."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RuleViolationError(f"{field} must be text", rule="text", field=field)
    return value.strip() or None


def check_flag(value: object, field: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise RuleViolationError(f"{field} must be true or false", rule="boolean", field=field)
    return value


def check_any_money(value: object, field: str) -> Money | None:
    """Returns Money of either sign (a customer balance may be negative), None allowed."""
    if value is not None and not isinstance(value, Money):
        raise RuleViolationError(f"{field} must be Money", rule="money", field=field)
    return value


def check_money(value: object, field: str) -> Money | None:
    """Returns non-negative Money, None allowed."""
    money = check_any_money(value, field)
    return None if money is None else money.check_not_negative(field)


def check_source_ref(value: object, field: str) -> SourceRef | None:
    """Returns a record in a source system, kept as a reference only (a person, a task)."""
    if value is not None and not isinstance(value, SourceRef):
        raise RuleViolationError(f"{field} must be a source reference", rule="xref", field=field)
    return value


def of_type(kind: type) -> Callable[[object, str], Any]:
    """A guard that accepts None or an instance of one value type."""

    def check(value: object, field: str) -> Any:
        if value is not None and not isinstance(value, kind):
            raise RuleViolationError(
                f"{field} must be a {kind.__name__}", rule="value_type", field=field
            )
        return value

    return check


Guard = Callable[[object, str], Any]


def check_detail_values(values: Mapping[str, Any], guards: Mapping[str, Guard]) -> dict[str, Any]:
    """Returns descriptive attributes checked and normalised by each one's guard."""
    return {
        name: guards[name](value, name) if name in guards else value
        for name, value in values.items()
    }
