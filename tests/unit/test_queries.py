"""Query parsing: filters by field, limits capped, cursors signed and scoped."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from hub.queries import MAX_LIMIT, Cursors, QueryError, parse_filters, parse_limit


def test_a_huge_limit_is_capped_at_1000() -> None:
    assert parse_limit("1000000") == MAX_LIMIT == 1000
    assert parse_limit(None) == 100


def test_date_fields_filter_by_inclusive_range() -> None:
    filters = parse_filters(
        "time_entry", {"work_date_from": "2026-01-01", "work_date_to": "2026-01-31", "limit": "5"}
    )
    assert filters == [
        ("work_date", ">=", date(2026, 1, 1)),
        ("work_date", "<=", date(2026, 1, 31)),
    ]


def test_an_unknown_filter_is_a_400_naming_it() -> None:
    with pytest.raises(QueryError) as err:
        parse_filters("client", {"work_date_from": "2026-01-01"})
    assert (err.value.status, err.value.field) == (400, "work_date_from")


def test_a_cursor_survives_only_for_its_own_query() -> None:
    cursors = Cursors(b"k" * 32)
    after = uuid.uuid4()
    filters = [("status", "=", "active")]
    cursor = cursors.make("client", filters, False, after)
    assert cursors.read(cursor, "client", filters, False) == after
    for entity, other, deleted in (
        ("engagement", filters, False),
        ("client", [], False),
        ("client", filters, True),
    ):
        with pytest.raises(QueryError):
            cursors.read(cursor, entity, other, deleted)
    body, _, signature = cursor.partition(".")
    with pytest.raises(QueryError):
        cursors.read(f"{body}x.{signature}", "client", filters, False)
    with pytest.raises(QueryError):
        Cursors(b"other" * 8).read(cursor, "client", filters, False)
