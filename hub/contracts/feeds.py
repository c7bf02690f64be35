"""What a downstream target's connector exchanges with the hub's feeds (CONTRACT.md, feeds).

A feed follows the log; for each golden record a target follows, the target's pure mapping says
what the target must hold (FeedItems), and its writer delivers an item to the target's API.
Adapters implement `Target` in adapters/<system>/feed.py (the mapping, pure) and
adapters/<system>/writes.py (the writer, thin HTTP transport); hub/bootstrap.py registers them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True)
class FeedItem:
    """One thing a target must hold, derived from one golden record at one version.

    `key` is what makes it unique within the target (e.g. "customer", or "line:<time entry id>"
    for an item that one record yields several of); the message id and the idempotency key are
    derived from (target, canonical id, key, version), so a repeat is never a second write.
    """

    target: str  # "netsuite", "quickbooks", "xero", "harvest", "sharepoint"
    entity: str  # the target's entity, as in feed.<target>.<entity>: "customer", "job", ...
    canonical_id: UUID
    version: int
    key: str
    payload: Mapping[str, Any]  # the target's native JSON
    # What the target already knows this record as (its own id from an earlier acknowledgement
    # or from ingest), so an update goes to the same record.
    target_id: str | None = None
    # Why the item must not go out as it stands, as (reason code, detail): work no rate card
    # prices, a rate in another currency than the target would read it in. A held item is
    # neither published nor delivered; it opens an exception case and goes out (resolving
    # the case) once a new version of it is no longer held.
    hold: tuple[str, str] | None = None
    # The log position of another record's change that derived the item again (a rate card
    # that now prices held work, or changes an assignment's rate) while its own record stayed
    # at `version`: part of the idempotency key, so the new payload is a new message.
    revision: int | None = None
    # The key the outbox holds when it is not the derived one: a re-feed of an item the
    # target lost is a new write, which a target must not answer with the lost one's result.
    request_key: str | None = None
    # A notice: published on feed.<target>.<entity> for the target's subscribers (a
    # milestone made billing-ready), never written to the target's API by the writer.
    notice: bool = False

    @property
    def idempotency_key(self) -> str:
        """Deterministic, at most 50 characters (QuickBooks' requestid limit), URL safe."""
        if self.request_key:
            return self.request_key
        raw = f"{self.target}|{self.canonical_id}|{self.key}|{self.version}"
        if self.revision is not None:
            raw += f"|{self.revision}"
        return hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Delivered:
    """The target took the item: the id and type it holds it under (recorded as an xref)."""

    target_type: str  # the source type an xref carries, e.g. "customer", "job", "Invoice"
    target_id: str
    tenant: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class DeliveryFailed(Exception):
    """The target did not take the item.

    `retryable` is False when the payload is at fault (a 4xx other than 408, 409 handled, 429):
    retrying the same payload cannot help, so the item becomes an exception case at once.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason  # DOWNSTREAM_TIMEOUT, DOWNSTREAM_REJECTED, or the target's code
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True)
class TargetSettings:
    """PSHUB_FEED_<TARGET>_BASE_URL, _TOKEN, _TENANT (CONTRACT.md)."""

    base_url: str
    token: str = ""
    tenant: str = ""


# A reference to another record's id in the same target, which a pure mapping cannot know
# (a NetSuite job names its customer by internal id, a Harvest project its client by Harvest
# id): the mapping writes `target_ref(canonical_id, type)` in the payload, and the delivery
# worker replaces it with the id the target holds that record under (what the feed delivered,
# else the record's own xref of that system); the item waits until that record is delivered.
# Payloads are hashed and published with the placeholder, so they stay deterministic.
PLACEHOLDER = "$target_id"


def target_ref(
    canonical_id: UUID | str | None,
    type_: str,
    *,
    as_int: bool = False,
    as_ref: bool = False,
    optional: bool = False,
) -> Any:
    """The placeholder for another record's id in the target (None stays None). `as_ref`:
    resolved as {"id": <id>}. `optional`: a record the target does not hold leaves the field
    out (the target keeps what it has) rather than making the item wait for it; for records
    the hub never delivers there (a NetSuite employee), known only from the target itself."""
    if canonical_id is None:
        return None
    ref: dict[str, Any] = {PLACEHOLDER: str(canonical_id), "type": type_}
    if as_int:
        ref["as"] = "int"
    if as_ref:
        ref["as"] = "ref"
    if optional:
        ref["optional"] = True
    return ref


@dataclass(frozen=True)
class Quote:
    """The rate card line that prices a piece of work on its work date (DOMAIN 3.3)."""

    rate: Decimal  # the hourly bill rate
    currency: str
    tier: str  # the line's precedence tier, e.g. "resource_engagement"
    effective_from: date  # the line's first day
    cost_rate: Decimal | None = None
    cost_currency: str | None = None


class Related(Protocol):
    """What a target's mapping may know besides the record it maps: the other golden records
    it declared (`RelatedTarget.related`) and the rate cards, as the log stood at the event
    being mapped. The feed keeps them in log order, so a rebuild gives the same items."""

    def record(self, canonical_id: UUID | str | None) -> Mapping[str, Any] | None:
        """A related golden record (as GET /v1 serves it), or None if not known yet."""
        ...

    def price(self, entry: Mapping[str, Any]) -> Quote | None:
        """The card line pricing a time entry on its work date; None where no line does.
        Priced once per fact: a later rate change re-prices nothing already priced, a
        correction (a new fact) is priced anew."""
        ...

    def assigned(self, engagement_id: UUID | str) -> list[tuple[UUID, Quote]]:
        """The people a rate card names on the engagement, each with the line that prices
        them there now (the latest rate in force)."""
        ...

    def engagements_of(self, resource_id: UUID | str) -> list[UUID]:
        """The engagements a person is assigned to (see `assigned`)."""
        ...


class Writer(Protocol):
    def deliver(self, item: FeedItem) -> Delivered:
        """Writes one item with the target's own idempotency mechanism; raises DeliveryFailed."""
        ...


class Target(Protocol):
    """A downstream system the hub feeds."""

    name: str  # "netsuite"
    category: str  # "erp", "billing", "psa", "knowledge"
    entities: frozenset[str]  # the canonical entities it follows ("client", "engagement", ...)

    def items(self, entity: str, record: Mapping[str, Any]) -> list[FeedItem]:
        """Pure: what the target must hold for this golden record (as GET /v1 serves it, with
        its xrefs and version); [] when the target holds nothing for it. The xrefs of this
        target that are acknowledgements of the feed's own deliveries carry
        `"acknowledged": true`: the others came from the target itself."""
        ...

    def writer(self, settings: TargetSettings, client: Any) -> Writer:
        """The connector over an httpx.Client."""
        ...


class SerialTarget(Target, Protocol):
    """A target where two items write one record of it by reading, changing and writing it
    back (Xero's lines of one draft invoice: its API replaces the whole list of lines). Items
    with the same key are delivered one at a time across every process (an advisory lock in
    PostgreSQL, held while the item is delivered), so no write loses another's line."""

    def serial_key(self, item: FeedItem) -> str | None:
        """The target's record the item reads and writes back (as delivered: the target's own
        ids resolved), or None when the item is written on its own."""
        ...


class RelatedTarget(Target, Protocol):
    """A target whose mapping needs other records than the one it maps (a cost line's rate
    card, an engagement's currency, the people assigned to a project): the feed keeps the
    records of `related` entities and the rate cards, and calls `items` with them."""

    related: frozenset[str]  # canonical entities besides `entities`, e.g. {"resource"}

    def items(  # type: ignore[override]
        self, entity: str, record: Mapping[str, Any], related: Related
    ) -> list[FeedItem]: ...
