"""Golden records from aggregates, and their redaction by the caller's scopes."""

from __future__ import annotations

from functools import cache
from typing import Any

from domain.base import CanonicalAggregate
from hub.auth import Principal
from hub.contracts.records import RECORD_MODELS, Classification, classification_of

_NEEDS = {Classification.CONFIDENTIAL: "read:confidential", Classification.PII: "read:pii"}


def to_record(aggregate: CanonicalAggregate) -> dict[str, Any]:
    """Returns the golden record of an aggregate as JSON-ready data (every field)."""
    model = RECORD_MODELS[aggregate.ENTITY]
    record = model.model_validate(
        {
            **{name: getattr(aggregate, name, None) for name in model.model_fields},
            "updated_at": aggregate.modified_on,
            "version": aggregate.version,
        },
        from_attributes=True,
    )
    return record.model_dump(mode="json")


def hidden_fields(entity: str, principal: Principal) -> set[str]:
    """Returns the fields of an entity's record that the principal may not see."""
    return set(_hidden(entity, principal.has("read:confidential"), principal.has("read:pii")))


@cache
def _hidden(entity: str, confidential: bool, pii: bool) -> frozenset[str]:
    allowed = {Classification.CONFIDENTIAL: confidential, Classification.PII: pii}
    return frozenset(
        name
        for name, level in classification_of(RECORD_MODELS[entity]).items()
        if level in allowed and not allowed[level]
    )


def redact(entity: str, record: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """Leaves out (never nulls) the fields the principal may not see."""
    hidden = hidden_fields(entity, principal)
    return {k: v for k, v in record.items() if k not in hidden} if hidden else record
