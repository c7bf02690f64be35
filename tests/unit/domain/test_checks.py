"""Shared guards: text, dates, ids and enums."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from uuid import uuid4

import pytest

from domain.checks import (
    check_calendar_date,
    check_dates,
    check_id,
    check_optional_id,
    check_required_text,
    coerce_enum,
    optional_text,
)
from domain.errors import RuleViolationError


class Colour(StrEnum):
    RED = "red"


def test_required_text_is_stripped_and_never_blank() -> None:
    assert check_required_text("  a ", "name") == "a"
    for bad in ("", "  ", None, 5):
        with pytest.raises(RuleViolationError) as err:
            check_required_text(bad, "name")  # type: ignore[arg-type]
        assert err.value.rule == "required" and err.value.field == "name"


def test_optional_text_turns_none_into_empty() -> None:
    assert optional_text(None) == "" and optional_text(" x ") == "x"


def test_an_end_date_may_equal_but_not_precede_the_start() -> None:
    check_dates(date(2025, 1, 1), date(2025, 1, 1))
    check_dates(None, date(2025, 1, 1))
    with pytest.raises(RuleViolationError) as err:
        check_dates(date(2025, 1, 2), date(2025, 1, 1), field="due_date")
    assert err.value.field == "due_date"


def test_a_calendar_date_is_never_a_datetime() -> None:
    assert check_calendar_date(date(2025, 1, 1), "work_date") == date(2025, 1, 1)
    for bad in (datetime(2025, 1, 1, tzinfo=UTC), "2025-01-01"):
        with pytest.raises(RuleViolationError) as err:
            check_calendar_date(bad, "work_date")  # type: ignore[arg-type]
        assert err.value.rule == "calendar_date"


def test_ids_must_be_uuids() -> None:
    some = uuid4()
    assert check_id(some, "client_id") == some
    assert check_optional_id(None, "client_id") is None
    with pytest.raises(RuleViolationError):
        check_id(str(some), "client_id")
    with pytest.raises(RuleViolationError):
        check_id(None, "client_id")


def test_coerce_enum_names_the_field_on_unknown_values() -> None:
    assert coerce_enum(Colour, "red", "colour") is Colour.RED
    with pytest.raises(RuleViolationError) as err:
        coerce_enum(Colour, "blue", "colour")
    assert err.value.rule == "enum" and err.value.field == "colour"
