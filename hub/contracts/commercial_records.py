"""Golden records of the firm's parties and deals: clients, engagements, contracts, resources.

Every field has a description and a classification (hub/contracts/record_base.py): people's
names, e-mail addresses and phone numbers are `pii`; rates and costs are `confidential`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from hub.contracts.common import MoneyModel, XrefModel
from hub.contracts.record_base import (
    CONFIDENTIAL,
    INTERNAL,
    PII,
    PUBLIC,
    Classification,
    RecordModel,
    classified,
)


def field(text: str, level: Classification = PUBLIC, **kwargs: Any) -> Any:
    """A described, classified field of a golden record."""
    return classified(level, description=text, **kwargs)


class ContactRecord(BaseModel):
    """A person at the client (personal data)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    name: str = field("the person's name", PII)
    email: str = field("e-mail address", PII, default="")
    phone: str = field("phone number", PII, default="")
    role: str = field("job title or role", PII, default="")


class AddressRecord(BaseModel):
    """A postal address; a free-text address (Harvest, NetSuite) is all in `street`."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    street: str = field("street lines", default="")
    city: str = field("city or town", default="")
    region: str = field("state, province or region (a code where the source keeps one)", default="")
    postal_code: str = field("postal or ZIP code", default="")
    country: str = field("ISO 3166-1 alpha-2 country code, or empty", default="")


class ClientRecord(RecordModel):
    """A client of the firm."""

    legal_name: str = field("the registered legal name")
    trading_name: str = field("the name it trades under, if another", default="")
    country: str = field("ISO 3166-1 alpha-2 country code; empty while no source gave one")
    tax_id: str = field("VAT or tax registration number", INTERNAL, default="")
    billing_currency: str = field("ISO 4217 currency it is invoiced in; empty while unknown")
    status: str = field("active, inactive or closed")
    industry: str = field("industry, as the source names it", default="")
    category: str = field("the source's kind of account (customer, partner...)", default="")
    customer_number: str = field("its number in the source system", INTERNAL, default="")
    website: str = field("web site URL", default="")
    phone: str = field("main phone number", PII, default="")
    email: str = field("main e-mail address", PII, default="")
    billing_address: AddressRecord | None = field("where invoices go", INTERNAL, default=None)
    shipping_address: AddressRecord | None = field("where deliveries go", INTERNAL, default=None)
    parent_ref: XrefModel | None = field(
        "the parent organisation, as its source names it", default=None
    )
    owner_ref: XrefModel | None = field(
        "the person at the firm who owns the account, as its source names them",
        INTERNAL,
        default=None,
    )
    parent_id: UUID | None = field(
        "the parent organisation's client id, once the hub knows it (a link)", default=None
    )
    owner_id: UUID | None = field(
        "the owning person's resource id, once the hub knows them (a link)", INTERNAL, default=None
    )
    owner_name: str = field("that person's name", PII, default="")
    contacts: list[ContactRecord] = field("people at the client", PII, default_factory=list)


class EngagementRecord(RecordModel):
    """An engagement (project, or a deal in the pipeline) for one client."""

    client_id: UUID | None = field(
        "the client's id; null while the client the source names is not known (pending_links)",
        default=None,
    )
    code: str = field("the engagement code time and invoices name it by")
    name: str = field("its name")
    service_line: str = field("the firm's service line", default="")
    region: str = field("the firm's region that delivers it", default="")
    legal_entity: str = field("the firm's legal entity that invoices it", default="")
    status: str = field("pipeline, won, active, on_hold, closed or lost")
    stage: str = field("the pipeline stage as the source names it", default="")
    canonical_stage: str | None = field(
        "lead, qualified, proposal, commit, won or lost: derived by the hub from the "
        "source's closed and won flags, forecast category or probability",
        default=None,
    )
    forecast_category: str = field("the CRM's forecast category", INTERNAL, default="")
    probability: Decimal | None = field("chance of winning, percent", INTERNAL, default=None)
    expected_close_date: date | None = field("when the deal is expected to close", default=None)
    won_at: datetime | None = field("when the source recorded the deal won", default=None)
    lost_at: datetime | None = field("when the source recorded the deal lost", default=None)
    engagement_type: str = field("the source's type of deal or project", default="")
    lead_source: str = field("where the deal came from", INTERNAL, default="")
    start_date: date | None = field("first day of work", default=None)
    end_date: date | None = field("planned last day of work", default=None)
    calculated_end_date: date | None = field("the end the source computes", default=None)
    percent_complete: Decimal | None = field("delivery progress, percent", default=None)
    health: str = field("the latest status update (on_track, at_risk...)", default="")
    currency: str = field("ISO 4217 currency time is priced and invoiced in")
    contract_type: str | None = field(
        "time_and_materials, capped_time_and_materials, fixed_fee, retainer or non_billable",
        default=None,
    )
    billing_method: str = field("the source's own billing method", default="")
    amount: MoneyModel | None = field("the deal's amount in the CRM", INTERNAL, default=None)
    expected_revenue: MoneyModel | None = field("revenue expected", INTERNAL, default=None)
    budget: MoneyModel | None = field(
        "the budget (the ERP's, where one keeps it)", INTERNAL, default=None
    )
    budget_by: str = field("what the budget counts (hours, fees, cost)", default="")
    budget_hours: Decimal | None = field("the budget in hours", INTERNAL, default=None)
    fee: MoneyModel | None = field("a fixed-fee project's fee", INTERNAL, default=None)
    hourly_rate: MoneyModel | None = field("the project's hourly rate", CONFIDENTIAL, default=None)
    estimated_cost: MoneyModel | None = field("estimated cost", CONFIDENTIAL, default=None)
    analytic_account: str = field("the ERP account the project books to", INTERNAL, default="")
    manager_id: UUID | None = field("the project manager's resource id", default=None)
    owner_ref: XrefModel | None = field(
        "the person who owns the deal, as the CRM names them", INTERNAL, default=None
    )
    owner_id: UUID | None = field(
        "the deal owner's resource id, once the hub knows them (a link)", INTERNAL, default=None
    )


class RetainerRecord(BaseModel):
    """What a retainer buys each period."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    period: str = field("monthly, quarterly or annual")
    fee: MoneyModel = field("the fee per period")
    included_hours: Decimal = field("hours included each period")
    rollover_rule: str = field("expire, roll_over or roll_over_capped")
    overage_rate: MoneyModel = field("hourly rate beyond the included hours")
    rollover_cap_hours: Decimal | None = field("most hours rolled over", default=None)


class PlannedMilestoneRecord(BaseModel):
    """One milestone of a contract's plan."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    milestone_id: UUID = field("the milestone's id")
    amount: MoneyModel = field("what it bills")


class ContractRecord(RecordModel):
    """The terms of one engagement line."""

    engagement_id: UUID = field("the engagement's id")
    client_id: UUID | None = field("the client's id; null while not known", default=None)
    name: str = field("its name", default="")
    type: str = field("time_and_materials, capped_time_and_materials, fixed_fee or retainer")
    status: str = field("draft, signed, active, closed or terminated")
    currency: str = field("ISO 4217 currency, fixed once signed")
    value: MoneyModel | None = field("the contract value (fixed fee)", INTERNAL, default=None)
    cap: MoneyModel | None = field("the not-to-exceed cap", INTERNAL, default=None)
    retainer: RetainerRecord | None = field("retainer terms", CONFIDENTIAL, default=None)
    milestones: list[PlannedMilestoneRecord] = field(
        "the milestone plan", INTERNAL, default_factory=list
    )
    payment_terms_days: int = field("days from invoice to due date")
    tax_treatment: str = field("standard, reverse_charge, exempt, zero_rated or out_of_scope")
    billing_schedule: str = field("monthly, milestones, on_completion or in_advance")
    start_date: date | None = field("first day it covers", default=None)
    end_date: date | None = field("last day it covers", default=None)
    signed_on: date | None = field("when it was signed", default=None)
    signed_by: str = field("who signed it", PII, default="")
    change_orders: list[str] = field(
        "references of the change orders that amended it", default_factory=list
    )


class ResourceRecord(RecordModel):
    """A person who delivers work."""

    name: str = field("the person's name", PII, default="")
    email: str = field("e-mail address", PII, default="")
    phone: str = field("phone number", PII, default="")
    role: str = field("role, as rate cards name it")
    department: str = field("department or practice", default="")
    legal_entity: str = field("the firm's legal entity that employs the person", default="")
    employment_type: str | None = field("employee or contractor", INTERNAL, default=None)
    status: str = field("active or inactive")
    home_region: str = field("the firm's region the person belongs to", default="")
    time_zone: str = field("IANA time zone work dates are in")
    weekly_capacity_hours: Decimal | None = field("hours a week", INTERNAL, default=None)
    cost_rate: MoneyModel | None = field("hourly cost rate", CONFIDENTIAL, default=None)
    default_bill_rate: MoneyModel | None = field(
        "default hourly bill rate", CONFIDENTIAL, default=None
    )
