"""A change's descriptive fields -> the details of a client, engagement or resource.

What a change leaves out is not touched and null clears (CanonicalAggregate.DETAILS). Two
things are the hub's to work out rather than the source's: an amount reported without its
currency is in the currency the record has (a Salesforce UPDATE of `Amount` alone), and an
engagement's canonical stage and won/lost instants follow from the status, stage,
forecast category and probability it has once the change is applied.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from domain.client import CLIENT_TEXT_DETAILS, Address, Client
from domain.engagement import Engagement, EngagementStatus
from domain.values import Money, SourceRef
from hub.contracts.changes import AddressData, PartialMoney, Ref
from hub.ingest.rules import Rules

ENGAGEMENT_TEXT = (
    "stage",
    "forecast_category",
    "engagement_type",
    "lead_source",
    "billing_method",
    "budget_by",
    "health",
    "analytic_account",
)
ENGAGEMENT_MONEY = ("amount", "expected_revenue", "estimated_cost", "fee", "hourly_rate")
ENGAGEMENT_PLAIN = (
    "probability",
    "percent_complete",
    "contract_type",
    "budget_hours",
    "expected_close_date",
    "calculated_end_date",
)
_WON_OR_LATER = ("won", "active", "on_hold", "closed")


class Context(Protocol):
    """What these helpers ask of the ingest engine (a part of appliers.Context)."""

    @property
    def source_ref(self) -> SourceRef: ...

    @property
    def at(self) -> datetime:
        """When the change happened at its source."""
        ...

    @property
    def rules(self) -> Rules: ...


class MissingCurrency(Exception):
    """An amount without its currency, for a record whose currency the hub does not know."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} has no currency and the record none yet")
        self.field = field


def money_in(value: PartialMoney | None, currency: str | None, field: str) -> Money | None:
    """The money of an amount, in its own currency or else the record's."""
    if value is None:
        return None
    code = value.currency or currency
    if not code:
        raise MissingCurrency(field)
    # Money refuses more fraction digits than the currency has (a RULE_VIOLATION).
    return Money(value.amount, code)


def source_ref(ctx: Context, ref: Ref) -> SourceRef:
    """A reference as the xref it names (system and tenant default to the change's own)."""
    own = ctx.source_ref
    tenant = own.tenant if ref.tenant is None else ref.tenant
    return SourceRef(ref.system or own.system, tenant, ref.type, ref.id)


def address(data: AddressData | None, current: Address | None) -> Address | None:
    """The address after a change that reports some of its lines (the others stay)."""
    if data is None:
        return None
    lines = {name: value or "" for name, value in data.reported().items()}
    return replace(current or Address(), **lines)


def client_details(ctx: Context, client: Client | None, f: dict[str, Any]) -> dict[str, Any]:
    """The client details a change reports."""
    out: dict[str, Any] = {name: f[name] or "" for name in CLIENT_TEXT_DETAILS if name in f}
    for name in ("billing_address", "shipping_address"):
        if name in f:
            out[name] = address(f[name], getattr(client, name) if client else None)
    for name, entity in (("parent", "client"), ("owner", "resource")):
        if name in f:
            # Kept as the source names it, and resolved as a link (held until it is known).
            out[f"{name}_ref"] = None if f[name] is None else source_ref(ctx, f[name])
            out[f"{name}_id"] = ctx.link(f[name], entity, name, f"{name}_id")
    return out


def engagement_details(
    ctx: Context, engagement: Engagement | None, f: dict[str, Any]
) -> dict[str, Any]:
    """The engagement details a change reports, with the canonical stage and the won or lost
    instant they imply (the change's source time when the status moves there)."""
    currency = f.get("currency") or (engagement.currency if engagement else None)
    out: dict[str, Any] = {name: f[name] or "" for name in ENGAGEMENT_TEXT if name in f}
    out.update({name: f[name] for name in ENGAGEMENT_PLAIN if name in f})
    for name in ENGAGEMENT_MONEY:
        if name in f:
            out[name] = money_in(f[name], currency, name)
    if "owner" in f:
        out["owner_ref"] = None if f["owner"] is None else source_ref(ctx, f["owner"])
        out["owner_id"] = ctx.link(f["owner"], "resource", "owner", "owner_id")

    def now(name: str, default: Any = None) -> Any:
        return out.get(name, getattr(engagement, name) if engagement else default)

    before = engagement.status if engagement else None
    after = f.get("status") or before or EngagementStatus.PIPELINE
    stage = ctx.rules.canonical_stage(
        str(after), now("stage", ""), now("forecast_category", ""), now("probability")
    )
    if stage != now("canonical_stage"):
        out["canonical_stage"] = stage
    # The status moves out of the pipeline now (or the record is first seen won or lost).
    moved = before == EngagementStatus.PIPELINE or (before is None and after in ("won", "lost"))
    if moved and after in _WON_OR_LATER and now("won_at") is None:
        out["won_at"] = ctx.at
    if moved and after == "lost" and now("lost_at") is None:
        out["lost_at"] = ctx.at
    return out


def resource_details(f: dict[str, Any]) -> dict[str, Any]:
    """The resource details a change reports."""
    texts = ("phone", "department", "legal_entity")
    out: dict[str, Any] = {name: f[name] or "" for name in texts if name in f}
    for name in ("employment_type", "weekly_capacity_hours"):
        if name in f:
            out[name] = f[name]
    if "default_bill_rate" in f:
        rate = f["default_bill_rate"]
        out["default_bill_rate"] = None if rate is None else rate.to_money()
    return out
