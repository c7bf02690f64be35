"""The columns each golden-record table indexes: the fields people filter on."""

from __future__ import annotations

from dataclasses import dataclass

from domain.registry import COLLECTIONS  # entity -> collection (URLs), table stem


@dataclass(frozen=True)
class Column:
    """A filterable field: its record field name and SQL type (uuid, text, date, boolean)."""

    name: str
    sql_type: str = "text"

    @property
    def ranged(self) -> bool:
        """Dates filter by range: <name>_from (inclusive) and <name>_to (inclusive)."""
        return self.sql_type == "date"


def _c(*specs: str) -> tuple[Column, ...]:
    columns = []
    for spec in specs:
        name, _, sql_type = spec.partition(":")
        columns.append(Column(name, sql_type or "text"))
    return tuple(columns)


FILTERS: dict[str, tuple[Column, ...]] = {
    "client": _c("status", "country", "billing_currency", "tax_id"),
    "engagement": _c(
        "client_id:uuid",
        "status",
        "region",
        "service_line",
        "legal_entity",
        "currency",
        "code",
        "manager_id:uuid",
        "start_date:date",
        "end_date:date",
    ),
    "contract": _c("engagement_id:uuid", "client_id:uuid", "type", "status", "currency"),
    # Its name is found through `?name=` (the search column), not by equality.
    "rate_card": (),
    "resource": _c("role", "status", "home_region"),
    "time_entry": _c(
        "engagement_id:uuid",
        "resource_id:uuid",
        "work_date:date",
        "status",
        "billable:boolean",
        "invoice_id:uuid",
    ),
    "expense": _c(
        "engagement_id:uuid",
        "resource_id:uuid",
        "spent_date:date",
        "status",
        "category",
        "billable:boolean",
        "invoice_id:uuid",
    ),
    "milestone": _c(
        "engagement_id:uuid", "contract_id:uuid", "status", "due_date:date", "invoice_id:uuid"
    ),
    "invoice": _c(
        "client_id:uuid",
        "engagement_id:uuid",
        "status",
        "kind",
        "currency",
        "number",
        "issue_date:date",
        "due_date:date",
    ),
    "knowledge_asset": _c(
        "client_id:uuid", "engagement_id:uuid", "status", "kind", "classification", "service_line"
    ),
}


def table_name(entity: str) -> str:
    return "golden_" + COLLECTIONS[entity].replace("-", "_")
