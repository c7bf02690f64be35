"""What the metrics keep of each aggregate: work rows, invoice rows, and reference data."""

from __future__ import annotations

from typing import Any

from domain.base import XREF_ADDED
from domain.pricing import Price, line_to_json
from domain.values import Money

# Work in these states is a fact (DOMAIN 3.4): it counts in WIP, utilization and cost.
FACT_STATES = ("approved", "billed", "locked")
# A price is frozen once the work is billed or locked: a rate change never re-prices it.
FROZEN_STATES = ("billed", "locked")


def _amount(money: Money | None) -> Any:
    return None if money is None else money.amount


def _currency(money: Money | None) -> str | None:
    return None if money is None else money.currency


def time_row(entry: Any) -> dict[str, Any]:
    """A time entry's facts, unpriced (see `priced`)."""
    return {
        "kind": "time",
        "id": entry.id,
        "version": entry.version,
        "engagement_id": entry.engagement_id,
        "resource_id": entry.resource_id,
        "work_date": entry.work_date,
        "hours": entry.hours,
        "billing_qty": entry.billing_quantity,
        "billable": entry.billable,
        "status": str(entry.status),
        "running": entry.is_running,
        "deleted": entry.deleted,
        "invoice_id": entry.invoice_id,
        "task": entry.task,
        "source_rate": _amount(entry.source_rate),
        "source_rate_currency": _currency(entry.source_rate),
        "source_cost": entry.cost,
        "source_cost_rate": _amount(entry.cost_rate),
        "source_cost_currency": _currency(entry.cost_rate),
    }


def fact_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What a time entry's price depends on: a change to it is a new fact, priced anew."""
    return (
        row["engagement_id"],
        row["resource_id"],
        row["work_date"],
        row["hours"],
        row["billing_qty"],
        row["task"],
        row["source_rate"],
        row["source_rate_currency"],
        row["source_cost_rate"],
    )


def priced(row: dict[str, Any], price: Price) -> dict[str, Any]:
    """The row with its standard value (billing quantity x rate, rounded half-up) and cost."""
    value = None if price.bill_rate is None else price.bill_rate.times(row["billing_qty"])
    cost: Money | None = row["source_cost"]
    if cost is None and price.cost_rate is not None:
        cost = price.cost_rate.times(row["hours"])
    return {
        **row,
        "currency": _currency(price.bill_rate),
        "rate": _amount(price.bill_rate),
        "value": _amount(value),
        "basis": price.bill_basis,
        "cost_currency": _currency(cost),
        "cost": _amount(cost),
    }


def expense_row(expense: Any) -> dict[str, Any]:
    """An expense: billed at cost (no markup is modelled), in its own currency."""
    return {
        "kind": "expense",
        "id": expense.id,
        "version": expense.version,
        "engagement_id": expense.engagement_id,
        "resource_id": expense.resource_id,
        "work_date": expense.spent_date,
        "hours": 0,
        "billing_qty": None,
        "billable": expense.billable,
        "status": str(expense.status),
        "running": False,
        "deleted": expense.deleted,
        "invoice_id": expense.invoice_id,
        "currency": expense.amount.currency,
        "rate": None,
        "value": expense.amount.amount,
        "basis": "amount",
        "cost_currency": expense.amount.currency,
        "cost": expense.amount.amount,
    }


def invoice_row(invoice: Any) -> dict[str, Any]:
    lines = [
        {
            "net": str(line.net.amount),
            "time_entry_ids": [str(i) for i in line.time_entry_ids],
            "expense_ids": [str(i) for i in line.expense_ids],
            "milestone_id": None if line.milestone_id is None else str(line.milestone_id),
        }
        for line in invoice.lines
    ]
    return {
        "id": invoice.id,
        "version": invoice.version,
        "kind": str(invoice.kind),
        "engagement_id": invoice.engagement_id,
        "currency": invoice.currency,
        "status": str(invoice.status),
        "deleted": invoice.deleted,
        "issue_date": invoice.issue_date,
        "subtotal": invoice.subtotal.amount,
        "total": invoice.total.amount,
        "paid": invoice.paid_total.amount,
        "credited": invoice.credited_total.amount,
        "lines": lines,
        # A credit note often names no engagement: it counts against its invoice's.
        "original_id": invoice.original_invoice_id,
        # The day the last payment made it paid in full (invoice cycle time).
        "paid_on": (
            max(p.paid_on for p in invoice.payments)
            if str(invoice.status) == "paid" and invoice.payments
            else None
        ),
    }


def reference(aggregate: Any, previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The reference data the metrics keep of an engagement, resource, contract, rate card or
    milestone (None for other entities)."""
    entity = aggregate.ENTITY
    if entity == "engagement":
        return {
            **(previous or {}),
            "client_id": str(aggregate.client_id) if aggregate.client_id else None,
            "currency": aggregate.currency,
            "status": str(aggregate.status),
            "code": aggregate.code,
            "contract_type": aggregate.contract_type,
            "deleted": aggregate.deleted,
        }
    if entity == "resource":
        capacity = aggregate.weekly_capacity_hours
        return {
            "role": aggregate.role,
            # The team is the person's department; the role where the source keeps none.
            "team": aggregate.department or aggregate.role or "",
            "weekly_capacity_hours": None if capacity is None else str(capacity),
            "cost_rate": _money_json(aggregate.cost_rate),
            "active": str(aggregate.status) == "active" and not aggregate.deleted,
        }
    if entity == "contract":
        return {
            "engagement_id": str(aggregate.engagement_id) if aggregate.engagement_id else None,
            "type": str(aggregate.type),
            "currency": aggregate.currency,
            "cap": _money_json(aggregate.cap),
            "status": str(aggregate.status),
            "deleted": aggregate.deleted,
        }
    if entity == "rate_card":
        lines = [] if aggregate.deleted else aggregate.lines
        return {"lines": [line_to_json(line) for line in lines]}
    if entity == "milestone":
        return {
            **(previous or {}),
            "engagement_id": str(aggregate.engagement_id),
            "amount": _money_json(aggregate.amount),
            "status": str(aggregate.status),
            "deleted": aggregate.deleted,
        }
    if entity == "billing_run":
        return billing_run(aggregate)
    return None


def billing_run(run: Any) -> dict[str, Any]:
    """What the metrics keep of a billing run: per draft its figures and what it bills."""
    drafts = []
    for d in run.drafts:
        lines = d["lines"]
        drafts.append(
            {
                **{k: d[k] for k in ("invoice_id", "currency", "total", "standard")},
                **{k: d[k] for k in ("written_down", "overage")},
                "items": sorted(
                    r["id"] for line in lines for r in (*line["time_entries"], *line["expenses"])
                ),
                "milestones": sorted(
                    line["milestone"]["id"] for line in lines if line["milestone"]
                ),
            }
        )
    return {
        "engagement_id": str(run.engagement_id),
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "ran_at": run.created_on.isoformat(),
        "drafts": drafts,
    }


def _money_json(money: Money | None) -> dict[str, str] | None:
    return None if money is None else {"amount": str(money.amount), "currency": money.currency}


# Systems whose acknowledgement of a draft means it reached the billing engine.
BILLING_ENGINES = frozenset({"quickbooks", "xero", "stripe", "chargebee"})


def billing_sync(invoice: Any, kind: str, known: tuple[str, dict[str, Any]] | None) -> Any:
    """When a draft first reached a billing engine (its first xref of one), else None."""
    if kind != XREF_ADDED or (known is not None and known[0] == "invoice_sync"):
        return None
    if not any(x.system in BILLING_ENGINES for x in invoice.xrefs):
        return None
    return {"synced_at": invoice.modified_on.isoformat()}
