"""Engagement: a piece of client work, from pipeline through delivery to financial close."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import check_dates, check_required_text, coerce_enum, optional_text
from domain.errors import InvalidTransitionError, NegativeQuantityError, RuleViolationError
from domain.values import Money, SourceRef, check_currency, to_decimal


class EngagementStatus(StrEnum):
    PIPELINE = "pipeline"
    WON = "won"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    CLOSED = "closed"
    LOST = "lost"


class CanonicalStage(StrEnum):
    """Where a deal stands, whatever the source calls its stages (hub/ingest/rules.py maps)."""

    LEAD = "lead"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    COMMIT = "commit"
    WON = "won"
    LOST = "lost"


class CommercialModel(StrEnum):
    """How the engagement is billed, as its source says (the contract lines hold the terms)."""

    TIME_AND_MATERIALS = "time_and_materials"
    CAPPED_TIME_AND_MATERIALS = "capped_time_and_materials"
    FIXED_FEE = "fixed_fee"
    RETAINER = "retainer"
    NON_BILLABLE = "non_billable"


_S = EngagementStatus

# Descriptive attributes (CanonicalAggregate.DETAILS), by kind.
_TEXT = (
    "stage",
    "forecast_category",
    "engagement_type",
    "lead_source",
    "billing_method",
    "budget_by",
    "health",
    "analytic_account",
)
_MONEY = ("amount", "expected_revenue", "estimated_cost", "fee", "hourly_rate")
_PERCENT = ("probability", "percent_complete")
_ENUMS: dict[str, type[StrEnum]] = {
    "canonical_stage": CanonicalStage,
    "contract_type": CommercialModel,
}
ENGAGEMENT_DETAILS: dict[str, Any] = {
    **dict.fromkeys(_TEXT, ""),
    **dict.fromkeys(_MONEY),
    **dict.fromkeys(_PERCENT),
    **dict.fromkeys(_ENUMS),
    "budget_hours": None,
    "expected_close_date": None,
    "calculated_end_date": None,
    "won_at": None,
    "lost_at": None,
    "owner_ref": None,  # a link kept as the source names it
    "owner_id": None,  # the resource it resolves to, once known
}


def check_engagement_details(details: dict[str, Any]) -> dict[str, Any]:
    """Normalises descriptive attributes; enums are kept as their string values."""
    checked = dict(details)
    for name, value in details.items():
        if name in _TEXT:
            if value is not None and not isinstance(value, str):
                raise RuleViolationError(f"{name} must be text", rule="text", field=name)
            checked[name] = optional_text(value)
        elif value is None:
            continue
        elif name in _MONEY:
            if not isinstance(value, Money):
                raise RuleViolationError(f"{name} must be money", rule="money", field=name)
        elif name in _PERCENT or name == "budget_hours":
            checked[name] = _check_quantity(name, value)
        elif name in _ENUMS:
            checked[name] = coerce_enum(_ENUMS[name], value, name).value
        elif name in ("expected_close_date", "calculated_end_date"):
            if isinstance(value, datetime) or not isinstance(value, date):
                raise RuleViolationError(f"{name} must be a date", rule="calendar_date", field=name)
        elif name in ("won_at", "lost_at"):
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise RuleViolationError(f"{name} must be an instant", rule="instant", field=name)
        elif name == "owner_ref" and not isinstance(value, SourceRef):
            raise RuleViolationError(f"{name} must be a source reference", rule="xref", field=name)
        elif name == "owner_id" and not isinstance(value, UUID):
            raise RuleViolationError(f"{name} must be a canonical id", rule="id", field=name)
    return checked


def _check_quantity(name: str, value: Any) -> Decimal:
    number = to_decimal(value, field=name)
    if number < 0:
        raise NegativeQuantityError(f"{name} must not be negative", field=name)
    if name in _PERCENT and number > 100:
        raise RuleViolationError(f"{name} is a percentage (0-100)", rule="percentage", field=name)
    return number


# The lifecycle of DOMAIN.md 3.2 in the states CONTRACT.md names: lost and closed are terminal,
# and closed leaves only through an explicit reopening.
TRANSITIONS: dict[str, set[EngagementStatus]] = {
    "win": {_S.PIPELINE},
    "lose": {_S.PIPELINE},
    "activate": {_S.WON},
    "put_on_hold": {_S.ACTIVE},
    "resume": {_S.ON_HOLD},
    "close": {_S.WON, _S.ACTIVE, _S.ON_HOLD},
    "reopen": {_S.CLOSED},
}


def check_budget(budget: Money | None, currency: str) -> None:
    if budget is None:
        return
    budget.check_not_negative("budget")
    if budget.currency != currency:
        raise RuleViolationError(
            f"budget currency {budget.currency} differs from engagement currency {currency}",
            rule="currency_mismatch",
            field="budget.currency",
        )


class Engagement(CanonicalAggregate):
    """An engagement (project) for one client, invoiced by one legal entity in one currency."""

    ENTITY = "engagement"
    DETAILS = ENGAGEMENT_DETAILS
    REVISABLE = frozenset(
        {
            "name",
            "service_line",
            "region",
            "legal_entity",
            "start_date",
            "end_date",
            "currency",
            "budget",
            "manager_id",
            # Only while it is unknown (None): the client of an engagement never changes.
            "client_id",
        }
    ) | frozenset(DETAILS)

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        client_id: UUID | None,
        code: str,
        name: str,
        currency: str,
        service_line: str = "",
        region: str = "",
        legal_entity: str = "",
        start_date: date | None = None,
        end_date: date | None = None,
        budget: Money | None = None,
        manager_id: UUID | None = None,
        status: EngagementStatus = EngagementStatus.PIPELINE,
        xrefs: list[SourceRef] | tuple[SourceRef, ...] = (),
        details: dict[str, Any] | None = None,
    ) -> Engagement:
        """Creates an engagement after checking its attributes (the client is checked by the
        application, which knows it; None while the source's customer is not known yet)."""
        check_currency(currency)
        check_dates(start_date, end_date)
        check_budget(budget, currency)
        if status not in (_S.PIPELINE, _S.WON, _S.ACTIVE):
            raise RuleViolationError(
                f"a new engagement starts as pipeline, won or active, not {status}",
                rule="initial_status",
                field="status",
            )
        return cls(
            id=id,
            client_id=client_id,
            code=check_required_text(code, "code"),
            name=check_required_text(name, "name"),
            currency=currency,
            service_line=service_line,
            region=region,
            legal_entity=legal_entity,
            start_date=start_date,
            end_date=end_date,
            budget=budget,
            manager_id=manager_id,
            status=EngagementStatus(status),
            xrefs=list(xrefs),
            details=cls.check_details(check_engagement_details(details or {})),
        )

    @event("Created")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        client_id: UUID | None,
        code: str,
        name: str,
        currency: str,
        service_line: str,
        region: str,
        legal_entity: str,
        start_date: date | None,
        end_date: date | None,
        budget: Money | None,
        manager_id: UUID | None,
        status: str,
        xrefs: list[SourceRef],
        details: dict[str, Any] | None = None,  # absent from events stored before it existed
    ) -> None:
        self._init_canonical(xrefs, details)
        self.client_id = client_id
        self.code = code
        self.name = name
        self.currency = currency
        self.service_line = service_line
        self.region = region
        self.legal_entity = legal_entity
        self.start_date = start_date
        self.end_date = end_date
        self.budget = budget
        self.manager_id = manager_id
        self.status = EngagementStatus(status)
        self.closed_on: date | None = None

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        changes = check_engagement_details(changes)
        # A closed or lost engagement keeps its terms; what describes it may still change
        # (a lost deal's stage or probability, a closed project's percent complete).
        governed = [k for k in changes if k not in self.DETAILS and getattr(self, k) != changes[k]]
        if self.status in (_S.CLOSED, _S.LOST) and governed:
            raise InvalidTransitionError("engagement", self.status, "be revised")
        if changes.get("client_id", self.client_id) != self.client_id and self.client_id:
            raise RuleViolationError(
                "an engagement cannot move to another client", rule="client_fixed", field="client"
            )
        for field in ("name",):
            if field in changes:
                changes[field] = check_required_text(changes[field], field)
        currency = changes.get("currency", self.currency)
        if "currency" in changes and currency != self.currency:
            check_currency(currency)
            # Once won, time is priced and invoiced in this currency: it is fixed.
            if self.status != _S.PIPELINE:
                raise RuleViolationError(
                    "the engagement currency is fixed once the engagement is won",
                    rule="currency_fixed",
                    field="currency",
                )
        check_dates(
            changes.get("start_date", self.start_date), changes.get("end_date", self.end_date)
        )
        check_budget(changes.get("budget", self.budget), currency)
        return changes

    def _check_transition(self, action: str) -> None:
        self.check_not_deleted(action.replace("_", " "))
        if self.status not in TRANSITIONS[action]:
            raise InvalidTransitionError("engagement", self.status, action.replace("_", " "))

    def win(self) -> None:
        self._check_transition("win")
        self._won()

    @event("Won")
    def _won(self) -> None:
        self.status = _S.WON

    def lose(self, reason: str = "") -> None:
        self._check_transition("lose")
        self._lost(reason=reason)

    @event("Lost")
    def _lost(self, reason: str) -> None:
        self.status = _S.LOST

    def activate(self) -> None:
        """Starts delivery (first approved time, or the project start)."""
        self._check_transition("activate")
        self._activated()

    @event("Activated")
    def _activated(self) -> None:
        self.status = _S.ACTIVE

    def put_on_hold(self, reason: str = "") -> None:
        self._check_transition("put_on_hold")
        self._put_on_hold(reason=reason)

    @event("PutOnHold")
    def _put_on_hold(self, reason: str) -> None:
        self.status = _S.ON_HOLD

    def resume(self) -> None:
        self._check_transition("resume")
        self._resumed()

    @event("Resumed")
    def _resumed(self) -> None:
        self.status = _S.ACTIVE

    def close(self, closed_on: date) -> None:
        """Closes the engagement financially."""
        self._check_transition("close")
        self._closed(closed_on=closed_on)

    @event("Closed")
    def _closed(self, closed_on: date) -> None:
        self.status = _S.CLOSED
        self.closed_on = closed_on

    def reopen(self, reason: str) -> None:
        self._check_transition("reopen")
        self._reopened(reason=check_required_text(reason, "reason"))

    @event("Reopened")
    def _reopened(self, reason: str) -> None:
        self.status = _S.ACTIVE
        self.closed_on = None

    def check_accepts_work(self, work_date: date | None = None) -> None:
        """Raises unless time, expenses and milestones may be recorded against it."""
        self.check_not_deleted("accept work")
        if self.status in (_S.CLOSED, _S.LOST):
            raise RuleViolationError(
                f"engagement {self.code} is {self.status} and accepts no work",
                rule="engagement_open",
                field="engagement_id",
            )

    def advance_to(self, target: EngagementStatus, *, on: date) -> list[str]:
        """Walks the lifecycle to a status a source reports; returns the actions taken."""
        paths: dict[tuple[EngagementStatus, EngagementStatus], list[str]] = {
            (_S.PIPELINE, _S.WON): ["win"],
            (_S.PIPELINE, _S.ACTIVE): ["win", "activate"],
            (_S.PIPELINE, _S.LOST): ["lose"],
            (_S.PIPELINE, _S.CLOSED): ["win", "close"],
            # A PSA or ERP reports a project archived before the hub saw it won.
            (_S.PIPELINE, _S.ON_HOLD): ["win", "activate", "put_on_hold"],
            (_S.WON, _S.ACTIVE): ["activate"],
            (_S.WON, _S.ON_HOLD): ["activate", "put_on_hold"],
            (_S.WON, _S.CLOSED): ["close"],
            (_S.ACTIVE, _S.ON_HOLD): ["put_on_hold"],
            (_S.ACTIVE, _S.CLOSED): ["close"],
            (_S.ON_HOLD, _S.ACTIVE): ["resume"],
            (_S.ON_HOLD, _S.CLOSED): ["close"],
            (_S.CLOSED, _S.ACTIVE): ["reopen"],
        }
        target = coerce_enum(EngagementStatus, target, "status")
        if target == self.status:
            return []
        actions = paths.get((self.status, target))
        if actions is None:
            raise InvalidTransitionError("engagement", self.status, f"become {target}")
        for action in actions:
            if action == "close":
                self.close(on)
            elif action == "reopen":
                self.reopen("reopened at source")
            else:
                getattr(self, action)()
        return actions
