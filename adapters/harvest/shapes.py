"""Which Harvest v2 shape a posted body is: a list page (`{"time_entries": [...], "page": ...}`)
or one record as `GET /v2/<collection>/{id}` returns it, told apart by the fields it has."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.harvest.mapping import COLLECTIONS, RATES, SINGULAR, Context, map_page
from adapters.refusals import not_the_shape
from hub.contracts.adapters import AdapterError, Mapped

_EXPECTED = (
    "a Harvest list page (clients, projects, users, time_entries, expenses, invoices or "
    "billable_rates as a list) or one Harvest record, as an object"
)


def _has(record: Mapping[str, Any], *names: str) -> bool:
    return any(name in record for name in names)


# What only each kind of record has (Harvest v2's documented objects): a time entry is
# spent_date + hours; an expense spent_date + total_cost; a project names its client and
# how it is budgeted or billed; an invoice has amounts due and lines; a user a person's name;
# a client its statement key or currency but no client of its own.
_KINDS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "time_entries": lambda r: _has(r, "spent_date") and _has(r, "hours"),
    "expenses": lambda r: _has(r, "spent_date") and _has(r, "total_cost", "expense_category"),
    "projects": lambda r: (
        isinstance(r.get("client"), dict)
        and not _has(r, "spent_date", "due_amount")
        and _has(r, "budget", "budget_by", "bill_by", "is_fixed_fee", "cost_budget", "fee")
    ),
    "invoices": lambda r: _has(r, "due_amount", "client_key", "line_items"),
    "users": lambda r: _has(r, "first_name", "last_name", "weekly_capacity", "access_roles"),
    "clients": lambda r: (
        not _has(r, "client", "spent_date")
        and _has(r, "name")
        and _has(r, "statement_key", "currency", "address")
    ),
    RATES: lambda r: (
        _has(r, "amount", "start_date") and not _has(r, "client", "due_amount", "spent_date")
    ),
}


def kind_of(record: Mapping[str, Any]) -> str:
    """The collection one record belongs to, from its fields; refuses when none or several."""
    found = [name for name, test in _KINDS.items() if test(record)]
    if not found:
        raise not_the_shape(f"{_EXPECTED}: its fields are no Harvest record's", record)
    if len(found) > 1:
        raise AdapterError(
            "SCHEMA_VIOLATION",
            f"the record could be any of {', '.join(found)}: name it with ?event=<collection>",
            field="event",
            rule="ambiguous",
        )
    if found[0] == RATES:
        # A rate card is all of a user's rates, and one rate does not name its user.
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "a single billable rate names no user and is not the whole rate card: send "
            "GET /v2/users/{id}/billable_rates as it answers",
            field="body",
            rule="shape",
        )
    return found[0]


def map_body(data: Any, ctx: Context, *, event: str | None = None) -> Mapped:
    """Maps a list page, or one record (its collection from `event` or from its fields); an
    empty page is nothing to do, said so."""
    if not isinstance(data, dict):
        raise not_the_shape(_EXPECTED, data)
    listed = [key for key in (*COLLECTIONS, RATES) if key in data]
    collection = SINGULAR.get(event, event) if event else None
    if collection is None and not listed:
        collection = kind_of(data)
    mapped = map_page(data, ctx, event=collection)
    if not (mapped.events or mapped.ignored):
        name = collection or next(key for key in listed if isinstance(data[key], list))
        mapped.ignored = f"an empty {name} page: nothing changed"
    return mapped
