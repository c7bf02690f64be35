"""Odoo's own shapes: JSON-RPC search_read results, where a many2one is [id, "name"], an
empty value of any type is false, and datetimes are naive UTC "YYYY-MM-DD HH:MM:SS"."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Many2one(NamedTuple):
    id: int
    name: str


def _false_is_none(value: Any) -> Any:
    # Odoo writes every empty value (text, date, relation) as false.
    return None if value is False else value


def _many2one(value: Any) -> Any:
    if value is False or value is None:
        return None
    if isinstance(value, list | tuple) and len(value) == 2:
        return Many2one(value[0], str(value[1]))
    if isinstance(value, int) and not isinstance(value, bool):
        return Many2one(value, "")  # an automation webhook may send the bare id
    raise ValueError("a many2one is [id, name] or false")


def _naive_utc(value: Any) -> Any:
    if value is False or value is None:
        return None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return value


Text = Annotated[str | None, BeforeValidator(_false_is_none)]
Day = Annotated[date | None, BeforeValidator(_false_is_none)]
Instant = Annotated[datetime | None, BeforeValidator(_naive_utc)]
Relation = Annotated[Many2one | None, BeforeValidator(_many2one)]
Number = Annotated[Decimal | None, BeforeValidator(_false_is_none)]


class Native(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Record(Native):
    id: int = Field(gt=0)
    write_date: Instant = None
    active: bool = True


class Partner(Record):
    """res.partner"""

    name: Text = None
    is_company: bool = False
    parent_id: Relation = None
    type: Text = None
    email: Text = None
    phone: Text = None
    function: Text = None
    vat: Text = None
    country_code: Text = None
    street: Text = None
    street2: Text = None
    city: Text = None
    state_id: Relation = None  # display name "California (US)"
    zip: Text = None
    website: Text = None
    industry_id: Relation = None
    user_id: Relation = None  # the salesperson
    ref: Text = None  # the partner's internal reference


class Project(Record):
    """project.project"""

    name: Text = None
    partner_id: Relation = None
    company_id: Relation = None
    currency_id: Relation = None
    user_id: Relation = None
    date_start: Day = None
    date: Day = None
    last_update_status: Text = None
    stage_id: Relation = None
    allow_billable: bool | None = None  # sale_timesheet; false is a value here, not empty
    pricing_type: Text = None  # sale_timesheet before 17: task_rate, fixed_rate, employee_rate
    account_id: Relation = None  # the analytic account (analytic_account_id before 17)
    analytic_account_id: Relation = None


class Milestone(Record):
    """project.milestone"""

    name: Text = None
    project_id: Relation = None
    deadline: Day = None
    is_reached: bool = False
    reached_date: Day = None
    quantity_percentage: Number = None
    sale_line_id: Relation = None


class Timesheet(Record):
    """account.analytic.line with a project: a timesheet line."""

    name: Text = None
    date: Day = None
    unit_amount: Number = None
    amount: Number = None
    project_id: Relation = None
    task_id: Relation = None
    employee_id: Relation = None
    user_id: Relation = None
    currency_id: Relation = None
    company_id: Relation = None
    # Enterprise timesheet_grid only (config.extra timesheet_validated_field).
    validated: bool | None = None


class RpcResponse(Native):
    """{"jsonrpc": "2.0", "id": n, "result": ...} or {..., "error": {...}}."""

    jsonrpc: str = "2.0"
    id: int | str | None = None
    result: Any = None
    error: dict[str, Any] | None = None
