"""Harvest v2's own shapes: list pages and the objects they hold (decimals as Decimal)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Native(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Named(Native):
    id: int
    name: str | None = None


class ClientRef(Named):
    currency: str | None = None


class ProjectRef(Named):
    code: str | None = None


class ExpenseCategory(Named):
    unit_price: Decimal | None = None
    unit_name: str | None = None


class ExternalReference(Native):
    id: str | int
    group_id: str | int | None = None
    account_id: str | int | None = None
    permalink: str | None = None
    service: str | None = None


class InvoiceRef(Native):
    id: int
    number: str | None = None


class Receipt(Native):
    url: str = Field(min_length=1)
    file_name: str | None = None
    file_size: int | None = None
    content_type: str | None = None


class TimeEntry(Native):
    id: int
    spent_date: date
    user: Named
    client: ClientRef | None = None
    project: ProjectRef
    task: Named | None = None
    hours: Decimal
    hours_without_timer: Decimal | None = None
    rounded_hours: Decimal | None = None
    notes: str | None = None
    is_locked: bool = False
    locked_reason: str | None = None
    is_closed: bool = False
    is_billed: bool = False
    is_running: bool = False
    billable: bool = False
    billable_rate: Decimal | None = None
    cost_rate: Decimal | None = None
    invoice: InvoiceRef | None = None
    started_time: str | None = None
    ended_time: str | None = None
    timer_started_at: datetime | None = None
    external_reference: ExternalReference | None = None
    budgeted: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime


class Expense(Native):
    id: int
    client: ClientRef
    project: ProjectRef
    expense_category: ExpenseCategory | None = None
    user: Named
    receipt: Receipt | None = None
    invoice: InvoiceRef | None = None
    notes: str | None = None
    units: Decimal | None = None
    total_cost: Decimal
    billable: bool = False
    is_closed: bool = False
    is_locked: bool = False
    locked_reason: str | None = None
    is_billed: bool = False
    spent_date: date
    updated_at: datetime


class Client(Native):
    id: int
    name: str
    is_active: bool = True
    currency: str | None = None
    address: str | None = None
    updated_at: datetime


class Project(Native):
    id: int
    client: ClientRef
    name: str
    code: str | None = None
    is_active: bool = True
    is_billable: bool = True
    is_fixed_fee: bool = False
    bill_by: str | None = None
    budget: Decimal | None = None
    budget_by: str | None = None
    cost_budget: Decimal | None = None
    fee: Decimal | None = None
    hourly_rate: Decimal | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    updated_at: datetime


class User(Native):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    telephone: str | None = None
    timezone: str | None = None
    is_active: bool = True
    is_contractor: bool | None = None
    weekly_capacity: int | None = None  # seconds
    roles: list[str] = []
    cost_rate: Decimal | None = None
    default_hourly_rate: Decimal | None = None
    updated_at: datetime


class BillableRate(Native):
    id: int
    amount: Decimal
    start_date: date | None = None
    end_date: date | None = None  # inclusive, computed by Harvest
    updated_at: datetime


class LineItem(Native):
    id: int
    kind: str | None = None
    description: str | None = None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    taxed: bool = False
    taxed2: bool = False
    project: ProjectRef | None = None


class Invoice(Native):
    id: int
    client: Named
    number: str | None = None
    amount: Decimal
    due_amount: Decimal
    tax: Decimal | None = None
    tax2: Decimal | None = None
    currency: str
    state: Literal["draft", "open", "paid", "closed"]
    issue_date: date | None = None
    due_date: date | None = None
    line_items: list[LineItem] = []
    purchase_order: str | None = None
    payment_term: str | None = None
    tax_amount: Decimal | None = None
    tax2_amount: Decimal | None = None
    period_start: date | None = None
    period_end: date | None = None
    sent_at: datetime | None = None
    paid_at: datetime | None = None
    paid_date: date | None = None
    closed_at: datetime | None = None
    updated_at: datetime


class Links(Native):
    first: str | None = None
    next: str | None = None
    previous: str | None = None
    last: str | None = None


class Page(Native):
    """The pagination envelope around every list."""

    per_page: int | None = None
    total_pages: int | None = None
    total_entries: int | None = None
    next_page: int | None = None
    previous_page: int | None = None
    page: int | None = None
    links: Links | None = None
