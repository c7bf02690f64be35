"""Golden records as served over HTTP, with the classification of every field.

A field's classification decides who may see it: `confidential` needs the read:confidential
scope, `pii` needs read:pii; `public` and `internal` need only read. Fields a token may not
see are left out, never nulled.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts.common import MoneyModel, XrefModel


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PII = "pii"


def classified(level: Classification, **kwargs: Any) -> Any:
    """A Field whose JSON Schema carries x-classification."""
    return Field(json_schema_extra={"x-classification": level.value}, **kwargs)


PII = Classification.PII
CONFIDENTIAL = Classification.CONFIDENTIAL
INTERNAL = Classification.INTERNAL


class PendingLinkRecord(BaseModel):
    """A reference to a record the hub does not know yet, kept as the source named it."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    field: str = Field(description="the field it sets once the record is known (client_id)")
    entity: str = Field(description="the entity it names (client, engagement, invoice, ...)")
    ref: XrefModel = Field(description="the source record it names: system, tenant, type, id")


class RecordModel(BaseModel):
    """What every golden record has: id, version, last update, cross-references."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: UUID = Field(description="the canonical id, minted by the hub")
    version: int = Field(description="the record's version: the number of its events")
    updated_at: datetime = Field(description="when the hub last recorded a change (UTC)")
    xrefs: list[XrefModel] = Field(description="the source records this record is, per system")
    deleted: bool = Field(default=False, description="deleted at its source (a tombstone)")
    pending_links: list[PendingLinkRecord] = Field(
        default_factory=list,
        description="references to records not known yet; each resolves, with an event, "
        "when its record becomes known (by xref, matching or a steward's map-xref)",
    )


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

    start: date
    end: date | None = None


class RateLineRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    tier: str
    currency: str
    bill_rate: MoneyModel
    cost_rate: MoneyModel | None = None
    period: PeriodRecord
    role: str = ""
    resource_id: UUID | None = None
    engagement_id: UUID | None = None
    client_id: UUID | None = None
    task: str = ""


class RateCardRecord(RecordModel):
    """Effective-dated bill and cost rates, most specific tier first."""

    name: str
    lines: list[RateLineRecord] = classified(CONFIDENTIAL, default_factory=list)


class ResourceRecord(RecordModel):
    """A person who delivers work."""

    name: str = classified(PII, default="")
    email: str = classified(PII, default="")
    role: str
    status: str
    home_region: str = ""
    time_zone: str
    cost_rate: MoneyModel | None = classified(CONFIDENTIAL, default=None)


class TimeEntryRecord(RecordModel):
    """Hours worked by one resource on one engagement on one work date."""

    engagement_id: UUID
    resource_id: UUID
    work_date: date
    hours: Decimal
    billable: bool
    billing_hours: Decimal | None = None
    notes: str = classified(INTERNAL, default="")
    task: str = ""
    status: str
    is_running: bool = False
    source_rate: MoneyModel | None = classified(CONFIDENTIAL, default=None)
    approved_by: str = classified(PII, default="")
    rejection_reason: str = ""
    invoice_id: UUID | None = None
    credit_note_required: bool = False


class ReceiptRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    uri: str
    file_name: str = ""
    content_type: str = ""


class ExpenseRecord(RecordModel):
    """Money spent on an engagement, in the transaction currency."""

    engagement_id: UUID
    resource_id: UUID
    spent_date: date
    amount: MoneyModel
    category: str
    billable: bool
    reimbursable: bool
    receipt: ReceiptRecord | None = None
    notes: str = classified(INTERNAL, default="")
    status: str
    approved_by: str = classified(PII, default="")
    invoice_id: UUID | None = None
    reimbursed_on: date | None = None
    credit_note_required: bool = False


class MilestoneRecord(RecordModel):
    """A fixed-fee billing milestone."""

    contract_id: UUID
    engagement_id: UUID
    name: str
    amount: MoneyModel
    due_date: date | None = None
    status: str
    prerequisites: list[UUID] = Field(default_factory=list)
    delivered_on: date | None = None
    accepted_on: date | None = None
    accepted_by: str = classified(PII, default="")
    dispute: str = ""
    invoice_id: UUID | None = None


class InvoiceLineRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    net: MoneyModel
    tax: MoneyModel
    source_amounts: bool = False
    time_entry_ids: list[UUID] = Field(default_factory=list)
    expense_ids: list[UUID] = Field(default_factory=list)
    milestone_id: UUID | None = None


class PaymentRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    amount: MoneyModel
    paid_on: date
    reference: str = ""


class InvoiceRecord(RecordModel):
    """An invoice, or a credit note (kind credit_note) against one."""

    kind: str
    client_id: UUID | None = None
    engagement_id: UUID | None = None
    number: str | None = None
    currency: str
    status: str
    issue_date: date | None = None
    due_date: date | None = None
    lines: list[InvoiceLineRecord] = Field(default_factory=list)
    subtotal: MoneyModel
    tax_total: MoneyModel
    total: MoneyModel
    open_balance: MoneyModel
    payments: list[PaymentRecord] = Field(default_factory=list)
    customer_credit: MoneyModel | None = None
    original_invoice_id: UUID | None = None
    void_reason: str = ""


class KnowledgeAssetRecord(RecordModel):
    """A deliverable, document or page in the firm's knowledge systems."""

    title: str
    kind: str
    uri: str
    classification: str
    status: str
    client_id: UUID | None = None
    engagement_id: UUID | None = None
    service_line: str = ""


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
