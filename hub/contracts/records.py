"""Golden records as served over HTTP, with the classification of every field, by entity.

Clients, engagements, contracts and resources are in hub/contracts/commercial_records.py;
what every record shares (classification, id, version, xrefs) in record_base.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts.commercial_records import (
    ClientRecord,
    ContractRecord,
    EngagementRecord,
    ResourceRecord,
)
from hub.contracts.common import MoneyModel
from hub.contracts.record_base import (
    Classification,
    RecordModel,
    classification_of,
    classified,
)

__all__ = ["RECORD_MODELS", "Classification", "RecordModel", "classification_of", "classified"]


PII = Classification.PII
CONFIDENTIAL = Classification.CONFIDENTIAL
INTERNAL = Classification.INTERNAL


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
