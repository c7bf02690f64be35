"""Time entry: hours one person worked on one calendar date, approved and then billed."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.approval import ApprovableFact, ApprovalStatus, check_initial_status
from domain.checks import (
    Guard,
    check_calendar_date,
    check_detail_values,
    check_flag,
    check_id,
    check_instant,
    check_money,
    check_quantity,
    check_required_text,
    check_source_ref,
    check_text,
    of_type,
    optional_text,
)
from domain.errors import NegativeQuantityError, RuleViolationError
from domain.values import Money, SourceRef, check_hours, to_decimal


def check_entry_hours(hours: Decimal | int | str, *, is_running: bool) -> Decimal:
    """Returns hours in (0, 24]; a running timer may still show zero."""
    if is_running and to_decimal(hours, field="hours") == 0:
        return Decimal(0)
    return check_hours(hours)


def check_billing_hours(hours: Decimal | int | str | None) -> Decimal | None:
    """Returns the source's rounded billing quantity (e.g. Harvest rounded_hours), or None."""
    if hours is None:
        return None
    value = to_decimal(hours, field="billing_hours")
    if value < 0:
        raise NegativeQuantityError("billing hours must not be negative", field="billing_hours")
    return value


def check_source_rate(rate: Money | None) -> Money | None:
    if rate is not None:
        if not isinstance(rate, Money):
            raise RuleViolationError("source rate must be Money", rule="money", field="source_rate")
        rate.check_not_negative("source_rate")
    return rate


@dataclass(frozen=True, slots=True)
class ExternalReference:
    """The item in another tool the time was tracked against (Harvest `external_reference`)."""

    id: str
    service: str = ""
    group_id: str = ""
    permalink: str = ""

    def __post_init__(self) -> None:
        check_required_text(self.id, "external_reference.id")


_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def check_clock_time(value: object, field: str) -> str | None:
    """Returns a time of day as HH:MM (24 h), None allowed."""
    text = check_text(value, field)
    if text is not None and not _CLOCK.match(text):
        raise RuleViolationError(f"{field} {text!r} is not HH:MM", rule="clock_time", field=field)
    return text


# Descriptive attributes: how the hours were captured and what the source says about the
# entry, none of which changes what it is worth (hours, dates and rates are fact fields), so
# they are revised in place even on an approved, billed or locked entry.
_GUARDS: dict[str, Guard] = {
    "hours_without_timer": check_quantity,
    "started_time": check_clock_time,
    "ended_time": check_clock_time,
    "timer_started_at": check_instant,
    "is_locked": check_flag,
    "locked_reason": check_text,
    "external_reference": of_type(ExternalReference),
    "task_ref": check_source_ref,
    "budgeted": check_flag,
}


class TimeEntry(ApprovableFact):
    """Hours worked by one resource on one engagement on one work date."""

    ENTITY = "time_entry"
    DETAILS = dict.fromkeys(_GUARDS)
    DETAIL_GUARDS = _GUARDS
    REVISABLE = frozenset(
        {
            "engagement_id",
            "work_date",
            "hours",
            "billable",
            "billing_hours",
            "notes",
            "task",
            "source_rate",
            # Fact fields: the entry's cost is valued on them.
            "cost_rate",
            "cost",
        }
    ) | frozenset(DETAILS)
    LEARNT = frozenset({"cost_rate", "cost"})
    # Defaults for entries restored from snapshots taken before these fact fields existed.
    cost_rate = None
    cost = None

    @classmethod
    def record(
        cls,
        *,
        id: UUID,
        engagement_id: UUID,
        resource_id: UUID,
        work_date: date,
        hours: Decimal | int | str,
        billable: bool = True,
        billing_hours: Decimal | int | str | None = None,
        notes: str = "",
        task: str = "",
        source_rate: Money | None = None,
        is_running: bool = False,
        status: ApprovalStatus = ApprovalStatus.DRAFT,
        xrefs: Sequence[SourceRef] = (),
        cost_rate: Money | None = None,
        cost: Money | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> TimeEntry:
        """Records a time entry after checking it (hours in (0, 24], a calendar work date)."""
        status = check_initial_status(status)
        if is_running and status != ApprovalStatus.DRAFT:
            raise RuleViolationError(
                "a running timer is provisional and cannot be submitted or approved",
                rule="timer_running",
                field="is_running",
            )
        fact = check_time_fact(
            {
                "engagement_id": engagement_id,
                "work_date": work_date,
                "hours": hours,
                "billable": billable,
                "billing_hours": billing_hours,
                "notes": notes,
                "task": task,
                "source_rate": source_rate,
                "cost_rate": cost_rate,
                "cost": cost,
            },
            is_running=bool(is_running),
        )
        return cls(
            id=id,
            resource_id=check_id(resource_id, "resource_id"),
            is_running=bool(is_running),
            status=status,
            xrefs=list(xrefs),
            details=check_detail_values(cls.check_details(details), _GUARDS),
            **fact,
        )

    @event("Recorded")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        engagement_id: UUID,
        resource_id: UUID,
        work_date: date,
        hours: Decimal,
        billable: bool,
        billing_hours: Decimal | None,
        notes: str,
        task: str,
        source_rate: Money | None,
        is_running: bool,
        status: str,
        xrefs: list[SourceRef],
        # Absent from events recorded before they existed.
        cost_rate: Money | None = None,
        cost: Money | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self._init_canonical(xrefs, details)
        self._init_approval(status)
        self.engagement_id = engagement_id
        self.resource_id = resource_id
        self.work_date = work_date
        self.hours = hours
        self.billable = billable
        self.billing_hours = billing_hours
        self.notes = notes
        self.task = task
        self.source_rate = source_rate
        self.cost_rate = cost_rate
        self.cost = cost
        self.is_running = is_running
        self.reversal_reason = ""

    # Derived figures -------------------------------------------------------------------

    @property
    def billing_quantity(self) -> Decimal:
        """Hours an invoice uses: the rounded billing hours where the source gives them."""
        return self.hours if self.billing_hours is None else self.billing_hours

    @property
    def source_value(self) -> Money | None:
        """The billing quantity at the source's rate, rounded half-up; None without a rate."""
        return None if self.source_rate is None else self.source_rate.times(self.billing_quantity)

    @property
    def cost_value(self) -> Money | None:
        """The entry's cost: as the source gave it, else recorded hours at the cost rate."""
        if self.cost is not None:
            return self.cost
        return None if self.cost_rate is None else self.cost_rate.times(self.hours)

    # Facts -----------------------------------------------------------------------------

    def check_fact(self, fact: dict[str, Any]) -> dict[str, Any]:
        return check_time_fact(fact, is_running=self.is_running)

    def check_ready(self) -> None:
        if self.is_running:
            raise RuleViolationError(
                "a running timer is provisional; stop it first",
                rule="timer_running",
                field="is_running",
            )

    def stop_timer(self, hours: Decimal | int | str) -> None:
        """Stops a running timer at its final duration."""
        self.check_not_deleted("stop a timer")
        if not self.is_running:
            raise RuleViolationError(
                "the timer is not running", rule="timer_not_running", field="is_running"
            )
        self._timer_stopped(hours=check_hours(hours))

    @event("TimerStopped")
    def _timer_stopped(self, hours: Decimal) -> None:
        self.hours = hours
        self.is_running = False

    def _reverse(self, *, reason: str, credit_note_for: UUID | None) -> None:
        value, cost = self.source_value, self.cost_value
        self._reversed(
            reason=reason,
            engagement_id=self.engagement_id,
            work_date=self.work_date,
            hours=-self.hours,
            billing_hours=None if self.billing_hours is None else -self.billing_hours,
            value=None if value is None else -value,
            credit_note_for=credit_note_for,
            cost=None if cost is None else -cost,
        )

    @event("Reversed")
    def _reversed(
        self,
        *,
        reason: str,
        engagement_id: UUID,
        work_date: date,
        hours: Decimal,
        billing_hours: Decimal | None,
        value: Money | None,
        credit_note_for: UUID | None,
        cost: Money | None = None,
    ) -> None:
        # The negated quantities are for the projections; the entry's own state keeps the fact
        # until the Corrected (or Unapproved) event that follows.
        self.reversal_reason = reason
        self._apply_reversal(credit_note_for)

    def _correct(self, fact: dict[str, Any]) -> None:
        self._corrected(**fact)

    @event("Corrected")
    def _corrected(
        self,
        *,
        engagement_id: UUID,
        work_date: date,
        hours: Decimal,
        billable: bool,
        billing_hours: Decimal | None,
        notes: str,
        task: str,
        source_rate: Money | None,
        cost_rate: Money | None = None,
        cost: Money | None = None,
    ) -> None:
        self.engagement_id = engagement_id
        self.work_date = work_date
        self.hours = hours
        self.billable = billable
        self.billing_hours = billing_hours
        self.notes = notes
        self.task = task
        self.source_rate = source_rate
        self.cost_rate = cost_rate
        self.cost = cost


def check_time_fact(fact: dict[str, Any], *, is_running: bool) -> dict[str, Any]:
    """Returns the fact fields of a time entry normalised, or raises a DomainError."""
    if not isinstance(fact["billable"], bool):
        raise RuleViolationError("billable must be true or false", rule="boolean", field="billable")
    return {
        "engagement_id": check_id(fact["engagement_id"], "engagement_id"),
        "work_date": check_calendar_date(fact["work_date"], "work_date"),
        "hours": check_entry_hours(fact["hours"], is_running=is_running),
        "billable": fact["billable"],
        "billing_hours": check_billing_hours(fact["billing_hours"]),
        "notes": optional_text(fact["notes"]),
        "task": optional_text(fact["task"]),
        "source_rate": check_source_rate(fact["source_rate"]),
        # The firm's cost, in its own (home) currency, which may differ from the bill rate's.
        "cost_rate": check_money(fact.get("cost_rate"), "cost_rate"),
        "cost": check_money(fact.get("cost"), "cost"),
    }
