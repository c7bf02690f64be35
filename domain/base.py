"""What every canonical aggregate shares: cross-references, attribute revisions, tombstones."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolationError
from domain.values import PendingLink, SourceRef

# The name of the event that gives a record another xref: with its creation, the only event
# that changes a record's xrefs (projections and processes recognise it by this name).
XREF_ADDED = "XrefAdded"


class CanonicalAggregate(Aggregate):
    """Base of the ten canonical aggregates.

    Subclasses name their entity (`ENTITY`, as in subjects) and the attributes that a plain
    revision may change (`REVISABLE`); lifecycle fields change only through their own events.
    """

    ENTITY: ClassVar[str] = ""
    REVISABLE: ClassVar[frozenset[str]] = frozenset()
    # Descriptive attributes and their defaults: what sources report about a record beyond its
    # identity, lifecycle and money rules (an address, a web URL, a probability). They carry no
    # invariant, so they are given at creation (`details`) and changed by a plain revision,
    # None clearing them; subclasses list them in REVISABLE too (`| frozenset(DETAILS)`).
    DETAILS: ClassVar[dict[str, Any]] = {}
    # Revisable attributes held as enums: a stored event gives them back as plain strings.
    ENUM_FIELDS: ClassVar[dict[str, type[StrEnum]]] = {}

    # Instance state (xrefs, deleted, deleted_reason) is set in _init_canonical; class-level
    # annotations would make the library turn the aggregate into a dataclass.

    # Defaults live on the class, not on each instance: nothing to set per creation on the
    # ingest path, and a snapshot taken before an attribute existed reads its default, as
    # replaying the events would. Events assign instance values over them.
    pending_links = ()  # type: tuple[PendingLink, ...] | list[PendingLink]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, default in cls.DETAILS.items():
            if name not in cls.__dict__:
                setattr(cls, name, default)

    def _init_canonical(
        self,
        xrefs: list[SourceRef] | tuple[SourceRef, ...],
        details: Mapping[str, Any] | None = None,
    ) -> None:
        # Called from each subclass's creation event body, replay included.
        self.xrefs = list(xrefs)
        self.deleted = False
        self.deleted_reason = ""
        for name, value in (details or {}).items():
            setattr(self, name, value)

    @classmethod
    def check_details(cls, details: Mapping[str, Any] | None) -> dict[str, Any]:
        """Returns the descriptive attributes given at creation, refusing unknown names."""
        if not details:
            return {}  # the common case on the ingest path
        defaults = cls.DETAILS
        unknown = sorted(name for name in details if name not in defaults)
        if unknown:
            raise RuleViolationError(
                f"{cls.ENTITY} has no descriptive attributes {unknown}",
                rule="unknown_detail",
                field=unknown[0],
            )
        # Only what differs from the defaults is stored with the creation event.
        return {k: v for k, v in details.items() if v != defaults[k]}

    # Cross-references -------------------------------------------------------------------

    def add_xref(self, ref: SourceRef) -> None:
        """Links another source record to this entity (idempotent)."""
        if any(existing.key == ref.key for existing in self.xrefs):
            return
        self._xref_added(ref=ref)

    @event(XREF_ADDED)
    def _xref_added(self, ref: SourceRef) -> None:
        self.xrefs = [*self.xrefs, ref]

    # Links: references to records not known yet ------------------------------------------

    def hold_link(self, link: PendingLink) -> None:
        """Keeps a reference to a record the hub does not know yet (replacing another held
        for the same single-valued field)."""
        if link in self.pending_links:
            return
        self._link_held(link=link)

    @event("LinkHeld")
    def _link_held(self, link: PendingLink) -> None:
        kept = [held for held in self.pending_links if link.many or held.field != link.field]
        self.pending_links = [*kept, link]

    def resolve_link(self, link: PendingLink, canonical_id: UUID) -> None:
        """Points a held reference at the record it names, now known."""
        if link not in self.pending_links:
            return
        self._link_resolved(link=link, canonical_id=canonical_id)

    @event("LinkResolved")
    def _link_resolved(self, link: PendingLink, canonical_id: UUID) -> None:
        self.pending_links = [held for held in self.pending_links if held != link]
        self.assign_link(link.field, canonical_id)

    def assign_link(self, field: str, canonical_id: UUID) -> None:
        """Sets a resolved reference (subclasses whose links sit deeper override this)."""
        if field.endswith("_ids"):
            current = list(getattr(self, field) or [])
            if canonical_id not in current:
                setattr(self, field, [*current, canonical_id])
        else:
            setattr(self, field, canonical_id)

    def release_link(self, field: str) -> None:
        """Forgets the references held for a field: the source now names a known record, or
        none."""
        if any(held.field == field for held in self.pending_links):
            self._link_released(field=field)

    @event("LinkReleased")
    def _link_released(self, field: str) -> None:
        self.pending_links = [held for held in self.pending_links if held.field != field]

    # Revisions of plain attributes ----------------------------------------------------------

    def revise(self, **changes: Any) -> dict[str, Any]:
        """Applies changed attributes after checking them; returns what actually changed."""
        self.check_not_deleted("revise")
        unknown = sorted(set(changes) - self.REVISABLE)
        if unknown:
            raise RuleViolationError(
                f"{self.ENTITY} attributes {unknown} cannot be revised directly",
                rule="not_revisable",
                field=unknown[0],
            )
        checked = self.check_revision(dict(changes))
        effective = {k: v for k, v in checked.items() if getattr(self, k) != v}
        if effective:
            self._revised(changes=effective)
        return effective

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Returns the changes normalised, or raises a DomainError (subclasses extend)."""
        return changes

    @event("Revised")
    def _revised(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            enum = self.ENUM_FIELDS.get(name)
            setattr(self, name, value if enum is None else enum(value))

    # Tombstones -----------------------------------------------------------------------

    def delete(self, reason: str = "source_deleted") -> None:
        """Marks the record deleted at its source; the history stays."""
        if self.deleted:
            return
        self.check_deletable()
        self._deleted(reason=reason)

    def check_deletable(self) -> None:
        """Raises a DomainError when the record must not be deleted (subclasses extend)."""

    @event("Deleted")
    def _deleted(self, reason: str) -> None:
        self.deleted = True
        self.deleted_reason = reason

    def restore(self) -> None:
        """Brings a tombstoned record back (Salesforce UNDELETE, Confluence page_restored)."""
        if not self.deleted:
            return
        self._restored()

    @event("Restored")
    def _restored(self) -> None:
        self.deleted = False
        self.deleted_reason = ""

    def check_not_deleted(self, action: str) -> None:
        if self.deleted:
            raise RuleViolationError(
                f"{self.ENTITY} {self.id} is deleted and cannot {action}", rule="deleted"
            )
