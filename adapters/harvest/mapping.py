"""Harvest v2 list pages -> canonical change events (pure functions, no I/O).

Harvest returns whole records, so every mapped field is reported (null = cleared). Each record
is ordered by its `updated_at` and de-duplicated by (id, updated_at). Harvest never reports a
deletion: the transport's windowed listings let the hub tombstone what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from adapters.harvest.details import expense_details, invoice_details, time_entry_details
from adapters.harvest.errors import build, parse
from adapters.harvest.payloads import (
    BillableRate,
    Client,
    ClientRef,
    Expense,
    Invoice,
    Named,
    Page,
    Project,
    TimeEntry,
    User,
)
from adapters.harvest.timezones import iana_zone
from adapters.refusals import currency_code, money
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    Mapped,
    change_event,
    embedded_event,
    message_id,
    utc_sequence,
)
from hub.contracts.changes import (
    CanonicalModel,
    ClientChange,
    EngagementChange,
    ExpenseChange,
    InvoiceChange,
    InvoiceLineData,
    RateCardChange,
    RateLineData,
    ReceiptData,
    Ref,
    ResourceChange,
    TimeEntryChange,
)

SYSTEM = "harvest"
RATES = "billable_rates"
RATE_CARD_TYPE = "BillableRates"
INVOICE_STATUS = {"draft": "draft", "open": "issued", "paid": "paid", "closed": "void"}


@dataclass
class Context:
    """What mapping a page needs beyond the page: the tenant, settings and client currencies."""

    tenant: str
    config: AdapterConfig
    # Harvest keeps the currency on the client; a time entry names only the client's id.
    currencies: dict[int, str] = field(default_factory=dict)

    def learn(self, client_id: int, currency: str | None) -> None:
        if currency:
            self.currencies[client_id] = currency


def instant(value: datetime) -> str:
    """An instant as RFC 3339 UTC (the form Harvest's updated_since takes)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def approval_status(*, is_closed: bool, is_billed: bool, is_locked: bool) -> str:
    """DOMAIN 3.4: v2 has no "submitted"; is_closed is approval, billed and locked is locked."""
    if is_billed:
        return "locked" if is_locked else "billed"
    return "approved" if is_closed else "draft"


def _ref(kind: str, value: Any) -> Ref | None:
    return Ref(type=kind, id=str(value.id)) if value is not None else None


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _lines(value: str | None) -> str | None:
    """Multi-line free text with its lines ending in \n (Harvest sends \r\n)."""
    text = _text(value)
    return "\n".join(line.strip() for line in text.splitlines()) if text else None


def _event(
    ctx: Context,
    entity: str,
    source_type: str,
    data: CanonicalModel,
    record_id: int,
    updated_at: datetime,
) -> Any:
    sequence = utc_sequence(updated_at)
    return change_event(
        system=SYSTEM,
        entity=entity,
        source_type=source_type,
        data=data,
        tenant=ctx.tenant,
        time=updated_at.astimezone(UTC),
        sequence=sequence,
        id=message_id(SYSTEM, ctx.tenant, source_type, record_id, sequence),
    )


def map_client(client: Client, ctx: Context) -> Any:
    ctx.learn(client.id, client.currency)
    data = build(
        ClientChange,
        "client",
        id=str(client.id),
        legal_name=client.name,
        billing_currency=currency_code(client.currency, "client") if client.currency else None,
        status="active" if client.is_active else "inactive",
        # Harvest keeps the address as one free text: it is all street lines.
        billing_address={"street": _lines(client.address)} if _text(client.address) else None,
    )
    return _event(ctx, "client", "Client", data, client.id, client.updated_at)


def map_project(project: Project, ctx: Context) -> Any:
    currency = project.client.currency or ctx.currencies.get(project.client.id)
    ctx.learn(project.client.id, project.client.currency)
    fields: dict[str, Any] = {
        "client": Ref(type="Client", id=str(project.client.id)),
        "code": _text(project.code),
        "name": project.name,
        # An archived Harvest project can be restored: on_hold, since closed is terminal.
        "status": "active" if project.is_active else "on_hold",
        "start_date": project.starts_on,
        "end_date": project.ends_on,
    }
    if currency:
        fields["currency"] = currency_code(currency, "project client")
        # The money budget: cost_budget when budgeting by money, else a fixed fee's fee.
        budget = project.cost_budget
        if budget is None and project.is_fixed_fee:
            budget = project.fee
        fields["budget"] = money(budget, currency, "project budget") if budget is not None else None
        for target, value in (("fee", project.fee), ("hourly_rate", project.hourly_rate)):
            fields[target] = (
                money(value, currency, f"project {target}") if value is not None else None
            )
    fields.update(_billing(project))
    if ctx.config.legal_entity:
        fields["legal_entity"] = ctx.config.legal_entity
    data = build(EngagementChange, "engagement", id=str(project.id), **fields)
    return _event(ctx, "engagement", "Project", data, project.id, project.updated_at)


def embedded_client(client: Named | None, ctx: Context, time: datetime) -> list[Any]:
    """What a project or invoice says of its client (id, name, and a project's client its
    currency): the client as a change too, so a client never fed on its own still becomes a
    golden record."""
    if client is None or not _text(client.name):
        return []
    fields: dict[str, Any] = {"id": str(client.id), "legal_name": _text(client.name)}
    currency = client.currency if isinstance(client, ClientRef) else None
    if currency:  # what it does not say, it does not report
        ctx.learn(client.id, currency)
        fields["billing_currency"] = currency_code(currency, "client")
    data = build(ClientChange, "embedded client", **fields)
    return [
        embedded_event(
            system=SYSTEM,
            entity="client",
            source_type="Client",
            data=data,
            tenant=ctx.tenant,
            time=time.astimezone(UTC),
        )
    ]


# budget_by values whose `budget` counts hours (the others budget money: cost_budget).
_HOURS_BUDGETS = ("project", "task", "person")


def _billing(project: Project) -> dict[str, Any]:
    """How a project is billed: its commercial model, bill_by, and what its budget counts."""
    if not project.is_billable:
        model = "non_billable"
    elif project.is_fixed_fee:
        model = "fixed_fee"
    else:
        model = "time_and_materials"
    hours = project.budget if project.budget_by in _HOURS_BUDGETS else None
    return {
        "contract_type": model,
        "billing_method": _text(project.bill_by),
        "budget_by": _text(project.budget_by),
        "budget_hours": hours,
    }


def map_user(user: User, ctx: Context) -> Any:
    name = " ".join(p.strip() for p in (user.first_name, user.last_name) if p and p.strip())
    fields: dict[str, Any] = {
        "name": name or None,
        "email": user.email,
        "role": user.roles[0] if user.roles else None,
        "status": "active" if user.is_active else "inactive",
        "phone": _text(user.telephone),
        "weekly_capacity_hours": (
            Decimal(user.weekly_capacity) / 3600 if user.weekly_capacity is not None else None
        ),
    }
    if user.is_contractor is not None:
        fields["employment_type"] = "contractor" if user.is_contractor else "employee"
    zone = iana_zone(user.timezone)
    if zone:
        fields["time_zone"] = zone
    # Harvest's cost rates carry no currency (DOMAIN 4.7: most likely the account's own).
    if ctx.config.default_currency:
        for target, rate in (
            ("cost_rate", user.cost_rate),
            ("default_bill_rate", user.default_hourly_rate),
        ):
            fields[target] = (
                money(rate, ctx.config.default_currency, target) if rate is not None else None
            )
    data = build(ResourceChange, "resource", id=str(user.id), **fields)
    return _event(ctx, "resource", "User", data, user.id, user.updated_at)


def map_rate_card(user_id: int, rates: list[BillableRate], ctx: Context) -> Mapped:
    """A user's billable rates as a rate card of resource-default lines, half-open periods."""
    if not rates:
        return Mapped(ignored=f"user {user_id} has no billable rates")
    currency = ctx.config.default_currency
    if not currency:
        # Rates take the currency of the client they are used for; the contract needs one.
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "Harvest billable rates carry no currency: configure the adapter's default currency",
            field="amount",
        )
    resource = Ref(type="User", id=str(user_id))
    lines = [
        build(
            RateLineData,
            "billable rate",
            resource=resource,
            bill_rate=money(rate.amount, currency, "billable rate"),
            source_id=str(rate.id),
            effective_from=rate.start_date or date.min,
            # Harvest's end_date is inclusive; canonical periods end exclusively.
            effective_to=rate.end_date + timedelta(days=1) if rate.end_date else None,
        )
        for rate in sorted(rates, key=lambda r: (r.start_date or date.min, r.id))
    ]
    data = build(
        RateCardChange,
        "rate card",
        id=str(user_id),
        name=f"Harvest billable rates of user {user_id}",
        lines=lines,
        currency_assumed=True,
    )
    latest = max(rate.updated_at for rate in rates)
    return Mapped(events=[_event(ctx, "rate_card", RATE_CARD_TYPE, data, user_id, latest)])


def _currency_for(client_id: int | None, given: str | None, ctx: Context) -> str | None:
    if given:
        return given
    return ctx.currencies.get(client_id) if client_id is not None else None


def map_time_entry(entry: TimeEntry, ctx: Context) -> Any:
    fields: dict[str, Any] = {
        "engagement": Ref(type="Project", id=str(entry.project.id)),
        "resource": Ref(type="User", id=str(entry.user.id)),
        "work_date": entry.spent_date,
        "hours": entry.hours,
        "billable": entry.billable,
        "billing_hours": entry.rounded_hours,
        "notes": entry.notes,
        "task": entry.task.name if entry.task else None,
        "status": approval_status(
            is_closed=entry.is_closed, is_billed=entry.is_billed, is_locked=entry.is_locked
        ),
        "is_running": entry.is_running,
        "invoice": _ref("Invoice", entry.invoice),
        **time_entry_details(entry, cost_currency=ctx.config.default_currency),
    }
    client_id = entry.client.id if entry.client else None
    currency = _currency_for(client_id, entry.client.currency if entry.client else None, ctx)
    if entry.billable_rate is None:
        fields["billable_rate"] = None
    elif currency:
        # The rate at entry time, in the client's currency; never re-priced from assignments.
        fields["billable_rate"] = money(entry.billable_rate, currency, "billable rate")
    data = build(TimeEntryChange, "time entry", id=str(entry.id), **fields)
    return _event(ctx, "time_entry", "TimeEntry", data, entry.id, entry.updated_at)


def map_expense(expense: Expense, ctx: Context) -> Any:
    ctx.learn(expense.client.id, expense.client.currency)
    currency = _currency_for(expense.client.id, expense.client.currency, ctx)
    if not currency:
        raise AdapterError(
            "INVALID_CURRENCY",
            f"expense {expense.id} has no client currency",
            field="client.currency",
        )
    receipt = None
    if expense.receipt is not None:
        receipt = build(
            ReceiptData,
            "receipt",
            uri=expense.receipt.url,
            file_name=expense.receipt.file_name or "",
            content_type=expense.receipt.content_type or "",
            file_size=expense.receipt.file_size,
        )
    data = build(
        ExpenseChange,
        "expense",
        id=str(expense.id),
        engagement=Ref(type="Project", id=str(expense.project.id)),
        resource=Ref(type="User", id=str(expense.user.id)),
        spent_date=expense.spent_date,
        amount=money(expense.total_cost, currency, "expense total_cost"),
        category=expense.expense_category.name if expense.expense_category else None,
        billable=expense.billable,
        receipt=receipt,
        notes=expense.notes,
        status=approval_status(
            is_closed=expense.is_closed, is_billed=expense.is_billed, is_locked=expense.is_locked
        ),
        invoice=_ref("Invoice", expense.invoice),
        **expense_details(expense, currency),
    )
    return _event(ctx, "expense", "Expense", data, expense.id, expense.updated_at)


def _tax_rate(invoice: Invoice, taxed: bool, taxed2: bool) -> Decimal:
    # Harvest's tax and tax2 are invoice-level percentages applied to the lines marked taxed.
    rate = Decimal(0)
    if taxed and invoice.tax:
        rate += invoice.tax / 100
    if taxed2 and invoice.tax2:
        rate += invoice.tax2 / 100
    return rate


def map_invoice(invoice: Invoice, ctx: Context) -> Any:
    currency = currency_code(invoice.currency, "invoice")
    lines = [
        build(
            InvoiceLineData,
            "invoice line",
            description=_text(item.description) or _text(item.kind) or f"Line {item.id}",
            quantity=item.quantity,
            unit_price=item.unit_price,
            tax_rate=_tax_rate(invoice, item.taxed, item.taxed2),
            net=money(item.amount, currency, "line amount"),
            source_line_id=str(item.id),
            item_code=_text(item.kind) or "",
        )
        for item in invoice.line_items
    ]
    projects = {item.project.id for item in invoice.line_items if item.project is not None}
    data = build(
        InvoiceChange,
        "invoice",
        id=str(invoice.id),
        kind="invoice",
        client=Ref(type="Client", id=str(invoice.client.id)),
        engagement=Ref(type="Project", id=str(projects.pop())) if len(projects) == 1 else None,
        number=invoice.number,
        currency=currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        # "closed" is Harvest's write-off of an unpaid invoice; the contract has no
        # uncollectible state, and void is the nearest that stops it counting as receivable.
        status=INVOICE_STATUS[invoice.state],
        lines=lines,
        total=money(invoice.amount, currency, "invoice amount"),
        amount_paid=money(invoice.amount - invoice.due_amount, currency, "amount paid"),
        **invoice_details(invoice, currency),
    )
    return _event(ctx, "invoice", "Invoice", data, invoice.id, invoice.updated_at)


Mapper = Callable[[Any, Context], Any]
COLLECTIONS: dict[str, tuple[type[BaseModel], Mapper, str, str]] = {
    "clients": (Client, map_client, "client", "Client"),
    "projects": (Project, map_project, "engagement", "Project"),
    "users": (User, map_user, "resource", "User"),
    "time_entries": (TimeEntry, map_time_entry, "time_entry", "TimeEntry"),
    "expenses": (Expense, map_expense, "expense", "Expense"),
    "invoices": (Invoice, map_invoice, "invoice", "Invoice"),
}
SINGULAR = {
    "client": "clients",
    "project": "projects",
    "user": "users",
    "time_entry": "time_entries",
    "expense": "expenses",
    "invoice": "invoices",
}


def collection_of(page: Mapping[str, Any], event: str | None = None) -> str:
    """The collection a list page holds, from its key ("time_entries": [...])."""
    if event:
        name = SINGULAR.get(event, event)
        if name in COLLECTIONS or name == RATES:
            return name
        raise AdapterError(
            "SCHEMA_VIOLATION", f"{event!r} is not a Harvest collection", field="event"
        )
    found = [key for key in (*COLLECTIONS, RATES) if isinstance(page.get(key), list)]
    if len(found) != 1:
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "not a Harvest list page: expected exactly one "
            f"of {', '.join((*COLLECTIONS, RATES))} as a list",
            field="body",
            rule="shape",
        )
    return found[0]


def rates_owner(page: Mapping[str, Any]) -> int:
    """The user a billable_rates page belongs to, from its own links (/v2/users/{id}/...)."""
    links = parse(Page, page, "page").links
    for url in (links.first, links.last, links.next) if links else ():
        parts = urlsplit(url or "").path.strip("/").split("/")
        if len(parts) >= 3 and parts[-1] == RATES and parts[-2].isascii() and parts[-2].isdigit():
            return int(parts[-2])
    raise AdapterError(
        "MISSING_REQUIRED_ID",
        "a billable_rates page must name its user in links.first (/v2/users/{id}/billable_rates)",
        field="links.first",
    )


def items_of(page: Mapping[str, Any], collection: str) -> list[Any]:
    items = page.get(collection)
    if not isinstance(items, list):
        raise AdapterError(
            "SCHEMA_VIOLATION", f"{collection} is not a list", field=collection, rule="type"
        )
    return items


def map_page(
    page: Any, ctx: Context, *, event: str | None = None, user_id: int | None = None
) -> Mapped:
    """Maps one list page (or, with `event` naming the collection, one object)."""
    if not isinstance(page, dict):
        raise AdapterError(
            "SCHEMA_VIOLATION", "a Harvest page is a JSON object", field="body", rule="type"
        )
    collection = collection_of(page, event)
    if collection not in page and event:
        page = {collection: [page]}  # a single object, as GET /v2/<collection>/{id} returns
    items = items_of(page, collection)
    if collection == RATES:
        owner = user_id if user_id is not None else rates_owner(page)
        rates = [parse(BillableRate, item, "billable rate") for item in items]
        return map_rate_card(owner, rates, ctx)
    model, mapper, _, _ = COLLECTIONS[collection]
    mapped = Mapped()
    latest: datetime | None = None
    for item in items:
        record = parse(model, item, collection)
        mapped.events.append(mapper(record, ctx))
        if isinstance(record, Project | Invoice):
            # Then the client they embed: what they say of it may be all the hub gets. After
            # the record, so an explicit link (an invoice's project) decides which client it
            # is before the embed can become a record of its own.
            mapped.events.extend(embedded_client(record.client, ctx, record.updated_at))
        updated = record.updated_at  # type: ignore[attr-defined]
        latest = updated if latest is None or updated > latest else latest
    mapped.cursor = instant(latest) if latest else None
    return mapped
