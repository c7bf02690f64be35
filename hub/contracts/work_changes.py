"""Canonical changes of delivered work: time entries, expenses and milestones.

Fact fields (what a record is valued on: dates, quantities, rates) of an approved, billed or
locked entry change only by reversal plus a new fact; descriptive fields are revised in place.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from hub.contracts.canonical import (
    CLEARS,
    REQUIRED,
    CanonicalModel,
    Count,
    Quantity,
    Ref,
    ShortText,
    SourceId,
    SourceKey,
    Text,
)
from hub.contracts.common import NonNegativeAmount

ApprovalState = Literal["draft", "submitted", "approved", "rejected", "billed", "locked"]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["15:00"])]
FACT = "A fact field: on an approved entry a change is a reversal plus a new fact."
DESCRIPTIVE = "Descriptive: revised in place in any state. " + CLEARS
KEPT = "Null keeps the current value."


def _d(text: str) -> object:
    return Field(default=None, description=text)


class ExternalReferenceData(CanonicalModel):
    """The item in another tool time was tracked against (Harvest `external_reference`)."""

    id: SourceId = Field(description="The item's id in that tool.")
    service: ShortText = Field(default="", description="The tool.")
    group_id: ShortText = Field(default="", description="The item's group in that tool.")
    permalink: Annotated[str, Field(max_length=2000)] = Field(
        default="", description="A link to the item."
    )


class TimeEntryChange(CanonicalModel):
    """Hours one person worked on one calendar date (hours as a decimal string)."""

    id: SourceId = Field(description="The record's id in its source system.")
    engagement: Ref | None = _d("The engagement (project) worked on. " + REQUIRED)
    resource: Ref | None = _d("The person who worked. " + REQUIRED)
    work_date: date | None = _d("The calendar date worked, in the person's zone. " + REQUIRED)
    hours: Quantity | None = _d("Hours recorded (a decimal string). " + REQUIRED)
    billable: bool | None = _d(
        "Whether the hours are billable; true when a new entry leaves it out. " + KEPT
    )
    billing_hours: Quantity | None = _d(
        "The source's rounded billing quantity (Harvest rounded_hours). " + FACT
    )
    notes: Text | None = _d("The person's notes. " + FACT)
    task: ShortText | None = _d("The task's name (rates may be per task). " + FACT)
    billable_rate: NonNegativeAmount | None = _d(
        "The source's bill rate at entry time, kept as the entry's source rate. " + FACT
    )
    cost_rate: NonNegativeAmount | None = _d(
        "The firm's cost per hour (Harvest cost_rate), in its home currency. " + FACT
    )
    cost: NonNegativeAmount | None = _d(
        "The entry's cost as the source computed it (Odoo timesheet amount). " + FACT
    )
    status: ApprovalState | None = _d("Where it is in its approval.")
    is_running: bool | None = _d("A running timer: provisional until it stops.")
    invoice: Ref | None = _d("The invoice that billed it.")
    approved_by: ShortText | None = _d("Who approved it (PII).")
    hours_without_timer: Quantity | None = _d("Hours entered by hand, not timed. " + DESCRIPTIVE)
    started_time: ClockTime | None = _d("Time of day work started, HH:MM 24 h. " + DESCRIPTIVE)
    ended_time: ClockTime | None = _d("Time of day work ended, HH:MM 24 h. " + DESCRIPTIVE)
    timer_started_at: AwareDatetime | None = _d("When a running timer started. " + DESCRIPTIVE)
    is_locked: bool | None = _d("Locked at the source (approved or invoiced). " + DESCRIPTIVE)
    locked_reason: Text | None = _d("Why the source locked it. " + DESCRIPTIVE)
    external_reference: ExternalReferenceData | None = _d(
        "The item in another tool the time was tracked against. " + DESCRIPTIVE
    )
    task_ref: SourceKey | None = _d("The task as a source record. " + DESCRIPTIVE)
    budgeted: bool | None = _d("Whether the hours count against a budget. " + DESCRIPTIVE)


class ReceiptData(CanonicalModel):
    uri: Annotated[str, Field(min_length=1, max_length=2000, description="Where the file is.")]
    file_name: ShortText = Field(default="", description="The file's name.")
    content_type: ShortText = Field(default="", description="The file's media type (MIME).")
    file_size: Count | None = Field(default=None, description="The file's size in bytes.")


class ExpenseChange(CanonicalModel):
    """Money spent on an engagement, in the transaction currency."""

    id: SourceId = Field(description="The record's id in its source system.")
    engagement: Ref | None = _d("The engagement charged. " + REQUIRED)
    resource: Ref | None = _d("The person who spent it. " + REQUIRED)
    spent_date: date | None = _d("The date spent. " + REQUIRED)
    amount: NonNegativeAmount | None = _d("The amount in the receipt's currency. " + REQUIRED)
    category: ShortText | None = _d("The expense category. " + REQUIRED)
    billable: bool | None = _d("Whether it is rebilled; true when left out at creation. " + KEPT)
    reimbursable: bool | None = _d("Whether the person is paid back (default false). " + KEPT)
    receipt: ReceiptData | None = _d("The receipt file. " + FACT + " " + CLEARS)
    notes: Text | None = _d("Notes. " + FACT)
    units: Quantity | None = _d("Units claimed (miles, nights). " + FACT)
    unit_price: NonNegativeAmount | None = _d("Price per unit. " + FACT)
    unit_name: ShortText | None = _d("What a unit is (mile, night). " + DESCRIPTIVE)
    is_locked: bool | None = _d("Locked at the source. " + DESCRIPTIVE)
    locked_reason: Text | None = _d("Why the source locked it. " + DESCRIPTIVE)
    status: ApprovalState | None = _d("Where it is in its approval.")
    invoice: Ref | None = _d("The invoice that billed it.")


class MilestoneChange(CanonicalModel):
    """A fixed-fee billing milestone."""

    id: SourceId = Field(description="The record's id in its source system.")
    engagement: Ref | None = _d("The engagement. " + REQUIRED)
    contract: Ref | None = _d("The contract; the engagement's when left out.")
    name: Annotated[str, Field(min_length=1, max_length=500)] | None = _d("Name. " + REQUIRED)
    amount: NonNegativeAmount | None = _d("The amount billed on acceptance. " + REQUIRED)
    due_date: date | None = _d("The deadline. " + CLEARS)
    start_date: date | None = _d("When work on it starts. " + CLEARS)
    share: Annotated[Quantity, Field(le=1)] | None = _d(
        "The fraction of its sale order line it bills (Odoo quantity_percentage). " + CLEARS
    )
    sale_line: SourceKey | None = _d("The sale order line it bills (Odoo). " + CLEARS)
    source_status: ShortText | None = _d("The status as the source names it. " + CLEARS)
    status: Literal["planned", "delivered", "accepted", "billing_ready", "billed"] | None = _d(
        "Where it is in its life."
    )
    delivered_on: date | None = _d("When it was delivered (Odoo reached_date).")
    accepted_on: date | None = _d("When the client accepted it.")
    accepted_by: ShortText | None = _d("Who signed the acceptance (PII).")
    invoice: Ref | None = _d("The invoice that billed it.")
