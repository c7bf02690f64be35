"""What every applier builds on: the context it asks, why a change waits, reading fields.

The `Context` protocol is what an applier may ask of the ingest engine; `Unresolved` and
`Incomplete` are how a change waits (for a record it names, or for the full record); the
helpers read the money, references and parents a change reports and revise what changed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.base import CanonicalAggregate
from domain.values import Money, SourceRef
from hub.contracts.changes import Ref
from hub.contracts.common import MoneyModel
from hub.ingest.rules import Rules


class Unresolved(Exception):
    """A change names a record the hub does not know yet: it waits for that record."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Incomplete(Exception):
    """A change for a record the hub does not know lacks fields needed to create it."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"a new record needs {', '.join(missing)}")
        self.missing = missing


class Context(Protocol):
    """What an applier may ask of the ingest engine."""

    @property
    def source_ref(self) -> SourceRef: ...

    @property
    def on(self) -> date: ...

    @property
    def at(self) -> datetime:
        """When the change happened at its source (UTC)."""
        ...

    @property
    def rules(self) -> Rules: ...

    @property
    def message_id(self) -> str: ...

    def resolve(self, ref: Ref, entity: str) -> UUID:
        """The canonical id a reference names; raises Unresolved when it is not known yet."""
        ...

    def load(self, aggregate_id: UUID, kind: type[Any]) -> Any:
        """The aggregate, as this batch has changed it so far."""
        ...

    def contract_of(self, engagement_id: UUID) -> UUID:
        """The contract of an engagement; raises Unresolved when it has none yet."""
        ...

    def alias(self, ref: Ref, owner: UUID, entity: str) -> None:
        """Lets a reference resolve to this record from now on."""
        ...

    def link(self, ref: Ref | None, entity: str, name: str, attribute: str) -> UUID | None:
        """The canonical id a reference names, or None (none named, or a link to a record not
        known yet, held on the record); a parent not known yet raises Unresolved."""
        ...

    def renew(self, prefix: str) -> None:
        """The change reports every reference under the prefix anew."""
        ...


def money(value: MoneyModel | None) -> Money | None:
    return None if value is None else value.to_money()


def require(fields: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if fields.get(n) is None]
    if missing:
        raise Incomplete(missing)


def link(ctx: Context, fields: dict[str, Any], name: str, entity: str) -> UUID | None:
    """The record a reported reference names (`<name>_id`), per the references' rules: None
    when it is not reported, cleared, or a link to a record not known yet."""
    if name not in fields:
        return None
    return ctx.link(fields[name], entity, name, f"{name}_id")


def parent(ctx: Context, fields: dict[str, Any], name: str, entity: str) -> UUID:
    """A reference the record cannot be valued without: the change waits until it is known."""
    owner = link(ctx, fields, name, entity)
    if owner is None:
        raise Incomplete([name])
    return owner


def revise(aggregate: CanonicalAggregate, changes: dict[str, Any]) -> None:
    allowed = {k: v for k, v in changes.items() if k in aggregate.REVISABLE}
    if allowed:
        aggregate.revise(**allowed)
