"""GoldenRecordsProjection: from pages of domain events to golden records, version-guarded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking

from domain.base import XREF_ADDED
from projections.decoded import shareable
from projections.golden_records.columns import FILTERS
from projections.golden_records.view import GoldenRecordsView, RecordRow, XrefRow
from projections.states import SharedStates

log = logging.getLogger(__name__)

# Serialises an aggregate into its golden record (every field; redaction happens on read).
Serialiser = Callable[[Any], dict[str, Any]]


class GoldenRecordsProjection:
    """Keeps the golden-record tables current; ignores (but tracks) events of other kinds."""

    name = "golden_records"

    def __init__(
        self,
        view: GoldenRecordsView,
        *,
        states: SharedStates,
        to_record: Serialiser,
        application_name: str,
    ) -> None:
        self.view = view
        # The records' states after each event (projections/states.py): shared with the
        # other live projections of the process, never changed here.
        self.states = states
        self.to_record = to_record
        self.application_name = application_name
        self._position: int | None = None

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.application_name)
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        touched: dict[UUID, tuple[Any, int]] = {}
        # The records whose xrefs the page may change: made, or given an xref, in it. Only
        # theirs are written; every touched record's were, unchanged by an approval or a
        # correction (in the feed bench most records are new, so it gains little there).
        linked: set[UUID] = set()
        try:
            self.states.prepare(notifications)
            for notification in notifications:
                if not shareable(notification.topic):
                    continue  # not a golden record (exception cases, provisionings)
                aggregate = self.states.after(notification)
                if aggregate is None:
                    log.warning(
                        "golden records: no aggregate %s before version %d",
                        notification.originator_id,
                        notification.originator_version,
                    )
                elif getattr(aggregate, "ENTITY", "") in FILTERS:
                    touched[aggregate.id] = (aggregate, notification.id)
                    if notification.originator_version == 1 or notification.topic.endswith(
                        f".{XREF_ADDED}"
                    ):
                        linked.add(aggregate.id)
            rows = [
                RecordRow(a.ENTITY, a.id, a.version, position, self.to_record(a))
                for a, position in touched.values()
            ]
            xrefs = [
                XrefRow(x.system, x.tenant, x.type, x.id, a.ENTITY, a.id)
                for a, _ in touched.values()
                if a.id in linked
                for x in a.xrefs
            ]
            self.view.write(rows, xrefs, Tracking(self.application_name, notifications[-1].id))
        except Exception:
            self._position = None
            raise
        self._position = notifications[-1].id
