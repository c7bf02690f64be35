"""Golden records from aggregates, and their redaction by the caller's scopes."""

from __future__ import annotations

from functools import cache
from typing import Any

from domain.base import CanonicalAggregate
from hub.auth import Principal
from hub.contracts.records import RECORD_MODELS, Classification, classification_of
from hub.event_fields import withheld
from hub.record_dump import record_dumper

_NEEDS = {Classification.CONFIDENTIAL: "read:confidential", Classification.PII: "read:pii"}


def to_record(aggregate: CanonicalAggregate) -> dict[str, Any]:
    """Returns the golden record of an aggregate as JSON-ready data (every field): written
    straight from the aggregate (hub/record_dump.py), the same JSON as `validated_record`."""
    model = RECORD_MODELS[aggregate.ENTITY]
    dump = record_dumper(model)
    if dump is None:
        return validated_record(aggregate)
    return dump(aggregate, {"updated_at": aggregate.modified_on, "version": aggregate.version})


def validated_record(aggregate: CanonicalAggregate) -> dict[str, Any]:
    """The golden record through the record model: validated, then dumped as JSON."""
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


def hidden_event_attributes(entity: str, principal: Principal) -> set[str]:
    """Returns the attributes of an entity's events that the principal may not see: its
    hidden record fields, and what events carry of them under names of their own."""
    return set(
        withheld(
            entity,
            confidential=principal.has("read:confidential"),
            pii=principal.has("read:pii"),
        )
    )


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
