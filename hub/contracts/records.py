"""Golden records as served over HTTP, with the classification of every field
(hub/contracts/record_base.py says how a classification decides who sees a field)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts.billing_records import InvoiceRecord
from hub.contracts.common import MoneyModel
from hub.contracts.knowledge_records import KnowledgeAssetRecord
from hub.contracts.record_base import (
    CONFIDENTIAL,
    INTERNAL,
    PII,
    Classification,
    PendingLinkRecord,
    RecordModel,
    classified,
    described,
)
from hub.contracts.work_records import ExpenseRecord, MilestoneRecord, TimeEntryRecord

__all__ = [
    "CONFIDENTIAL",
    "INTERNAL",
    "PII",
    "RECORD_MODELS",
    "Classification",
    "ExpenseRecord",
    "InvoiceRecord",
    "KnowledgeAssetRecord",
    "MilestoneRecord",
    "PendingLinkRecord",
    "RecordModel",
    "TimeEntryRecord",
    "classification_of",
    "classified",
]


class ContactRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    name: str
    email: str = ""
    phone: str = ""
    role: str = ""


class ClientRecord(RecordModel):
    """A client of the firm."""

    legal_name: str
    country: Annotated[str, Field(description="ISO 3166-1 alpha-2")]
    tax_id: str = classified(INTERNAL, default="")
    billing_currency: str
    status: str
    contacts: list[ContactRecord] = classified(PII, default_factory=list)


class EngagementRecord(RecordModel):
    """An engagement (project) for one client."""

    client_id: UUID | None = None
    code: str
    name: str
    service_line: str = ""
    region: str = ""
    legal_entity: str = ""
    status: str
    start_date: date | None = None
    end_date: date | None = None
    currency: str
    budget: MoneyModel | None = classified(INTERNAL, default=None)
    manager_id: UUID | None = None


class RetainerRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    period: str
    fee: MoneyModel
    included_hours: Decimal
    rollover_rule: str
    overage_rate: MoneyModel
    rollover_cap_hours: Decimal | None = None


class PlannedMilestoneRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    milestone_id: UUID
    amount: MoneyModel


class ContractRecord(RecordModel):
    """The terms of one engagement line."""

    engagement_id: UUID
    client_id: UUID | None = None
    name: str = ""
    type: str
    status: str
    currency: str
    value: MoneyModel | None = classified(INTERNAL, default=None)
    cap: MoneyModel | None = classified(INTERNAL, default=None)
    retainer: RetainerRecord | None = classified(CONFIDENTIAL, default=None)
    milestones: list[PlannedMilestoneRecord] = classified(INTERNAL, default_factory=list)
    payment_terms_days: int
    tax_treatment: str
    billing_schedule: str
    start_date: date | None = None
    end_date: date | None = None
    signed_on: date | None = None
    signed_by: str = classified(PII, default="")
    change_orders: list[str] = Field(default_factory=list)


class PeriodRecord(BaseModel):
    """A half-open range of dates [start, end); end null means open-ended."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    start: date = Field(description="The first date, inclusive.")
    end: date | None = Field(default=None, description="The end date, exclusive; null: open.")


class RateLineRecord(BaseModel):
    """One effective-dated rate of one tier and scope."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    tier: str = Field(
        description="Its precedence tier, most specific first: resource_engagement, "
        "role_engagement, task_engagement, resource_client, role_client, role_default, "
        "resource_default."
    )
    currency: str = Field(description="The bill rate's ISO 4217 currency.")
    bill_rate: MoneyModel = Field(description="The hourly bill rate.")
    cost_rate: MoneyModel | None = Field(
        default=None, description="The firm's hourly cost, in its own currency."
    )
    period: PeriodRecord = Field(description="When it applies: [start, end) on the work date.")
    role: str = Field(default="", description="The role it prices (role tiers).")
    resource_id: UUID | None = Field(default=None, description="The person it prices.")
    engagement_id: UUID | None = Field(default=None, description="The engagement it is for.")
    client_id: UUID | None = Field(default=None, description="The client it is for.")
    task: str = Field(default="", description="The task it prices (task tier).")
    source_id: str = Field(default="", description="The source's own id of the rate.")


class RateCardRecord(RecordModel):
    """Effective-dated bill and cost rates, most specific tier first."""

    name: str = Field(description="The card's name.")
    lines: list[RateLineRecord] = classified(
        CONFIDENTIAL,
        default_factory=list,
        description="Its rate lines; two lines of one tier and scope never overlap in time.",
    )
    currency_assumed: bool | None = described(
        "True when the rates' currency is the configured default because the source's rates "
        "carry none (Harvest); null when the source did not say."
    )


class ResourceRecord(RecordModel):
    """A person who delivers work."""

    name: str = classified(PII, default="")
    email: str = classified(PII, default="")
    role: str
    status: str
    home_region: str = ""
    time_zone: str
    cost_rate: MoneyModel | None = classified(CONFIDENTIAL, default=None)


RECORD_MODELS: dict[str, type[RecordModel]] = {
    "client": ClientRecord,
    "engagement": EngagementRecord,
    "contract": ContractRecord,
    "rate_card": RateCardRecord,
    "resource": ResourceRecord,
    "time_entry": TimeEntryRecord,
    "expense": ExpenseRecord,
    "milestone": MilestoneRecord,
    "invoice": InvoiceRecord,
    "knowledge_asset": KnowledgeAssetRecord,
}


def classification_of(model: type[BaseModel]) -> dict[str, Classification]:
    """Returns each field's classification (public unless the field says otherwise)."""
    result = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        result[name] = Classification(extra.get("x-classification", "public"))
    return result
