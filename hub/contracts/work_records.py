"""Golden records of delivered work: time entries, expenses and milestones."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from hub.contracts.common import MoneyModel, XrefModel
from hub.contracts.record_base import CONFIDENTIAL, INTERNAL, PII, RecordModel, described

APPROVAL = "draft, submitted, approved, rejected, billed or locked (DOMAIN 3.4)."


class ExternalReferenceRecord(BaseModel):
    """An item in another tool that time was tracked against."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str = described("The item's id in that tool.")
    service: str = described("The tool (a Harvest integration's service name).", default="")
    group_id: str = described("The item's group (a project) in that tool.", default="")
    permalink: str = described("A link to the item.", default="")


class TimeEntryRecord(RecordModel):
    """Hours worked by one resource on one engagement on one work date."""

    engagement_id: UUID = described("The engagement worked on.")
    resource_id: UUID = described("The person who worked.")
    work_date: date = described("The calendar date worked, in the person's time zone.")
    hours: Decimal = described("Hours recorded.")
    billable: bool = described("Whether the hours are billable.")
    billing_hours: Decimal | None = described(
        "Hours an invoice uses where the source rounds them (Harvest rounded_hours).",
        default=None,
    )
    notes: str = described("The person's notes.", INTERNAL, default="")
    task: str = described("The task's name.", default="")
    task_ref: XrefModel | None = described("The task as a source record.", default=None)
    status: str = described(APPROVAL)
    is_running: bool = described("A running timer: provisional until it stops.", default=False)
    source_rate: MoneyModel | None = described(
        "The source's bill rate at entry time (Harvest billable_rate).", CONFIDENTIAL, default=None
    )
    cost_rate: MoneyModel | None = described(
        "The firm's cost per hour, in its home currency (Harvest cost_rate).",
        CONFIDENTIAL,
        default=None,
    )
    cost: MoneyModel | None = described(
        "The entry's cost as the source computed it (Odoo timesheet amount).",
        CONFIDENTIAL,
        default=None,
    )
    approved_by: str = described("Who approved it.", PII, default="")
    rejection_reason: str = described("Why it was last rejected.", default="")
    invoice_id: UUID | None = described("The invoice that billed it.", default=None)
    credit_note_required: bool = described(
        "A billed entry was corrected: its invoice needs a credit note.", default=False
    )
    hours_without_timer: Decimal | None = described(
        "Hours entered by hand rather than timed.", default=None
    )
    started_time: str | None = described("Time of day work started (HH:MM).", default=None)
    ended_time: str | None = described("Time of day work ended (HH:MM).", default=None)
    timer_started_at: datetime | None = described("When a running timer started.", default=None)
    is_locked: bool | None = described(
        "Locked at the source (approved or invoiced there).", default=None
    )
    locked_reason: str | None = described("Why the source locked it.", default=None)
    external_reference: ExternalReferenceRecord | None = described(
        "The item in another tool the time was tracked against.", default=None
    )
    budgeted: bool | None = described("Whether the hours count against a budget.", default=None)


class ReceiptRecord(BaseModel):
    """The receipt of an expense."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    uri: str = described("Where the receipt file is.")
    file_name: str = described("The file's name.", default="")
    content_type: str = described("The file's media type (MIME).", default="")


class ExpenseRecord(RecordModel):
    """Money spent on an engagement, in the transaction currency."""

    engagement_id: UUID = described("The engagement charged.")
    resource_id: UUID = described("The person who spent it.")
    spent_date: date = described("The date spent.")
    amount: MoneyModel = described("The amount, in the receipt's currency.")
    category: str = described("The expense category.")
    billable: bool = described("Whether it is rebilled to the client.")
    reimbursable: bool = described("Whether the person is paid back.")
    units: Decimal | None = described("Units claimed (miles, nights).", default=None)
    unit_price: MoneyModel | None = described("The price of one unit.", default=None)
    unit_name: str | None = described("What a unit is (mile, night).", default=None)
    receipt: ReceiptRecord | None = described("The receipt file.", default=None)
    receipt_size_bytes: int | None = described("The receipt file's size in bytes.", default=None)
    notes: str = described("Notes.", INTERNAL, default="")
    status: str = described(APPROVAL)
    approved_by: str = described("Who approved it.", PII, default="")
    invoice_id: UUID | None = described("The invoice that billed it.", default=None)
    reimbursed_on: date | None = described("When the person was paid back.", default=None)
    credit_note_required: bool = described(
        "A billed expense was corrected: its invoice needs a credit note.", default=False
    )
    is_locked: bool | None = described("Locked at the source.", default=None)
    locked_reason: str | None = described("Why the source locked it.", default=None)


class MilestoneRecord(RecordModel):
    """A fixed-fee billing milestone."""

    contract_id: UUID = described("The contract whose value it bills part of.")
    engagement_id: UUID = described("The engagement.")
    name: str = described("The milestone's name.")
    amount: MoneyModel = described("The amount billed once it is accepted.")
    start_date: date | None = described("When work on it starts.", default=None)
    due_date: date | None = described("The deadline.", default=None)
    status: str = described("planned, delivered, accepted, billing_ready or billed.")
    source_status: str | None = described("The status as the source names it.", default=None)
    prerequisites: list[UUID] = described(
        "Milestones to be accepted before this one is billed.", default_factory=list
    )
    delivered_on: date | None = described("When it was delivered for acceptance.", default=None)
    accepted_on: date | None = described("When the client accepted it.", default=None)
    accepted_by: str = described("Who signed the acceptance.", PII, default="")
    dispute: str = described("An open dispute, blocking billing.", default="")
    invoice_id: UUID | None = described("The invoice that billed it.", default=None)
    share: Decimal | None = described(
        "The fraction of its sale order line it bills (Odoo quantity_percentage).", default=None
    )
    sale_line: XrefModel | None = described("The sale order line it bills (Odoo).", default=None)
