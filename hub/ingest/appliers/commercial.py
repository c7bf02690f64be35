"""Appliers of the commercial records: clients, engagements and contracts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.client import Client, ClientStatus, Contact
from domain.contract import Contract, RetainerTerms
from domain.engagement import Engagement, EngagementStatus
from domain.errors import RuleViolationError
from hub.contracts.changes import ContactData, Ref
from hub.ingest import lifecycle
from hub.ingest.appliers.base import (
    Context,
    Incomplete,
    Unresolved,
    link,
    money,
    parent,
    require,
    revise,
)
from hub.ingest.details import MissingCurrency, client_details, engagement_details, money_in

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
    require(f, "legal_name")
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
    revise(client, changes)
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
    require(f, "client", "name", "currency")
    try:
        details = engagement_details(ctx, None, f)
    except MissingCurrency as missing:  # pragma: no cover - the currency is required above
        raise Incomplete([f"{missing.field}.currency"]) from missing
    engagement = Engagement.create(
        id=new_id,
        # A link: the source's customer may never be fed to the hub (it resolves if it is).
        client_id=link(ctx, f, "client", "client"),
        code=f.get("code") or f"{ctx.source_ref.system.upper()}-{ctx.source_ref.id}",
        name=f["name"],
        currency=f["currency"],
        service_line=f.get("service_line") or "",
        region=f.get("region") or "",
        legal_entity=f.get("legal_entity") or "",
        start_date=f.get("start_date"),
        end_date=f.get("end_date"),
        budget=money_in(f.get("budget"), f["currency"], "budget"),
        manager_id=link(ctx, f, "manager", "resource") if "manager" in f else None,
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
        manager = link(ctx, f, "manager", "resource")
        if manager is not None or f["manager"] is None:
            changes["manager_id"] = manager
    target = EngagementStatus(f["status"]) if f.get("status") else None
    if engagement.status == EngagementStatus.CLOSED and target not in (None, "closed"):
        # Reopen first: a closed engagement takes no revisions.
        engagement.advance_to(target, on=ctx.on)
    revise(engagement, changes)
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
    require(f, "engagement", "type", "currency")
    engagement_id = parent(ctx, f, "engagement", "engagement")
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
    revise(contract, changes)
    if f.get("status"):
        _contract_to(ctx, contract, f["status"], f)
