"""Golden records as served over HTTP, with the classification of every field.

A field's classification decides who may see it: `confidential` needs the read:confidential
scope, `pii` needs read:pii; `public` and `internal` need only read. Fields a token may not
see are left out, never nulled.
"""

from __future__ import annotations

from datetime import date, datetime
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


class RecordModel(BaseModel):
    """What every golden record has: id, version, last update, cross-references."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: UUID
    version: int
    updated_at: datetime
    xrefs: list[XrefModel]
    deleted: bool = False


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

    client_id: UUID
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


RECORD_MODELS: dict[str, type[RecordModel]] = {
    "client": ClientRecord,
    "engagement": EngagementRecord,
}


def classification_of(model: type[BaseModel]) -> dict[str, Classification]:
    """Returns each field's classification (public unless the field says otherwise)."""
    result = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        result[name] = Classification(extra.get("x-classification", "public"))
    return result
