"""From the bytes of one NATS message to a validated change, or a refusal with its reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from pydantic import ValidationError, create_model

from hub.contracts.changes import CHANGE_MODELS, CanonicalModel, ChangeEnvelope, Deletion
from hub.contracts.common import REASON_BY_ERROR_TYPE

STRUCTURED_TYPES = ("application/cloudevents+json", "application/json")


@dataclass(frozen=True)
class Incoming:
    """One delivered message, independent of the NATS client that delivered it."""

    subject: str  # without the hub's prefix
    data: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Refusal:
    """Input that can never be applied: it goes to the dead-letter subject."""

    reason: str
    text: str
    field: str = ""
    message_id: str | None = None


@dataclass(frozen=True)
class Change:
    """A valid canonical change of one source record."""

    message_id: str
    subject: str
    system: str
    tenant: str
    entity: str
    source_type: str
    source_id: str
    sequence: str | None
    occurred_at: datetime
    data: CanonicalModel
    deleted: bool
    raw: bytes
    partial: bool = False  # only some of the record's fields (a CDC UPDATE)

    @cached_property  # asked for several times per message
    def record_key(self) -> str:
        """Identifies the source record: system, tenant, type (case-folded) and id."""
        return xref_key(self.system, self.tenant, self.source_type, self.source_id)


def xref_key(system: str, tenant: str, source_type: str, source_id: str) -> str:
    """The claim key of a source record (the same form the application claims xrefs with)."""
    return "xref:" + "|".join((system, tenant, source_type.lower(), source_id))


def default_source_type(entity: str) -> str:
    """The xref type of a change that does not name its source's object type."""
    return entity


def _typed(entity: str, model: type[CanonicalModel], deleted: bool) -> type[ChangeEnvelope]:
    name = f"{entity.title().replace('_', '')}{'Deletion' if deleted else 'Change'}Envelope"
    return create_model(name, __base__=ChangeEnvelope, data=(model, ...))


_ENVELOPES: dict[tuple[str, bool], type[ChangeEnvelope]] = {
    (entity, deleted): _typed(entity, Deletion if deleted else model, deleted)
    for entity, model in CHANGE_MODELS.items()
    for deleted in (False, True)
}


def _reason(error: ValidationError) -> tuple[str, str, str]:
    first = None
    for item in error.errors():
        kind = str(item.get("type", ""))
        loc = ".".join(str(p) for p in item.get("loc", ()))
        reason = REASON_BY_ERROR_TYPE.get(kind, "SCHEMA_VIOLATION")
        if kind == "missing" and (loc in ("id", "subject") or loc.endswith(".id")):
            reason = "MISSING_REQUIRED_ID"
        candidate = (reason, f"{loc or 'body'}: {item.get('msg', '')}", loc)
        if reason != "SCHEMA_VIOLATION":
            return candidate
        first = first or candidate
    return first or ("SCHEMA_VIOLATION", str(error), "")


def decode(incoming: Incoming, *, max_bytes: int) -> Change | Refusal:
    """Validates one message against the canonical contract (size first, before parsing)."""
    header_id = incoming.headers.get("Nats-Msg-Id")
    if len(incoming.data) > max_bytes:
        return Refusal(
            "PAYLOAD_TOO_LARGE",
            f"{len(incoming.data)} bytes exceed {max_bytes}",
            message_id=header_id,
        )
    if b"\\u0000" in incoming.data:
        # A JSON string may escape NUL; PostgreSQL text cannot hold it, so nothing may carry it.
        return Refusal(
            "SCHEMA_VIOLATION", "text must not contain NUL characters", "data", header_id
        )
    parts = incoming.subject.split(".")
    if len(parts) != 3 or parts[0] != "ingest" or parts[2] not in CHANGE_MODELS:
        return Refusal(
            "SCHEMA_VIOLATION",
            f"subject {incoming.subject} is not ingest.<system>.<entity> with a known entity",
            "subject",
            header_id,
        )
    _, subject_system, subject_entity = parts
    content_type = incoming.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type and content_type not in STRUCTURED_TYPES:
        return Refusal(
            "SCHEMA_VIOLATION",
            f"Content-Type {content_type} is not a structured "
            "CloudEvent (application/cloudevents+json)",
            "Content-Type",
            header_id,
        )
    # One validation pass, envelope and data together, with the entity's own data model.
    deleted = b'.deleted.v1"' in incoming.data
    try:
        envelope = _ENVELOPES[subject_entity, deleted].model_validate_json(incoming.data)
    except ValidationError as exc:
        reason, text, field = _reason(exc)
        return Refusal(reason, text, field, header_id)
    message_id = envelope.id
    if envelope.is_deletion != deleted:
        return Refusal(
            "SCHEMA_VIOLATION",
            f"type {envelope.type} is not a change of {subject_entity}",
            "type",
            message_id,
        )
    if header_id is not None and header_id != message_id:
        return Refusal(
            "SCHEMA_VIOLATION",
            f"Nats-Msg-Id {header_id} differs from the event id",
            "Nats-Msg-Id",
            message_id,
        )
    if envelope.system != subject_system:
        return Refusal(
            "FORBIDDEN",
            f"source {envelope.source} may not publish on {incoming.subject}",
            "source",
            message_id,
        )
    if envelope.entity != subject_entity:
        return Refusal(
            "SCHEMA_VIOLATION",
            f"type {envelope.type} does not match subject {incoming.subject}",
            "type",
            message_id,
        )
    data = envelope.data
    if data.id != envelope.subject:  # type: ignore[attr-defined]
        return Refusal(
            "SCHEMA_VIOLATION", "data.id differs from the event subject", "data.id", message_id
        )
    return Change(
        message_id=message_id,
        subject=incoming.subject,
        system=envelope.system,
        tenant=envelope.tenant,
        entity=envelope.entity,
        source_type=envelope.sourcetype or default_source_type(envelope.entity),
        source_id=envelope.subject,
        sequence=envelope.sequence,
        occurred_at=envelope.time.astimezone(UTC),  # one zone everywhere after decoding
        data=data,
        deleted=envelope.is_deletion,
        raw=incoming.data,
        partial=bool(envelope.partial),
    )
