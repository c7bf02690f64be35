"""From a change's descriptive fields to an aggregate's descriptive attributes (DETAILS).

Appliers pass these through as reported: a field left out is not touched, a field sent as
null clears the attribute. People and other source records become source references in the
change's own system and tenant unless they name another; a person's name and e-mail are
separate attributes (PII), each touched only when the change reports it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from domain.base import CanonicalAggregate
from domain.invoice import ExchangeRate, RateDirection, Tracking
from domain.knowledge_asset import ContentHashes
from domain.time_entry import ExternalReference
from domain.values import SourceRef
from hub.contracts.billing_changes import ExchangeRateData, TrackingData
from hub.contracts.canonical import PersonData, SourceKey
from hub.contracts.common import MoneyModel
from hub.contracts.knowledge_changes import ContentHashesData
from hub.contracts.work_changes import ExternalReferenceData


class Source:
    """What a conversion needs of the change: the system and tenant it came from."""

    def __init__(self, ref: SourceRef) -> None:
        self.system = ref.system
        self.tenant = ref.tenant

    def ref(self, key: SourceKey) -> SourceRef:
        return SourceRef(
            key.system or self.system,
            self.tenant if key.tenant is None else key.tenant,
            key.type,
            key.id,
        )


def value(source: Source, data: Any) -> Any:
    """The domain value of one reported field (money, a source reference, a value type)."""
    if isinstance(data, MoneyModel):
        return data.to_money()
    if isinstance(data, SourceKey):
        return source.ref(data)
    if isinstance(data, ExchangeRateData):
        return ExchangeRate(
            rate=data.rate,
            direction=RateDirection(data.direction),
            home_currency=data.home_currency or "",
            as_of=data.as_of,
        )
    if isinstance(data, ContentHashesData):
        return ContentHashes(
            quick_xor=data.quick_xor or "",
            sha1=data.sha1 or "",
            sha256=data.sha256 or "",
            crc32=data.crc32 or "",
        )
    if isinstance(data, ExternalReferenceData):
        return ExternalReference(data.id, data.service, data.group_id, data.permalink)
    if isinstance(data, TrackingData):
        return Tracking(data.category, data.option)
    if isinstance(data, BaseModel):
        raise TypeError(f"no domain value for {type(data).__name__}")
    return data


def person(source: Source, name: str, data: PersonData | None) -> dict[str, Any]:
    """A person's account as a source reference, with the name and e-mail it reports."""
    if data is None:
        return {name: None, f"{name}_name": None, f"{name}_email": None}
    found: dict[str, Any] = {name: source.ref(data)}
    for part in ("name", "email"):
        if part in data.model_fields_set:
            found[f"{name}_{part}"] = getattr(data, part)
    return found


def described(source_ref: SourceRef, kind: type[CanonicalAggregate], f: dict[str, Any]) -> dict:
    """The aggregate's descriptive attributes among the reported fields, as domain values."""
    source = Source(source_ref)
    found: dict[str, Any] = {}
    for name, data in f.items():
        if f"{name}_name" in kind.DETAILS and (data is None or isinstance(data, PersonData)):
            found.update(person(source, name, data))
        elif name in kind.DETAILS:
            found[name] = value(source, data)
    return found
