"""Filters of golden-record lists: fields, text search over names and codes, and
cross-references, with the descriptions the schemas and the OpenAPI publish."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from domain.registry import COLLECTIONS
from projections.golden_records.columns import FILTERS
from projections.golden_records.search import CODE_COLUMNS, TEXT_FIELDS, fold, like_pattern
from projections.golden_records.view import XREF

RESERVED = frozenset({"limit", "cursor", "include_deleted", "min_position", "as_of"})
# What `?name=` and `?q=` look in, per collection (projections.golden_records.search folds it).
NAME_MEANS: dict[str, str] = {
    "client": "the legal name or the trading name",
    "engagement": "the name or the code",
    "contract": "the name",
    "rate_card": "the name",
    "resource": "the person's name (needs read:pii)",
    "time_entry": "the task",
    "expense": "the category",
    "milestone": "the name",
    "invoice": "the invoice number",
    "knowledge_asset": "the title",
}


class QueryError(ValueError):
    """A query parameter the hub refuses: 400 (unknown or malformed), 403 (searching what the
    caller may not read) or 422 (a bad value)."""

    def __init__(self, status: int, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.rule, self.message = status, field, rule, message


MAX_FILTER_LENGTH = 500
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_WORDS = 8
SYSTEM = re.compile(r"[a-z][a-z0-9_]*")


def parse_filters(
    entity: str, params: Mapping[str, str], hidden: Collection[str] = ()
) -> list[tuple[str, str, Any]]:
    """Turns query parameters into (column, operator, value); unknown names are a 400.

    `hidden` are the fields the caller may not see: searching text made of them is a 403.
    """
    columns = {c.name: c for c in FILTERS[entity]}
    filters: list[tuple[str, str, Any]] = []
    for name, raw in params.items():
        if name in RESERVED:
            continue
        if "\x00" in raw:
            raise QueryError(400, name, "no_nul", f"{name} contains a NUL character")
        if name in ("name", "q"):
            filters.extend(_search(entity, name, raw, hidden))
            continue
        if name == "xref":
            filters.append(("id", XREF, _xref(raw)))
            continue
        if name == "code" and name not in columns and entity in CODE_COLUMNS:
            name = CODE_COLUMNS[entity]  # noqa: PLW2901 (the column the code is kept in)
        base, op = name, "="
        if name.endswith("_from") and name[:-5] in columns and columns[name[:-5]].ranged:
            base, op = name[:-5], ">="
        elif name.endswith("_to") and name[:-3] in columns and columns[name[:-3]].ranged:
            base, op = name[:-3], "<="
        column = columns.get(base)
        if column is None:
            known = sorted(p["name"] for p in filter_parameters(entity))
            raise QueryError(
                400,
                name,
                "unknown_filter",
                f"'{name}' is not a filter of this collection; filters: {', '.join(known)}",
            )
        filters.append((base, op, _typed(column.sql_type, name, raw)))
    return filters


def _search(
    entity: str, name: str, raw: str, hidden: Collection[str]
) -> list[tuple[str, str, Any]]:
    """LIKE filters on the folded search column: the whole text (name) or each word (q)."""
    if len(raw) > MAX_SEARCH_LENGTH:
        raise QueryError(
            422, name, "max_length", f"{name} has at most {MAX_SEARCH_LENGTH} characters"
        )
    concealed = sorted(set(TEXT_FIELDS[entity]) & set(hidden))
    if concealed:
        # Matching on a field the caller may not read would reveal it, one query at a time.
        raise QueryError(
            403,
            name,
            "scope",
            f"searching {COLLECTIONS[entity]} by {', '.join(concealed)} needs the scope to "
            "read it (read:pii)",
        )
    folded = fold(raw)
    if not folded:
        raise QueryError(422, name, "min_length", f"{name} needs at least one character")
    terms = [folded] if name == "name" else list(dict.fromkeys(folded.split(" ")))
    if len(terms) > MAX_SEARCH_WORDS:
        raise QueryError(422, name, "max_words", f"{name} has at most {MAX_SEARCH_WORDS} words")
    return [("search", "LIKE", like_pattern(term)) for term in terms]


def _xref(raw: str) -> tuple[str, str, str]:
    if len(raw) > MAX_FILTER_LENGTH:
        raise QueryError(
            422, "xref", "max_length", f"xref has at most {MAX_FILTER_LENGTH} characters"
        )
    # The id takes the rest: source ids may hold colons, system names and types do not.
    system, _, rest = raw.partition(":")
    type_, _, source_id = rest.partition(":")
    if not (SYSTEM.fullmatch(system) and type_ and source_id):
        raise QueryError(
            422,
            "xref",
            "xref",
            "xref is <system>:<source type>:<source id>, e.g. salesforce:Account:0015e00000AbCdE",
        )
    return system, type_.lower(), source_id


def is_search(filters: Sequence[tuple[str, str, Any]]) -> bool:
    """Whether a list's filters search text (planned afresh each time, never generically)."""
    return any(op == "LIKE" for _, op, _ in filters)


def _typed(sql_type: str, name: str, raw: str) -> Any:
    try:
        if sql_type == "uuid":
            return UUID(raw)
        if sql_type == "date":
            return date.fromisoformat(raw)
        if sql_type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
    except ValueError:
        raise QueryError(422, name, sql_type, f"'{raw[:100]}' is not a {sql_type}") from None
    if len(raw) > MAX_FILTER_LENGTH:
        raise QueryError(
            422, name, "max_length", f"a filter value has at most {MAX_FILTER_LENGTH} characters"
        )
    return raw


def filter_parameters(entity: str) -> list[dict[str, Any]]:
    """The OpenAPI parameters of a collection's filters, each with a description."""
    parameters = [
        _parameter(
            "name",
            f"{NAME_MEANS[entity]} contains this, ignoring case and accents (`zur` finds "
            "'Zürich'); under 3 characters, a word of it starts with this",
            max_length=MAX_SEARCH_LENGTH,
        ),
        _parameter(
            "q",
            f"free text: each word (at most {MAX_SEARCH_WORDS}) is in {NAME_MEANS[entity]}, "
            "ignoring case and accents",
            max_length=MAX_SEARCH_LENGTH,
        ),
        _parameter(
            "xref",
            "has this source record as a cross-reference: <system>:<source type>:<source id> "
            "(any tenant; the type ignores case), e.g. salesforce:Account:0015e00000AbCdE",
        ),
    ]
    columns = {c.name for c in FILTERS[entity]}
    if entity in CODE_COLUMNS and "code" not in columns:
        parameters.append(_parameter("code", f"the {CODE_COLUMNS[entity]} equals (exactly)"))
    for column in FILTERS[entity]:
        schema: dict[str, Any] = {"type": "string"}
        if column.sql_type == "uuid":
            schema["format"] = "uuid"
        elif column.sql_type == "date":
            schema["format"] = "date"
        elif column.sql_type == "boolean":
            schema = {"type": "boolean"}
        text = f"{column.name} equals" + (" (exactly)" if column.name == "code" else "")
        parameters.append(_parameter(column.name, text, schema))
        if column.ranged:
            for end, text in (("from", "on or after"), ("to", "on or before")):
                parameters.append(
                    _parameter(f"{column.name}_{end}", f"{column.name} {text}", schema)
                )
    return parameters


def _parameter(
    name: str, description: str, schema: dict[str, Any] | None = None, max_length: int = 0
) -> dict[str, Any]:
    schema = dict(schema or {"type": "string", "minLength": 1})
    if schema.get("type") == "string" and "format" not in schema:
        schema["maxLength"] = max_length or MAX_FILTER_LENGTH
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }
