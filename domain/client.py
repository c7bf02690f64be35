"""Client: the firm's customer, billed in one currency; contacts are personal data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import optional_text
from domain.errors import InvalidTransitionError, RuleViolationError
from domain.values import SourceRef, check_currency

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ClientStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at the client (PII: name, email, phone)."""

    name: str
    email: str = ""
    phone: str = ""
    role: str = ""
    # The contact's own id in its source (a Salesforce Contact), and the source's order key
    # of the change that set it: contacts change one at a time and may arrive out of order.
    source_id: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise RuleViolationError(
                "contact name must not be empty", rule="required", field="contacts.name"
            )
        if self.email and not _EMAIL.match(self.email):
            raise RuleViolationError(
                f"'{self.email}' is not an e-mail address", rule="email", field="contacts.email"
            )


def check_country(country: str, field: str = "country") -> str:
    """Returns an ISO 3166-1 alpha-2 country code ("" while unknown), or raises."""
    if country == "":
        # Several sources keep no country (Harvest clients, NetSuite customers): the client
        # exists anyway, and the first source that knows the country fills it in.
        return country
    if not isinstance(country, str) or not _COUNTRY.match(country):
        raise RuleViolationError(
            f"'{country}' is not an ISO 3166-1 alpha-2 country code",
            rule="iso3166",
            field=field,
        )
    return country


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address as the source keeps it; a free-text address is all `street`."""

    street: str = ""
    city: str = ""
    region: str = ""  # state, province or region: its code where the source gives one
    postal_code: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, or "" (a source that writes only a name)

    def __post_init__(self) -> None:
        for name in ("street", "city", "region", "postal_code", "country"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise RuleViolationError(
                    f"address {name} must be text", rule="text", field=f"address.{name}"
                )
            object.__setattr__(self, name, optional_text(value))
        check_country(self.country, "address.country")

    def is_empty(self) -> bool:
        return not any((self.street, self.city, self.region, self.postal_code, self.country))


# Descriptive attributes (CanonicalAggregate.DETAILS): text ones are "" when unknown.
CLIENT_TEXT_DETAILS = (
    "trading_name",
    "industry",
    "category",
    "customer_number",
    "website",
    "phone",
    "email",
    "owner_name",
)
CLIENT_DETAILS: dict[str, Any] = {
    **dict.fromkeys(CLIENT_TEXT_DETAILS, ""),
    "billing_address": None,
    "shipping_address": None,
    # References as the source names them, and the records they resolve to (links: None
    # while the hub does not know the parent client or the owning resource yet).
    "parent_ref": None,
    "owner_ref": None,
    "parent_id": None,
    "owner_id": None,
}


def check_client_details(details: dict[str, Any]) -> dict[str, Any]:
    """Normalises descriptive attributes: None is "" for text, an empty address is None."""
    checked = dict(details)
    for name, value in details.items():
        if name in CLIENT_TEXT_DETAILS:
            if value is not None and not isinstance(value, str):
                raise RuleViolationError(f"{name} must be text", rule="text", field=name)
            checked[name] = optional_text(value)
        elif name in ("billing_address", "shipping_address"):
            if value is not None and not isinstance(value, Address):
                raise RuleViolationError(f"{name} must be an address", rule="address", field=name)
            checked[name] = None if value is None or value.is_empty() else value
        elif name in ("parent_ref", "owner_ref") and not isinstance(value, SourceRef | None):
            raise RuleViolationError(f"{name} must be a source reference", rule="xref", field=name)
        elif name in ("parent_id", "owner_id") and not isinstance(value, UUID | None):
            raise RuleViolationError(f"{name} must be a canonical id", rule="id", field=name)
    return checked


def check_billing_currency(code: str) -> str:
    """An ISO 4217 code, or "" while unknown (an ERP partner without one)."""
    return code if code == "" else check_currency(code)


def check_legal_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise RuleViolationError(
            "legal name must not be empty", rule="required", field="legal_name"
        )
    return name.strip()


class Client(CanonicalAggregate):
    """A client of the firm."""

    ENTITY = "client"
    DETAILS = CLIENT_DETAILS
    REVISABLE = frozenset({"legal_name", "country", "tax_id", "billing_currency"}) | frozenset(
        DETAILS
    )

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        legal_name: str,
        country: str,
        billing_currency: str,
        tax_id: str = "",
        contacts: list[Contact] | tuple[Contact, ...] = (),
        xrefs: list[SourceRef] | tuple[SourceRef, ...] = (),
        details: dict[str, Any] | None = None,
    ) -> Client:
        """Registers a new, active client after checking its attributes."""
        return cls(
            id=id,
            legal_name=check_legal_name(legal_name),
            country=check_country(country),
            billing_currency=check_billing_currency(billing_currency),
            tax_id=(tax_id or "").strip(),
            contacts=list(contacts),
            xrefs=list(xrefs),
            details=cls.check_details(check_client_details(details or {})),
        )

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        legal_name: str,
        country: str,
        billing_currency: str,
        tax_id: str,
        contacts: list[Contact],
        xrefs: list[SourceRef],
        details: dict[str, Any] | None = None,  # absent from events stored before it existed
    ) -> None:
        self._init_canonical(xrefs, details)
        self.legal_name = legal_name
        self.country = country
        self.billing_currency = billing_currency
        self.tax_id = tax_id
        self.contacts = list(contacts)
        self.status = ClientStatus.ACTIVE

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        changes = check_client_details(changes)
        # A closed client keeps its identity and terms; what describes it may still change.
        governed = [k for k in changes if k not in self.DETAILS and getattr(self, k) != changes[k]]
        if self.status == ClientStatus.CLOSED and governed:
            raise InvalidTransitionError("client", self.status, "be revised")
        if "legal_name" in changes:
            changes["legal_name"] = check_legal_name(changes["legal_name"])
        if "country" in changes:
            check_country(changes["country"])
        if "billing_currency" in changes:
            check_billing_currency(changes["billing_currency"])
        if "tax_id" in changes:
            changes["tax_id"] = (changes["tax_id"] or "").strip()
        return changes

    def replace_contacts(self, contacts: list[Contact] | tuple[Contact, ...]) -> None:
        """Replaces the client's contacts (CRM is their source of truth)."""
        self.check_not_deleted("change contacts")
        if list(contacts) != self.contacts:
            self._contacts_replaced(contacts=list(contacts))

    @event("ContactsReplaced")
    def _contacts_replaced(self, contacts: list[Contact]) -> None:
        self.contacts = list(contacts)

    def merge_contacts(
        self,
        updates: list[Contact] | tuple[Contact, ...] = (),
        removals: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Upserts contacts by source id and removes (source id, version) pairs; a change
        older than the one that set a contact is ignored."""
        merged = {c.source_id or f"#{i}": c for i, c in enumerate(self.contacts)}
        for contact in updates:
            if not contact.source_id:
                raise RuleViolationError(
                    "a merged contact needs its source id",
                    rule="required",
                    field="contacts.source_id",
                )
            current = merged.get(contact.source_id)
            if current is None or current.version <= contact.version:
                merged[contact.source_id] = contact
        for source_id, version in removals:
            current = merged.get(source_id)
            if current is not None and current.version <= version:
                del merged[source_id]
        self.replace_contacts(list(merged.values()))

    def deactivate(self) -> None:
        if self.status == ClientStatus.INACTIVE:
            return
        if self.status != ClientStatus.ACTIVE:
            raise InvalidTransitionError("client", self.status, "be deactivated")
        self._deactivated()

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.status = ClientStatus.INACTIVE

    def activate(self) -> None:
        if self.status == ClientStatus.ACTIVE:
            return
        if self.status == ClientStatus.CLOSED:
            raise InvalidTransitionError("client", self.status, "be activated without reopening")
        self._activated()

    @event("Activated")
    def _activated(self) -> None:
        self.status = ClientStatus.ACTIVE

    def close(self) -> None:
        if self.status == ClientStatus.CLOSED:
            return
        self._closed()

    @event("Closed")
    def _closed(self) -> None:
        self.status = ClientStatus.CLOSED

    def reopen(self) -> None:
        if self.status != ClientStatus.CLOSED:
            raise InvalidTransitionError("client", self.status, "be reopened")
        self._reopened()

    @event("Reopened")
    def _reopened(self) -> None:
        self.status = ClientStatus.ACTIVE

    def check_can_take_engagement(self) -> None:
        """Raises unless the client may receive a new engagement (active, not deleted)."""
        self.check_not_deleted("take an engagement")
        if self.status != ClientStatus.ACTIVE:
            raise RuleViolationError(
                f"client {self.id} is {self.status}; new engagements need an active client",
                rule="client_active",
                field="client_id",
            )
