"""Snapshot in, events out: from a source's view of a record to the domain calls it implies.

Each applier gets the fields a change reports (after survivorship) and either creates the
aggregate, when every required field is there, or calls the domain methods the difference
implies. An unchanged field triggers nothing, so a change that changes nothing records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.base import CanonicalAggregate
from domain.client import Client, ClientStatus, Contact
from domain.contract import Contract, RetainerTerms
from domain.engagement import Engagement, EngagementStatus
from domain.errors import RuleViolationError
from domain.expense import Expense, Receipt
from domain.invoice import Invoice, InvoiceKind, InvoiceLine
from domain.knowledge_asset import KnowledgeAsset
from domain.milestone import Milestone
from domain.rate_card import RateCard, RateLine, RateTier
from domain.resource import Resource
from domain.time_entry import TimeEntry
from domain.values import Money, Period, SourceRef
from hub.contracts.changes import ContactData, Ref
from hub.contracts.common import MoneyModel
from hub.ingest import lifecycle
from hub.ingest.details import (
    MissingCurrency,
    client_details,
    engagement_details,
    money_in,
    resource_details,
)
from hub.ingest.rules import Rules


class Unresolved(Exception):
    """A change names a record the hub does not know yet: it waits for that record."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Incomplete(Exception):
    """A change for a record the hub does not know lacks fields needed to create it."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"a new record needs {', '.join(missing)}")
        self.missing = missing


class Context(Protocol):
    """What an applier may ask of the ingest engine."""

    @property
    def source_ref(self) -> SourceRef: ...

    @property
    def on(self) -> date: ...

    @property
    def at(self) -> datetime:
        """When the change happened at its source (UTC)."""
        ...

    @property
    def rules(self) -> Rules: ...

    @property
    def message_id(self) -> str: ...

    def resolve(self, ref: Ref, entity: str) -> UUID:
        """The canonical id a reference names; raises Unresolved when it is not known yet."""
        ...

    def load(self, aggregate_id: UUID, kind: type[Any]) -> Any:
        """The aggregate, as this batch has changed it so far."""
        ...

    def contract_of(self, engagement_id: UUID) -> UUID:
        """The contract of an engagement; raises Unresolved when it has none yet."""
        ...

    def alias(self, ref: Ref, owner: UUID, entity: str) -> None:
        """Lets a reference resolve to this record from now on."""
        ...

    def link(self, ref: Ref | None, entity: str, name: str, attribute: str) -> UUID | None:
        """The canonical id a reference names, or None (none named, or a link to a record not
        known yet, held on the record); a parent not known yet raises Unresolved."""
        ...

    def renew(self, prefix: str) -> None:
        """The change reports every reference under the prefix anew."""
        ...


def money(value: MoneyModel | None) -> Money | None:
    return None if value is None else value.to_money()


def _require(fields: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if fields.get(n) is None]
    if missing:
        raise Incomplete(missing)


def _link(ctx: Context, fields: dict[str, Any], name: str, entity: str) -> UUID | None:
    """The record a reported reference names (`<name>_id`), per the references' rules: None
    when it is not reported, cleared, or a link to a record not known yet."""
    if name not in fields:
        return None
    return ctx.link(fields[name], entity, name, f"{name}_id")


def _parent(ctx: Context, fields: dict[str, Any], name: str, entity: str) -> UUID:
    """A reference the record cannot be valued without: the change waits until it is known."""
    owner = _link(ctx, fields, name, entity)
    if owner is None:
        raise Incomplete([name])
    return owner


def _revise(aggregate: CanonicalAggregate, changes: dict[str, Any]) -> None:
    allowed = {k: v for k, v in changes.items() if k in aggregate.REVISABLE}
    if allowed:
        aggregate.revise(**allowed)


# Client ---------------------------------------------------------------------------------


def _contact(data: ContactData, default_version: str = "") -> Contact:
    return Contact(
        name=data.name,
        email=data.email,
        phone=data.phone,
        role=data.role,
        source_id=data.id or "",
        version=data.version or default_version,
    )


def create_client(ctx: Context, f: dict[str, Any], new_id: UUID) -> Client:
    _require(f, "legal_name")
    client = Client.register(
        id=new_id,
        legal_name=f["legal_name"],
        # Unknown until a source that keeps them reports them (survivorship fills them in).
        country=f.get("country") or "",
        billing_currency=f.get("billing_currency") or "",
        tax_id=f.get("tax_id") or "",
        contacts=[_contact(c) for c in f.get("contacts") or []],
        xrefs=[ctx.source_ref],
        details=client_details(ctx, None, f),
    )
    update_client(
        ctx,
        client,
        {k: v for k, v in f.items() if k in ("contact_updates", "contact_removals", "status")},
    )
    return client


def update_client(ctx: Context, client: Client, f: dict[str, Any]) -> None:
    # Required fields (the legal name, a billing currency once known) are never cleared: a
    # null for them is ignored. Every other field a change reports as null is cleared.
    changes = {k: f[k] for k in ("legal_name", "billing_currency") if f.get(k)}
    for name in ("country", "tax_id"):
        if name in f:
            changes[name] = f[name] or ""
    changes.update(client_details(ctx, client, f))
    status = f.get("status")
    if status and status != ClientStatus.CLOSED and client.status == ClientStatus.CLOSED:
        client.reopen()
    _revise(client, changes)
    if f.get("contacts") is not None:
        client.replace_contacts([_contact(c) for c in f["contacts"]])
    if f.get("contact_updates") or f.get("contact_removals"):
        client.merge_contacts(
            [_contact(c) for c in f.get("contact_updates") or []],
            [(r.id, r.version) for r in f.get("contact_removals") or []],
        )
    if status == ClientStatus.ACTIVE:
        client.activate()
    elif status == ClientStatus.INACTIVE:
        if client.status != ClientStatus.ACTIVE:
            client.activate()
        client.deactivate()
    elif status == ClientStatus.CLOSED:
        client.close()


# Engagement -----------------------------------------------------------------------------


def create_engagement(ctx: Context, f: dict[str, Any], new_id: UUID) -> Engagement:
    _require(f, "client", "name", "currency")
    try:
        details = engagement_details(ctx, None, f)
    except MissingCurrency as missing:  # pragma: no cover - the currency is required above
        raise Incomplete([f"{missing.field}.currency"]) from missing
    engagement = Engagement.create(
        id=new_id,
        # A link: the source's customer may never be fed to the hub (it resolves if it is).
        client_id=_link(ctx, f, "client", "client"),
        code=f.get("code") or f"{ctx.source_ref.system.upper()}-{ctx.source_ref.id}",
        name=f["name"],
        currency=f["currency"],
        service_line=f.get("service_line") or "",
        region=f.get("region") or "",
        legal_entity=f.get("legal_entity") or "",
        start_date=f.get("start_date"),
        end_date=f.get("end_date"),
        budget=money_in(f.get("budget"), f["currency"], "budget"),
        manager_id=_link(ctx, f, "manager", "resource") if "manager" in f else None,
        status=f["status"] if f.get("status") in ("pipeline", "won", "active") else "pipeline",
        xrefs=[ctx.source_ref],
        details=details,
    )
    if f.get("status"):
        engagement.advance_to(EngagementStatus(f["status"]), on=ctx.on)
    return engagement


def _engagement_client(ctx: Context, engagement: Engagement, ref: Ref) -> UUID | None:
    """The client a change names for a known engagement, if it should take it."""
    first = not engagement.xrefs or engagement.xrefs[0].system == ctx.source_ref.system
    if not first:
        # A system that joined later names its own copy of the client: the engagement keeps
        # the client its first source gave it (the clients may be matched later), and takes
        # the later one only while it has none.
        if engagement.client_id is not None:
            return None
        try:
            return ctx.resolve(ref, "client")
        except Unresolved:
            return None
    client = ctx.link(ref, "client", "client", "client_id")
    if client is not None and engagement.client_id not in (None, client):
        raise RuleViolationError(
            "an engagement cannot move to another client", rule="client_fixed", field="client"
        )
    return client


def update_engagement(ctx: Context, engagement: Engagement, f: dict[str, Any]) -> None:
    # The name and currency are required: a null for them is ignored; other nulls clear.
    changes: dict[str, Any] = {}
    if f.get("client") is not None:
        client = _engagement_client(ctx, engagement, f["client"])
        if client is not None and engagement.client_id is None:
            changes["client_id"] = client
    for name in ("name", "currency"):
        if f.get(name):
            changes[name] = f[name]
    for name in ("service_line", "region", "legal_entity"):
        if name in f:
            changes[name] = f[name] or ""
    for name in ("start_date", "end_date"):
        if name in f:
            changes[name] = f[name]
    currency = changes.get("currency", engagement.currency)
    if "budget" in f:
        changes["budget"] = money_in(f["budget"], currency, "budget")
    changes.update(engagement_details(ctx, engagement, f))
    if "manager" in f:
        manager = _link(ctx, f, "manager", "resource")
        if manager is not None or f["manager"] is None:
            changes["manager_id"] = manager
    target = EngagementStatus(f["status"]) if f.get("status") else None
    if engagement.status == EngagementStatus.CLOSED and target not in (None, "closed"):
        # Reopen first: a closed engagement takes no revisions.
        engagement.advance_to(target, on=ctx.on)
    _revise(engagement, changes)
    if target is not None:
        engagement.advance_to(target, on=ctx.on)


# Contract -------------------------------------------------------------------------------


def _retainer(data: Any) -> RetainerTerms | None:
    if data is None:
        return None
    return RetainerTerms(
        period=data.period,
        fee=data.fee.to_money(),
        included_hours=data.included_hours,
        rollover_rule=data.rollover_rule,
        overage_rate=data.overage_rate.to_money(),
        rollover_cap_hours=data.rollover_cap_hours,
    )


def create_contract(ctx: Context, f: dict[str, Any], new_id: UUID) -> Contract:
    _require(f, "engagement", "type", "currency")
    engagement_id = _parent(ctx, f, "engagement", "engagement")
    engagement = ctx.load(engagement_id, Engagement)
    kwargs: dict[str, Any] = {
        "value": money(f.get("value")),
        "cap": money(f.get("cap")),
        "retainer": _retainer(f.get("retainer")),
    }
    for name in (
        "payment_terms_days",
        "tax_treatment",
        "billing_schedule",
        "start_date",
        "end_date",
    ):
        if f.get(name) is not None:
            kwargs[name] = f[name]
    contract = Contract.create(
        id=new_id,
        engagement_id=engagement_id,
        client_id=engagement.client_id,
        type=f["type"],
        currency=f["currency"],
        name=f.get("name") or "",
        xrefs=[ctx.source_ref],
        **kwargs,
    )
    if f.get("status"):
        _contract_to(ctx, contract, f["status"], f)
    return contract


def _contract_to(ctx: Context, contract: Contract, status: str, f: dict[str, Any]) -> None:
    def perform(action: str) -> None:
        if action == "sign":
            contract.sign(f.get("signed_on") or ctx.on, f.get("signed_by") or "")
        elif action == "close":
            contract.close(ctx.on)
        elif action == "terminate":
            contract.terminate(ctx.on, "terminated at source")
        else:
            getattr(contract, action)()

    lifecycle.walk(lifecycle.CONTRACT, "contract", contract.status, status, perform)


def update_contract(ctx: Context, contract: Contract, f: dict[str, Any]) -> None:
    changes: dict[str, Any] = {}
    # The type, currency and terms are required: a null for them is ignored. The name and
    # dates are optional: null clears them.
    for name in ("type", "currency", "payment_terms_days", "tax_treatment", "billing_schedule"):
        if name in f and f[name] is not None:
            changes[name] = f[name]
    for name in ("start_date", "end_date"):
        if name in f:
            changes[name] = f[name]
    if "name" in f:
        changes["name"] = f["name"] or ""
    terms = {
        "value": money(f.get("value")),
        "cap": money(f.get("cap")),
        "retainer": _retainer(f.get("retainer")),
    }
    terms = {k: v for k, v in terms.items() if k in f and v != getattr(contract, k)}
    if contract.status in ("signed", "active") and terms:
        # After signature the value moves only by change order, never by overwrite.
        contract.order_change(
            reference=ctx.message_id, reason="changed at source", effective_on=ctx.on, **terms
        )
    else:
        changes.update(terms)
    _revise(contract, changes)
    if f.get("status"):
        _contract_to(ctx, contract, f["status"], f)


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
    )


def create_rate_card(ctx: Context, f: dict[str, Any], new_id: UUID) -> RateCard:
    _require(f, "lines")
    return RateCard.create(
        id=new_id,
        name=f.get("name") or f"{ctx.source_ref}",
        lines=[_rate_line(ctx, line) for line in f["lines"]],
        xrefs=[ctx.source_ref],
    )


def update_rate_card(ctx: Context, card: RateCard, f: dict[str, Any]) -> None:
    if f.get("name"):
        card.revise(name=f["name"])
    if f.get("lines") is not None:
        card.replace_lines([_rate_line(ctx, line) for line in f["lines"]])


# Resource -------------------------------------------------------------------------------


def create_resource(ctx: Context, f: dict[str, Any], new_id: UUID) -> Resource:
    _require(f, "name", "email")
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
    _revise(resource, changes)
    if f.get("status") == "inactive":
        resource.deactivate()
    elif f.get("status") == "active":
        resource.activate()


# Time entries and expenses ----------------------------------------------------------------


def _approval_to(ctx: Context, fact: TimeEntry | Expense, status: str, f: dict[str, Any]) -> None:
    # A link: billed on an invoice the hub may not know yet (it resolves when it arrives).
    invoice_id = _link(ctx, f, "invoice", "invoice") if "invoice" in f else fact.invoice_id

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
        changes["engagement_id"] = _parent(ctx, f, "engagement", "engagement")
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
    return changes


def create_time_entry(ctx: Context, f: dict[str, Any], new_id: UUID) -> TimeEntry:
    _require(f, "engagement", "resource", "work_date", "hours")
    running = bool(f.get("is_running"))
    entry = TimeEntry.record(
        id=new_id,
        engagement_id=_parent(ctx, f, "engagement", "engagement"),
        resource_id=_parent(ctx, f, "resource", "resource"),
        work_date=f["work_date"],
        hours=f["hours"],
        billable=f.get("billable", True) is not False,
        billing_hours=f.get("billing_hours"),
        notes=f.get("notes") or "",
        task=f.get("task") or "",
        source_rate=money(f.get("billable_rate")),
        is_running=running,
        status=_initial(f),
        xrefs=[ctx.source_ref],
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
        changes["engagement_id"] = _parent(ctx, f, "engagement", "engagement")
    for name in ("spent_date", "category", "billable", "reimbursable"):
        if f.get(name) is not None:
            changes[name] = f[name]
    if f.get("amount") is not None:
        changes["amount"] = money(f["amount"])
    if "receipt" in f:
        r = f["receipt"]
        changes["receipt"] = None if r is None else Receipt(r.uri, r.file_name, r.content_type)
    if "notes" in f:
        changes["notes"] = f["notes"] or ""
    return changes


def create_expense(ctx: Context, f: dict[str, Any], new_id: UUID) -> Expense:
    _require(f, "engagement", "resource", "spent_date", "amount", "category")
    changes = _expense_changes(ctx, f)
    expense = Expense.record(
        id=new_id,
        engagement_id=changes["engagement_id"],
        resource_id=_parent(ctx, f, "resource", "resource"),
        spent_date=changes["spent_date"],
        amount=changes["amount"],
        category=changes["category"],
        billable=changes.get("billable", True),
        reimbursable=changes.get("reimbursable", False),
        receipt=changes.get("receipt"),
        notes=changes.get("notes", ""),
        status=_initial(f),
        xrefs=[ctx.source_ref],
    )
    if f.get("status") and f["status"] != expense.status:
        _approval_to(ctx, expense, f["status"], f)
    return expense


def update_expense(ctx: Context, expense: Expense, f: dict[str, Any]) -> None:
    _apply_fact(ctx, expense, _expense_changes(ctx, f), f.get("status"), f)


# Milestone ------------------------------------------------------------------------------


def create_milestone(ctx: Context, f: dict[str, Any], new_id: UUID) -> Milestone:
    _require(f, "engagement", "name", "amount")
    engagement_id = _parent(ctx, f, "engagement", "engagement")
    contract_id = (
        _parent(ctx, f, "contract", "contract")
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
            milestone.bill(_link(ctx, f, "invoice", "invoice"))
        elif action in ("reject_delivery", "release"):
            getattr(milestone, action)(f"{action} at source")

    lifecycle.walk(lifecycle.MILESTONE, "milestone", milestone.status, status, perform)


def update_milestone(ctx: Context, milestone: Milestone, f: dict[str, Any]) -> None:
    changes = {k: f[k] for k in ("name", "due_date") if k in f and f[k] is not None}
    if f.get("amount") is not None:
        changes["amount"] = money(f["amount"])
    _revise(milestone, changes)
    if f.get("status"):
        _milestone_to(ctx, milestone, f["status"], f)


# Invoice --------------------------------------------------------------------------------


def _line_links(ctx: Context, refs: list[Ref], entity: str, attribute: str) -> list[UUID]:
    found = (ctx.link(ref, entity, "lines", attribute) for ref in refs)
    return [owner for owner in found if owner is not None]


def _lines(ctx: Context, currency: str, data: list[Any]) -> list[InvoiceLine]:
    # Lines name billed records as links ("lines.<n>.<field>"): a line is billed whether or
    # not the hub knows the time entry yet.
    return [
        InvoiceLine.build(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            currency=currency,
            tax_rate=line.tax_rate,
            net=money(line.net),
            tax=money(line.tax),
            time_entry_ids=_line_links(
                ctx, line.time_entries, "time_entry", f"lines.{n}.time_entry_ids"
            ),
            expense_ids=_line_links(ctx, line.expenses, "expense", f"lines.{n}.expense_ids"),
            milestone_id=(
                ctx.link(line.milestone, "milestone", "lines", f"lines.{n}.milestone_id")
                if line.milestone
                else None
            ),
        )
        for n, line in enumerate(data)
    ]


def create_invoice(ctx: Context, f: dict[str, Any], new_id: UUID) -> Invoice:
    _require(f, "currency")
    if f.get("client") is None and f.get("engagement") is None:
        raise Incomplete(["client"])
    engagement_id = _link(ctx, f, "engagement", "engagement")
    client_id = _invoice_client(ctx, f, engagement_id)
    kind = InvoiceKind(f.get("kind") or "invoice")
    original = None
    if kind == InvoiceKind.CREDIT_NOTE:
        _require(f, "original_invoice")
        original = ctx.load(_parent(ctx, f, "original_invoice", "invoice"), Invoice)
    ctx.renew("lines.")
    invoice = Invoice.create(
        id=new_id,
        client_id=client_id,
        currency=f["currency"],
        lines=_lines(ctx, f["currency"], f.get("lines") or []),
        engagement_id=engagement_id,
        issue_date=f.get("issue_date"),
        due_date=f.get("due_date"),
        kind=kind,
        original=original,
        xrefs=[ctx.source_ref],
    )
    _invoice_to(ctx, invoice, f)
    return invoice


def _invoice_client(ctx: Context, f: dict[str, Any], engagement_id: UUID | None) -> UUID | None:
    """The client of an invoice: its billing customer (a link), or the engagement's client."""
    if f.get("client") is None:
        return ctx.load(engagement_id, Engagement).client_id if engagement_id else None
    try:
        return ctx.resolve(f["client"], "client")
    except Unresolved:
        engagement = ctx.load(engagement_id, Engagement) if engagement_id else None
        if engagement is None or engagement.client_id is None:
            # Held as the billing system named it, until that customer is known.
            return _link(ctx, f, "client", "client")
    # Billing systems name their own customer record; the engagement (named explicitly, by
    # code or id, never by name) knows the client, and from now on that customer record
    # resolves to it too.
    ctx.alias(f["client"], engagement.client_id, "client")
    return engagement.client_id


def _invoice_to(ctx: Context, invoice: Invoice, f: dict[str, Any]) -> None:
    status = f.get("status")
    original = (
        ctx.load(invoice.original_invoice_id, Invoice) if invoice.original_invoice_id else None
    )

    def perform(action: str) -> None:
        if action == "issue":
            invoice.issue(
                number=f.get("number") or ctx.source_ref.id,
                issue_date=f.get("issue_date") or ctx.on,
                due_date=f.get("due_date"),
                total=money(f.get("total")),
                original=original,
            )
            if original is not None:
                original.apply_credit(invoice.id, invoice.total)
        elif action == "pay":
            _pay(ctx, invoice, invoice.total)
        elif action == "void":
            invoice.void("voided at source")

    if status:
        lifecycle.walk(lifecycle.INVOICE, "invoice", invoice.status, status, perform)
    if f.get("amount_paid") is not None and invoice.status == "issued":
        _pay(ctx, invoice, f["amount_paid"].to_money())


def _pay(ctx: Context, invoice: Invoice, paid: Money) -> None:
    # Sources report the amount paid so far; record what is new as one payment.
    new = paid - invoice.paid_total
    if new.amount > 0 and invoice.status == "issued":
        invoice.record_payment(new, ctx.on, reference=ctx.message_id)


def update_invoice(ctx: Context, invoice: Invoice, f: dict[str, Any]) -> None:
    if "client" in f and f["client"] is not None and invoice.client_id is None:
        _link(ctx, f, "client", "client")  # the customer may be known now: the link resolves
    if invoice.status == "draft":
        changes = {k: f[k] for k in ("issue_date", "due_date") if f.get(k) is not None}
        if f.get("engagement") is not None:
            engagement_id = _link(ctx, f, "engagement", "engagement")
            if engagement_id is not None:
                changes["engagement_id"] = engagement_id
        _revise(invoice, changes)
        if f.get("lines") is not None:
            ctx.renew("lines.")
            invoice.replace_lines(_lines(ctx, invoice.currency, f["lines"]))
    elif f.get("lines") is not None:
        lines = _lines(ctx, invoice.currency, f["lines"])
        # What the lines bill is fixed once issued; the records they name may resolve later.
        if [line.terms for line in lines] != [line.terms for line in invoice.lines]:
            raise RuleViolationError(
                "an issued invoice is never edited; credit it instead",
                rule="issued_immutable",
                field="lines",
            )
    _invoice_to(ctx, invoice, f)


# Knowledge asset ------------------------------------------------------------------------


def create_knowledge_asset(ctx: Context, f: dict[str, Any], new_id: UUID) -> KnowledgeAsset:
    _require(f, "title", "kind", "uri")
    asset = KnowledgeAsset.register(
        id=new_id,
        title=f["title"],
        kind=f["kind"],
        uri=f["uri"],
        classification=f.get("classification") or "internal",
        client_id=_link(ctx, f, "client", "client"),
        engagement_id=_link(ctx, f, "engagement", "engagement"),
        service_line=f.get("service_line") or "",
        xrefs=[ctx.source_ref],
    )
    if f.get("status") and f["status"] != "draft":
        _asset_to(asset, f["status"])
    return asset


def _asset_to(asset: KnowledgeAsset, status: str) -> None:
    lifecycle.walk(
        lifecycle.KNOWLEDGE_ASSET,
        "knowledge_asset",
        asset.status,
        status,
        lambda action: getattr(asset, action)(),
    )


def update_knowledge_asset(ctx: Context, asset: KnowledgeAsset, f: dict[str, Any]) -> None:
    changes = {k: f[k] for k in ("title", "kind", "uri", "classification") if f.get(k)}
    if "service_line" in f:
        changes["service_line"] = f["service_line"] or ""
    for name, entity in (("client", "client"), ("engagement", "engagement")):
        if name in f:
            owner = _link(ctx, f, name, entity)
            if owner is not None or f[name] is None:
                changes[f"{name}_id"] = owner
    _revise(asset, changes)
    if f.get("status"):
        _asset_to(asset, f["status"])


@dataclass(frozen=True)
class Applier:
    kind: type[CanonicalAggregate]
    create: Callable[[Context, dict[str, Any], UUID], CanonicalAggregate]
    update: Callable[[Context, Any, dict[str, Any]], None]


APPLIERS: dict[str, Applier] = {
    "client": Applier(Client, create_client, update_client),
    "engagement": Applier(Engagement, create_engagement, update_engagement),
    "contract": Applier(Contract, create_contract, update_contract),
    "rate_card": Applier(RateCard, create_rate_card, update_rate_card),
    "resource": Applier(Resource, create_resource, update_resource),
    "time_entry": Applier(TimeEntry, create_time_entry, update_time_entry),
    "expense": Applier(Expense, create_expense, update_expense),
    "milestone": Applier(Milestone, create_milestone, update_milestone),
    "invoice": Applier(Invoice, create_invoice, update_invoice),
    "knowledge_asset": Applier(KnowledgeAsset, create_knowledge_asset, update_knowledge_asset),
}
