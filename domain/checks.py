"""Guards shared by the aggregates: required text, date order, calendar dates, enum values."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from domain.errors import RuleViolationError

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
