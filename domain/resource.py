"""Resource: a person who delivers work; name and e-mail are PII, the cost rate confidential."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import check_required_text, coerce_enum, optional_text
from domain.errors import NegativeQuantityError, RuleViolationError
from domain.values import Money, SourceRef, to_decimal

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ResourceStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class EmploymentType(StrEnum):
    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"


# Descriptive attributes (CanonicalAggregate.DETAILS); the phone is personal data and the
# default bill rate confidential, as the golden-record model classifies them.
RESOURCE_DETAILS: dict[str, Any] = {
    "phone": "",
    "department": "",
    # The firm's legal entity that employs the person: an ERP books the person to it (a
    # NetSuite employee's required subsidiary).
    "legal_entity": "",
    "employment_type": None,
    "weekly_capacity_hours": None,
    "default_bill_rate": None,
}


def check_resource_details(details: dict[str, Any]) -> dict[str, Any]:
    """Normalises descriptive attributes; the employment type is kept as its string value."""
    checked = dict(details)
    for name, value in details.items():
        if name in ("phone", "department", "legal_entity"):
            if value is not None and not isinstance(value, str):
                raise RuleViolationError(f"{name} must be text", rule="text", field=name)
            checked[name] = optional_text(value)
        elif value is None:
            continue
        elif name == "employment_type":
            checked[name] = coerce_enum(EmploymentType, value, name).value
        elif name == "weekly_capacity_hours":
            hours = to_decimal(value, field=name)
            if hours < 0:
                raise NegativeQuantityError(f"{name} must not be negative", field=name)
            checked[name] = hours
        elif name == "default_bill_rate":
            if not isinstance(value, Money):
                raise RuleViolationError(f"{name} must be money", rule="money", field=name)
            value.check_not_negative(name)
    return checked


def check_email(email: str) -> str:
    """Returns the e-mail address, or raises when it is not one."""
    if not isinstance(email, str) or not _EMAIL.match(email.strip()):
        raise RuleViolationError("not an e-mail address", rule="email", field="email")
    return email.strip()


def check_time_zone(name: str) -> str:
    """Returns an IANA time-zone name that the tz database knows, or raises."""
    if not isinstance(name, str) or not name.strip():
        raise RuleViolationError("time zone must not be empty", rule="time_zone", field="time_zone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleViolationError(
            f"'{name}' is not an IANA time zone", rule="time_zone", field="time_zone"
        ) from exc
    return name


def check_cost_rate(cost_rate: Money | None) -> Money | None:
    if cost_rate is not None:
        if not isinstance(cost_rate, Money):
            raise RuleViolationError("cost rate must be Money", rule="money", field="cost_rate")
        cost_rate.check_not_negative("cost_rate")
    return cost_rate


class Resource(CanonicalAggregate):
    """A person in the firm whose time is recorded and priced.

    `name` and `email` are personal data and `cost_rate` is confidential: the golden-record
    models classify them, so the API shows them only to callers with the matching scope.
    """

    ENTITY = "resource"
    DETAILS = RESOURCE_DETAILS
    REVISABLE = frozenset(
        {"name", "email", "role", "cost_rate", "home_region", "time_zone"}
    ) | frozenset(DETAILS)

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        name: str,
        email: str,
        role: str,
        time_zone: str,
        cost_rate: Money | None = None,
        home_region: str = "",
        xrefs: Sequence[SourceRef] = (),
        details: dict[str, Any] | None = None,
    ) -> Resource:
        """Registers an active resource after checking its attributes."""
        return cls(
            id=id,
            name=check_required_text(name, "name"),
            email=check_email(email),
            role=optional_text(role),
            cost_rate=check_cost_rate(cost_rate),
            home_region=optional_text(home_region),
            time_zone=check_time_zone(time_zone),
            xrefs=list(xrefs),
            details=cls.check_details(check_resource_details(details or {})),
        )

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        name: str,
        email: str,
        role: str,
        cost_rate: Money | None,
        home_region: str,
        time_zone: str,
        xrefs: list[SourceRef],
        details: dict[str, Any] | None = None,  # absent from events stored before it existed
    ) -> None:
        self._init_canonical(xrefs, details)
        self.name = name
        self.email = email
        self.role = role
        self.cost_rate = cost_rate
        self.home_region = home_region
        self.time_zone = time_zone
        self.status = ResourceStatus.ACTIVE

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        changes = check_resource_details(changes)
        if "name" in changes:
            changes["name"] = check_required_text(changes["name"], "name")
        if "email" in changes:
            changes["email"] = check_email(changes["email"])
        if "time_zone" in changes:
            check_time_zone(changes["time_zone"])
        if "cost_rate" in changes:
            check_cost_rate(changes["cost_rate"])
        for field in ("role", "home_region"):
            if field in changes:
                changes[field] = optional_text(changes[field])
        return changes

    def deactivate(self) -> None:
        """Marks the person as gone or on leave: no new time is expected."""
        self.check_not_deleted("be deactivated")
        if self.status != ResourceStatus.INACTIVE:
            self._deactivated()

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.status = ResourceStatus.INACTIVE

    def activate(self) -> None:
        """Marks the person as working again."""
        self.check_not_deleted("be activated")
        if self.status != ResourceStatus.ACTIVE:
            self._activated()

    @event("Activated")
    def _activated(self) -> None:
        self.status = ResourceStatus.ACTIVE
