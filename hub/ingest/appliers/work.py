"""Appliers of the work records: rate cards, resources, time entries, expenses, milestones."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.contract import Contract
from domain.errors import RuleViolationError
from domain.expense import Expense, Receipt
from domain.milestone import Milestone
from domain.rate_card import RateCard, RateLine, RateTier
from domain.resource import Resource
from domain.time_entry import TimeEntry
from domain.values import Period
from hub.ingest import lifecycle
from hub.ingest.appliers.base import Context, link, money, parent, require, revise
from hub.ingest.descriptive import described
from hub.ingest.details import resource_details

# Rate card ------------------------------------------------------------------------------

_TIERS: dict[frozenset[str], RateTier] = {
    frozenset({"resource", "engagement"}): RateTier.RESOURCE_ENGAGEMENT,
    frozenset({"role", "engagement"}): RateTier.ROLE_ENGAGEMENT,
    frozenset({"task", "engagement"}): RateTier.TASK_ENGAGEMENT,
    frozenset({"resource", "client"}): RateTier.RESOURCE_CLIENT,
    frozenset({"role", "client"}): RateTier.ROLE_CLIENT,
    frozenset({"role"}): RateTier.ROLE_DEFAULT,
    frozenset({"resource"}): RateTier.RESOURCE_DEFAULT,
}


def _rate_line(ctx: Context, data: Any) -> RateLine:
    keys = frozenset(
        k for k in ("role", "resource", "engagement", "client", "task") if getattr(data, k)
    )
    tier = _TIERS.get(keys)
    if tier is None:
        raise RuleViolationError(
            f"no rate tier is keyed by {sorted(keys)}", rule="rate_tier", field="lines"
        )
    return RateLine(
        tier=tier,
        currency=data.bill_rate.currency,
        bill_rate=data.bill_rate.to_money(),
        cost_rate=money(data.cost_rate),
        period=Period(data.effective_from, data.effective_to),
        role=data.role or "",
        task=data.task or "",
        resource_id=ctx.resolve(data.resource, "resource") if data.resource else None,
        engagement_id=ctx.resolve(data.engagement, "engagement") if data.engagement else None,
        client_id=ctx.resolve(data.client, "client") if data.client else None,
        source_id=data.source_id or "",
    )


def create_rate_card(ctx: Context, f: dict[str, Any], new_id: UUID) -> RateCard:
    require(f, "lines")
    return RateCard.create(
        id=new_id,
        name=f.get("name") or f"{ctx.source_ref}",
        lines=[_rate_line(ctx, line) for line in f["lines"]],
        xrefs=[ctx.source_ref],
        details=described(ctx.source_ref, RateCard, f),
    )


def update_rate_card(ctx: Context, card: RateCard, f: dict[str, Any]) -> None:
    changes = described(ctx.source_ref, RateCard, f)
    if f.get("name"):
        changes["name"] = f["name"]
    revise(card, changes)
    if f.get("lines") is not None:
        card.replace_lines([_rate_line(ctx, line) for line in f["lines"]])


# Resource -------------------------------------------------------------------------------


def create_resource(ctx: Context, f: dict[str, Any], new_id: UUID) -> Resource:
    require(f, "name", "email")
    resource = Resource.register(
        id=new_id,
        name=f["name"],
        email=f["email"],
        role=f.get("role") or "unassigned",  # a Harvest user with no roles yet
        # A source that keeps no zone (Harvest's is a display name) gets UTC until one comes.
        time_zone=f.get("time_zone") or "UTC",
        cost_rate=money(f.get("cost_rate")),
        home_region=f.get("home_region") or "",
        xrefs=[ctx.source_ref],
        details=resource_details(f),
    )
    if f.get("status") == "inactive":
        resource.deactivate()
    return resource


def update_resource(ctx: Context, resource: Resource, f: dict[str, Any]) -> None:
    # Name, e-mail, role and time zone are required: a null for them is ignored.
    changes = {k: f[k] for k in ("name", "email", "role", "time_zone") if f.get(k)}
    if "home_region" in f:
        changes["home_region"] = f["home_region"] or ""
    if "cost_rate" in f:
        changes["cost_rate"] = money(f["cost_rate"])
    changes.update(resource_details(f))
    revise(resource, changes)
    if f.get("status") == "inactive":
        resource.deactivate()
    elif f.get("status") == "active":
        resource.activate()


# Time entries and expenses ----------------------------------------------------------------


def _approval_to(ctx: Context, fact: TimeEntry | Expense, status: str, f: dict[str, Any]) -> None:
    # A link: billed on an invoice the hub may not know yet (it resolves when it arrives).
    invoice_id = link(ctx, f, "invoice", "invoice") if "invoice" in f else fact.invoice_id

    def perform(action: str) -> None:
        if action == "approve":
            fact.approve(f.get("approved_by") or "")
        elif action in ("reject", "unapprove", "release"):
            getattr(fact, action)(f"{action} at source")
        elif action == "bill":
            fact.bill(invoice_id)  # type: ignore[arg-type]
        else:
            getattr(fact, action)()

    graph = lifecycle.APPROVAL
    if fact.billable:
        # The domain locks a billable fact only once it is billed: no approved -> locked step.
        graph = {**graph, "approved": {"billed": "bill", "submitted": "unapprove"}}
    lifecycle.walk(graph, fact.ENTITY, fact.status, status, perform)


def _apply_fact(
    ctx: Context,
    fact: TimeEntry | Expense,
    changes: dict[str, Any],
    status: str | None,
    f: dict[str, Any],
) -> None:
    changes = {k: v for k, v in changes.items() if getattr(fact, k) != v}
    if fact.status in ("approved", "billed", "locked"):
        # Descriptive attributes, and fact fields never known before, are revised in place.
        plain = fact.plain_revisions(changes)
        if plain:
            fact.revise(**plain)
        changes = {k: v for k, v in changes.items() if k not in plain}
    if changes and fact.status in ("approved", "billed", "locked"):
        if status in ("draft", "submitted", "rejected") and fact.status == "approved":
            # The source withdrew the approval: unapprove, then edit the unapproved record.
            _approval_to(ctx, fact, status, f)
            fact.revise(**changes)
            return
        # An approved fact is never edited: a reversal plus a new fact.
        fact.correct(f"corrected at source ({ctx.message_id})", **changes)
    elif changes:
        fact.revise(**changes)
    if status:
        _approval_to(ctx, fact, status, f)


def _initial(f: dict[str, Any]) -> str:
    """The state a new fact is recorded in directly (one event, not a walk through states)."""
    status = f.get("status") or "draft"
    if f.get("is_running") or status == "rejected":
        return "draft"
    if status in ("billed", "locked"):
        return "approved"
    return status


def _time_changes(ctx: Context, f: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if f.get("engagement") is not None:
        changes["engagement_id"] = parent(ctx, f, "engagement", "engagement")
    for name in ("work_date", "hours", "billable"):
        if f.get(name) is not None:
            changes[name] = f[name]
    if "billing_hours" in f:
        changes["billing_hours"] = f["billing_hours"]
    for name in ("notes", "task"):
        if name in f:
            changes[name] = f[name] or ""
    if "billable_rate" in f:
        changes["source_rate"] = money(f["billable_rate"])
    for name in ("cost_rate", "cost"):
        if name in f:
            changes[name] = money(f[name])
    changes.update(described(ctx.source_ref, TimeEntry, f))
    return changes


def create_time_entry(ctx: Context, f: dict[str, Any], new_id: UUID) -> TimeEntry:
    require(f, "engagement", "resource", "work_date", "hours")
    running = bool(f.get("is_running"))
    entry = TimeEntry.record(
        id=new_id,
        engagement_id=parent(ctx, f, "engagement", "engagement"),
        resource_id=parent(ctx, f, "resource", "resource"),
        work_date=f["work_date"],
        hours=f["hours"],
        billable=f.get("billable", True) is not False,
        billing_hours=f.get("billing_hours"),
        notes=f.get("notes") or "",
        task=f.get("task") or "",
        source_rate=money(f.get("billable_rate")),
        cost_rate=money(f.get("cost_rate")),
        cost=money(f.get("cost")),
        is_running=running,
        status=_initial(f),
        xrefs=[ctx.source_ref],
        details=described(ctx.source_ref, TimeEntry, f),
    )
    if f.get("status") and f["status"] != entry.status:
        _approval_to(ctx, entry, f["status"], f)
    return entry


def update_time_entry(ctx: Context, entry: TimeEntry, f: dict[str, Any]) -> None:
    changes = _time_changes(ctx, f)
    if entry.is_running and f.get("is_running") is False:
        entry.stop_timer(changes.pop("hours", entry.hours))
    if entry.is_running and changes.get("hours") == 0:
        changes.pop("hours")
    _apply_fact(ctx, entry, changes, f.get("status"), f)


def _expense_changes(ctx: Context, f: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if f.get("engagement") is not None:
        changes["engagement_id"] = parent(ctx, f, "engagement", "engagement")
    for name in ("spent_date", "category", "billable", "reimbursable"):
        if f.get(name) is not None:
            changes[name] = f[name]
    if f.get("amount") is not None:
        changes["amount"] = money(f["amount"])
    if "receipt" in f:
        r = f["receipt"]
        changes["receipt"] = None if r is None else Receipt(r.uri, r.file_name, r.content_type)
        # The receipt is part of the fact; its file's size only describes it.
        changes["receipt_size_bytes"] = None if r is None else r.file_size
    if "notes" in f:
        changes["notes"] = f["notes"] or ""
    if "units" in f:
        changes["units"] = f["units"]
    if "unit_price" in f:
        changes["unit_price"] = money(f["unit_price"])
    changes.update(described(ctx.source_ref, Expense, f))
    return changes


def create_expense(ctx: Context, f: dict[str, Any], new_id: UUID) -> Expense:
    require(f, "engagement", "resource", "spent_date", "amount", "category")
    changes = _expense_changes(ctx, f)
    expense = Expense.record(
        id=new_id,
        engagement_id=changes["engagement_id"],
        resource_id=parent(ctx, f, "resource", "resource"),
        spent_date=changes["spent_date"],
        amount=changes["amount"],
        category=changes["category"],
        billable=changes.get("billable", True),
        reimbursable=changes.get("reimbursable", False),
        receipt=changes.get("receipt"),
        notes=changes.get("notes", ""),
        units=changes.get("units"),
        unit_price=changes.get("unit_price"),
        status=_initial(f),
        xrefs=[ctx.source_ref],
        details={k: v for k, v in changes.items() if k in Expense.DETAILS},
    )
    if f.get("status") and f["status"] != expense.status:
        _approval_to(ctx, expense, f["status"], f)
    return expense


def update_expense(ctx: Context, expense: Expense, f: dict[str, Any]) -> None:
    _apply_fact(ctx, expense, _expense_changes(ctx, f), f.get("status"), f)


# Milestone ------------------------------------------------------------------------------


def create_milestone(ctx: Context, f: dict[str, Any], new_id: UUID) -> Milestone:
    require(f, "engagement", "name", "amount")
    engagement_id = parent(ctx, f, "engagement", "engagement")
    contract_id = (
        parent(ctx, f, "contract", "contract")
        if f.get("contract")
        else ctx.contract_of(engagement_id)
    )
    milestone = Milestone.plan(
        id=new_id,
        contract_id=contract_id,
        engagement_id=engagement_id,
        name=f["name"],
        amount=money(f["amount"]),
        due_date=f.get("due_date"),
        xrefs=[ctx.source_ref],
        details=described(ctx.source_ref, Milestone, f),
    )
    if f.get("status") and f["status"] != "planned":
        _milestone_to(ctx, milestone, f["status"], f)
    return milestone


def _milestone_to(ctx: Context, milestone: Milestone, status: str, f: dict[str, Any]) -> None:
    def perform(action: str) -> None:
        if action == "deliver":
            milestone.deliver(f.get("delivered_on") or ctx.on)
        elif action == "accept":
            milestone.accept(
                signed_by=f.get("accepted_by") or ctx.source_ref.system,
                accepted_on=f.get("accepted_on") or ctx.on,
            )
        elif action == "make_billing_ready":
            prerequisites = [ctx.load(p, Milestone) for p in milestone.prerequisites]
            milestone.make_billing_ready(ctx.load(milestone.contract_id, Contract), prerequisites)
        elif action == "bill":
            milestone.bill(link(ctx, f, "invoice", "invoice"))
        elif action in ("reject_delivery", "release"):
            getattr(milestone, action)(f"{action} at source")

    lifecycle.walk(lifecycle.MILESTONE, "milestone", milestone.status, status, perform)


def update_milestone(ctx: Context, milestone: Milestone, f: dict[str, Any]) -> None:
    changes = described(ctx.source_ref, Milestone, f)
    if f.get("name"):
        changes["name"] = f["name"]
    if "due_date" in f:
        changes["due_date"] = f["due_date"]
    if f.get("amount") is not None:
        changes["amount"] = money(f["amount"])
    revise(milestone, changes)
    if f.get("status"):
        _milestone_to(ctx, milestone, f["status"], f)
