"""Bodies of the synchronous HTTP commands (POST /v1/commands/<command>)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import EmailStr, Field

from hub.contracts.common import (
    ContractModel,
    CurrencyCode,
    NonEmpty,
    NonNegativeAmount,
    XrefModel,
)


class ContactBody(ContractModel):
    name: NonEmpty
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=50)] = ""
    role: Annotated[str, Field(max_length=100)] = ""


class RegisterClient(ContractModel):
    """Registers a client; a second registration of the same source record is a conflict."""

    legal_name: NonEmpty
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
    billing_currency: CurrencyCode
    tax_id: Annotated[str, Field(max_length=64)] = ""
    contacts: Annotated[list[ContactBody], Field(max_length=100)] = []
    xref: XrefModel | None = None


class CreateEngagement(ContractModel):
    """Creates an engagement for an existing, active client."""

    client_id: UUID
    code: Annotated[str, Field(min_length=1, max_length=64)]
    name: NonEmpty
    currency: CurrencyCode
    service_line: Annotated[str, Field(max_length=100)] = ""
    region: Annotated[str, Field(max_length=100)] = ""
    legal_entity: Annotated[str, Field(max_length=100)] = ""
    start_date: date | None = None
    end_date: date | None = None
    budget: NonNegativeAmount | None = None
    manager_id: UUID | None = None
    xref: XrefModel | None = None


class MapXref(ContractModel):
    """Maps a source record the hub could not resolve to a golden record (stewardship)."""

    system: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    tenant: Annotated[str, Field(max_length=200)] = ""
    type: Annotated[
        str, Field(min_length=1, max_length=100, description="the source's own object type")
    ]
    id: Annotated[str, Field(min_length=1, max_length=200, description="the source's id")]
    canonical_id: Annotated[UUID, Field(description="the golden record it is")]


class RunBilling(ContractModel):
    """Runs billing for one engagement and service period [period_start, period_end)."""

    engagement_id: UUID
    period_start: Annotated[date, Field(description="first day of the period (inclusive)")]
    period_end: Annotated[date, Field(description="the day after the period (exclusive)")]
