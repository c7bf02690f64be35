"""Golden records as served over HTTP, with the classification of every field, by entity.

Clients, engagements, contracts and resources are in hub/contracts/commercial_records.py;
invoices in billing_records.py; time entries, expenses and milestones in work_records.py;
knowledge assets in knowledge_records.py; what every record shares (classification, id,
version, xrefs) in record_base.py.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts.billing_records import InvoiceRecord
from hub.contracts.commercial_records import (
    ClientRecord,
    ContractRecord,
    EngagementRecord,
    ResourceRecord,
)
from hub.contracts.common import MoneyModel
from hub.contracts.knowledge_records import KnowledgeAssetRecord
from hub.contracts.record_base import (
    CONFIDENTIAL,
    INTERNAL,
    PII,
    Classification,
    PendingLinkRecord,
    RecordModel,
    classification_of,
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
    "PendingLinkRecord",
    "RecordModel",
    "classification_of",
    "classified",
]


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
