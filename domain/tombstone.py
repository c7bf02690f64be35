"""Tombstone: a source record deleted before the hub ever saw it.

Sources delete records the hub never received (a Graph `deleted` facet in a delta page, a
Salesforce DELETE of a record created and removed between two polls). The deletion is
recorded against the xref, so that a stale create arriving later is not taken for a new record;
a newer change (an undelete, a restore) revives it as a record of its entity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import natural_id
from domain.values import SourceRef


class Tombstone(Aggregate):
    """The deletion of a source record the hub never knew, kept under its xref."""

    ENTITY = "tombstone"

    @staticmethod
    def id_for(entity: str, ref: SourceRef) -> UUID:
        return natural_id("tombstone", entity, *ref.key)

    @classmethod
    def record(
        cls, *, entity: str, xref: SourceRef, reason: str, deleted_at: datetime
    ) -> Tombstone:
        """Records the deletion of a record of `entity` known only by its xref."""
        return cls(
            id=cls.id_for(entity, xref),
            entity=entity,
            xref=xref,
            reason=reason or "source_deleted",
            deleted_at=deleted_at,
        )

    @event("Recorded")
    def __init__(
        self, *, id: Any, entity: str, xref: SourceRef, reason: str, deleted_at: datetime
    ) -> None:
        self.entity = entity
        self.xref = xref
        self.reason = reason
        self.deleted_at = deleted_at
        self.revived_as: UUID | None = None

    def revive(self, canonical_id: UUID) -> None:
        """The source brought the record back: it lives on as `canonical_id`."""
        if self.revived_as is None:
            self._revived(canonical_id=canonical_id)

    @event("Revived")
    def _revived(self, canonical_id: UUID) -> None:
        self.revived_as = canonical_id
