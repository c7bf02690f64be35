"""What a source adapter offers the hub, and what it gets from it.

An adapter (adapters/<system>/) maps a source's native payloads to canonical change events and
talks HTTP to the source for key-only notifications and pull-only sources. It never touches
NATS or the store: the hub publishes what the adapter returns, and owns retries, dead letters
and the exception queue. Adapters import this module, `hub.contracts.changes` and
`hub.contracts.common`, and nothing else of hub/.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import httpx

from hub.contracts.changes import CHANGE_MODELS, CanonicalModel, ChangeEnvelope, change_type

_MESSAGE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pshub:message")


class AdapterError(Exception):
    """A payload the adapter cannot map; carries the contract reason code."""

    def __init__(
        self, reason: str, message: str, *, field: str = "", status: int = 422, rule: str = ""
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field
        # The rule the field broke ("missing", "type", "shape", ...); the reason code if unset.
        self.rule = rule or reason.lower()
        # 400 for unparseable input, 401/403 for a bad signature, 422 for the rest.
        self.status = status


@dataclass(frozen=True)
class AdapterConfig:
    """Per-adapter settings (PSHUB_ADAPTER_<SYSTEM>_<NAME> in the environment)."""

    tenant: str = ""
    base_url: str | None = None
    token: str | None = None
    signing_secret: str | None = None
    default_currency: str | None = None
    legal_entity: str | None = None
    page_size: int = 100
    extra: Mapping[str, str] = field(default_factory=dict)


# A fetch whose hint holds this key (true) continues from the cursor the hub saved for the
# system and tenant, given to it as hint["cursor"] (a SharePoint delta run resumes from the
# last deltaLink instead of listing the drive again).
RESUMES_FROM_CURSOR = "resumes_from_cursor"


@dataclass(frozen=True)
class FetchRequest:
    """A resource a key-only notification names; the adapter's `fetch` resolves it."""

    kind: str
    id: str
    tenant: str
    url: str | None = None
    hint: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Mapped:
    """What one native payload (an event or a page) maps to."""

    events: list[ChangeEnvelope] = field(default_factory=list)
    fetches: list[FetchRequest] = field(default_factory=list)
    # A cursor the source expects back next time (a Graph deltaLink, a Harvest updated_since).
    cursor: str | None = None
    # Nothing to do (a validation handshake, an echo of the hub's own write).
    ignored: str | None = None

    def extend(self, other: Mapped) -> Mapped:
        self.events.extend(other.events)
        self.fetches.extend(other.fetches)
        self.cursor = other.cursor or self.cursor
        return self


@dataclass(frozen=True)
class PollResult:
    """One round of polling a pull-only source: the changes found and where to resume."""

    mapped: Mapped
    cursor: str | None
    # Source ids of each (entity, source type) listed completely in the window, for deletion
    # by reconciliation (a source that never reports deletes, such as Harvest).
    complete_listings: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordWanted:
    """A source record the hub needs in full: a partial change named it, and the hub has
    never seen it. An adapter that can read records by id (`refetch`) turns it into a fetch."""

    source_type: str
    source_id: str
    tenant: str
    sequence: str | None
    time: datetime


@runtime_checkable
class SourceAdapter(Protocol):
    """The interface every adapters/<system>/ package exposes as `ADAPTER`."""

    system: str

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """True when no signing secret is configured or the source's signature matches."""
        ...

    def map_payload(
        self,
        body: bytes,
        *,
        config: AdapterConfig,
        headers: Mapping[str, str] | None = None,
        event: str | None = None,
        tenant: str | None = None,
    ) -> Mapped:
        """Maps one native payload (a single event, or a page); raises AdapterError."""
        ...

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Fetches the resource a key-only notification names and maps it."""
        ...

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Pulls the changes since the cursor (pull-only sources); others raise
        NotImplementedError."""
        ...


def message_id(system: str, *dedupe_key: object) -> str:
    """A deterministic CloudEvent id from a source's dedupe key (DOMAIN.md 2.14)."""
    return str(uuid.uuid5(_MESSAGE_NAMESPACE, "\x1f".join([system, *map(str, dedupe_key)])))


def change_event(
    *,
    system: str,
    entity: str,
    source_type: str,
    data: CanonicalModel,
    tenant: str,
    time: datetime,
    sequence: str | None,
    id: str,
    instance: str | None = None,
    deleted: bool = False,
    partial: bool = False,
) -> ChangeEnvelope:
    """Builds a canonical change event; `data` must be the entity's change (or Deletion) model,
    and `source_type` the source's own object type (the xref type: Account, TimeEntry, ...).

    `sequence` must compare lexicographically in source order: zero-pad numbers and write
    instants as RFC 3339 UTC. `partial`: the change reports only the fields that changed (a
    CDC UPDATE), so the hub never creates a record from it.
    """
    if not deleted and not isinstance(data, CHANGE_MODELS[entity]):
        raise TypeError(f"{type(data).__name__} is not the change model of {entity}")
    return ChangeEnvelope(
        specversion="1.0",
        id=id,
        source=f"/{system}/{instance or tenant or 'default'}",
        type=change_type(entity, deleted=deleted),
        subject=data.id,  # type: ignore[attr-defined]
        time=time if time.tzinfo else time.replace(tzinfo=UTC),
        datacontenttype="application/json",
        sequence=sequence,
        tenant=tenant,
        sourcetype=source_type,
        partial=partial or None,
        data=data.model_dump(mode="json", exclude_unset=True, by_alias=True)
        | {
            "id": data.id  # type: ignore[attr-defined]
        },
    )


def utc_sequence(instant: datetime, *tiebreak: int) -> str:
    """A lexicographically ordered sequence from an instant and optional integer tiebreaks."""
    text = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "|".join([text, *(f"{n:020d}" for n in tiebreak)])


# Sorts below every digit and letter: what a record says of another it embeds ranks below any
# change of that other record itself.
EMBEDDED_PREFIX = "!"


def embedded_event(
    *,
    system: str,
    entity: str,
    source_type: str,
    data: CanonicalModel,
    tenant: str,
    time: datetime,
) -> ChangeEnvelope:
    """What a source record says of another record it embeds (a Harvest project's client with
    its name and currency, a Xero invoice's Contact), as a change of that record.

    It reports only what the source gives, and its sequence sorts below any change of the
    record itself: it creates the record when the hub has never seen it (through the matching
    rules, like any change), a later change of the record itself always applies over it, and
    an embed arriving after the record's own change is stale. Embeds order among themselves
    by the embedding record's time. Adapters send it after the embedding record, so that an
    explicit link the record makes (an invoice's engagement) decides first.
    """
    sequence = EMBEDDED_PREFIX + utc_sequence(time)
    return change_event(
        system=system,
        entity=entity,
        source_type=source_type,
        data=data,
        tenant=tenant,
        time=time,
        sequence=sequence,
        id=message_id(system, tenant, source_type, data.id, "embedded", sequence),  # type: ignore[attr-defined]
    )
