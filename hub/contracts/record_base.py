"""What every golden-record model shares: the classification of fields and the common fields.

A field's classification decides who may see it: `confidential` needs the read:confidential
scope, `pii` needs read:pii; `public` and `internal` need only read. Fields a token may not
see are left out, never nulled.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from hub.contracts.common import XrefModel


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PII = "pii"


def classified(level: Classification, **kwargs: Any) -> Any:
    """A Field whose JSON Schema carries x-classification."""
    return Field(json_schema_extra={"x-classification": level.value}, **kwargs)


def described(description: str, level: Classification | None = None, **kwargs: Any) -> Any:
    """A Field with its description and, where it is not public, its classification."""
    if level is None or level == Classification.PUBLIC:
        return Field(description=description, **kwargs)
    return classified(level, description=description, **kwargs)


PII = Classification.PII
CONFIDENTIAL = Classification.CONFIDENTIAL
INTERNAL = Classification.INTERNAL
PUBLIC = Classification.PUBLIC


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


def classification_of(model: type[BaseModel]) -> dict[str, Classification]:
    """Returns each field's classification (public unless the field says otherwise)."""
    result = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        result[name] = Classification(extra.get("x-classification", "public"))
    return result
