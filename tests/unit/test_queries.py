"""Query parsing: filters by field, limits capped, cursors signed and scoped."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from hub.filters import QueryError, filter_parameters, parse_filters
from hub.queries import MAX_LIMIT, Cursors, parse_limit
from projections.golden_records.columns import FILTERS


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


def test_name_is_one_substring_and_q_one_per_word() -> None:
    assert parse_filters("client", {"name": "  Zürich Cons "}) == [
        ("search", "LIKE", "%zurich cons%")
    ]
    assert parse_filters("engagement", {"q": "Zürich zürich ROLL"}) == [
        ("search", "LIKE", "%zurich%"),
        ("search", "LIKE", "%roll%"),
    ]


def test_code_is_exact_on_the_collections_code_column() -> None:
    assert parse_filters("engagement", {"code": "ENG-1"}) == [("code", "=", "ENG-1")]
    assert parse_filters("invoice", {"code": "INV-7"}) == [("number", "=", "INV-7")]
    with pytest.raises(QueryError) as err:
        parse_filters("client", {"code": "X"})
    assert (err.value.status, err.value.field, err.value.rule) == (400, "code", "unknown_filter")


def test_xref_names_system_type_and_an_id_that_may_hold_colons() -> None:
    assert parse_filters("client", {"xref": "salesforce:Account:001AB"}) == [
        ("id", "xref", ("salesforce", "account", "001AB"))
    ]
    assert parse_filters("knowledge_asset", {"xref": "sharepoint:driveItem:b!x:y"}) == [
        ("id", "xref", ("sharepoint", "driveitem", "b!x:y"))
    ]


@pytest.mark.parametrize(
    ("entity", "params", "status", "field", "rule"),
    [
        ("client", {"name": ""}, 422, "name", "min_length"),
        ("client", {"q": "   "}, 422, "q", "min_length"),
        ("client", {"name": "x" * 10_000}, 422, "name", "max_length"),
        ("client", {"q": "a b c d e f g h i"}, 422, "q", "max_words"),
        ("client", {"name": "Acme\x00"}, 400, "name", "no_nul"),
        ("client", {"xref": "salesforce:Account"}, 422, "xref", "xref"),
        ("client", {"xref": "Sales Force:Account:1"}, 422, "xref", "xref"),
        ("client", {"xref": "harvest:Client:" + "9" * 600}, 422, "xref", "max_length"),
        ("client", {"nmae": "Acme"}, 400, "nmae", "unknown_filter"),
        ("engagement", {"status": "x" * 501}, 422, "status", "max_length"),
    ],
)
def test_bad_text_filters_name_the_field_and_the_rule(
    entity: str, params: dict[str, str], status: int, field: str, rule: str
) -> None:
    with pytest.raises(QueryError) as err:
        parse_filters(entity, params)
    assert (err.value.status, err.value.field, err.value.rule) == (status, field, rule)


def test_searching_names_the_caller_may_not_read_is_forbidden() -> None:
    with pytest.raises(QueryError) as err:
        parse_filters("resource", {"name": "Anna"}, hidden={"name", "email"})
    assert (err.value.status, err.value.field, err.value.rule) == (403, "name", "scope")
    assert parse_filters("resource", {"name": "Anna"}, hidden={"cost_rate"})
    assert parse_filters("resource", {"xref": "harvest:User:1"}, hidden={"name"})


@pytest.mark.parametrize("entity", sorted(FILTERS))
def test_every_published_filter_is_accepted_and_every_other_name_refused(entity: str) -> None:
    examples = {"uuid": str(uuid.uuid4()), "date": "2026-01-31", "boolean": "true"}
    for parameter in filter_parameters(entity):
        schema = parameter["schema"]
        value = examples.get(schema.get("format", schema["type"]), "acme")
        if parameter["name"] == "xref":
            value = "harvest:Client:123"
        assert parse_filters(entity, {parameter["name"]: value}), parameter["name"]
        assert parameter["description"]
    names = {p["name"] for p in filter_parameters(entity)}
    assert {"name", "q", "xref"} <= names
    assert ("code" in names) == (entity in ("engagement", "invoice"))
