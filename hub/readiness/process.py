"""The billing-readiness process manager: follows the log like a projection and, when an
input of a milestone's readiness changes (the milestone accepted, its contract activated, a
document linked, time approved, the client's country or VAT number known), settles the
accepted milestones of that engagement (hub/readiness/settle.py).

Its index and position commit in one transaction after the page's actions are recorded, so a
crash in between repeats actions that are idempotent; a rebuild from position zero reaches
the same outcome without a second BillingReady or a duplicate case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking

from hub.application import HubApplication
from hub.readiness.index import MEMBER_ENTITIES, ReadinessIndex
from hub.readiness.settle import settle

# Modules whose events never move a readiness check: not even loaded. (Events declared on a
# base class, like Revised, carry its topic: those records are loaded to see what they are.)
_IGNORED_MODULES = frozenset(
    {"hub.exceptions", "domain.invoice", "domain.rate_card", "domain.resource", "domain.tombstone"}
)


def _member_row(record: Any) -> tuple[Any, ...]:
    entity = record.ENTITY
    engagement_id = record.id if entity == "engagement" else getattr(record, "engagement_id", None)
    client_id = getattr(record, "client_id", None) if entity == "engagement" else None
    contract_id = getattr(record, "contract_id", None) if entity == "milestone" else None
    return (record.id, entity, engagement_id, client_id, contract_id)


class BillingReadinessProcess:
    name = "billing_readiness"

    def __init__(
        self,
        index: ReadinessIndex,
        app: HubApplication,
        countries: Callable[[], Mapping[str, str]],
    ) -> None:
        self.view = index
        self.app = app
        self.countries = countries
        self._position: int | None = None

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.app.name)
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        try:
            self._process(notifications)
        except Exception:
            self._position = None  # what committed is the truth: read it again
            raise
        self._position = notifications[-1].id

    def _settle(self, curs: Any, dirty: list[tuple[UUID, int, set[UUID]]]) -> None:
        countries = self.countries()
        for engagement_id, position, own in dirty:
            for milestone_id in sorted(self.view.members(curs, engagement_id, ["milestone"])):
                settle(
                    self.app,
                    milestone_id,
                    members=lambda e, kinds: self.view.members(curs, e, kinds),
                    countries=countries,
                    cause=f"event:{position}",
                    own_event=milestone_id in own,
                )

    def _process(self, notifications: Sequence[Notification]) -> None:
        # The last position at which each record changed in this page: it causes what follows.
        last: dict[UUID, int] = {}
        for n in notifications:
            if n.topic.partition(":")[0] not in _IGNORED_MODULES:
                last[n.originator_id] = n.id
        self.app.preload(list(last))
        records = {}
        for record_id in last:
            record = self.app.peek(record_id)  # read only: which engagement it belongs to
            if getattr(record, "ENTITY", "") in MEMBER_ENTITIES | {"client"}:
                records[record_id] = record
        index = self.view
        with index.datastore.transaction(commit=True) as curs:
            members = [_member_row(r) for r in records.values() if r.ENTITY in MEMBER_ENTITIES]
            indexed = index.indexed(curs, [row[0] for row in members])
            # Only rows that change: a record rarely moves (most changes are of its hours,
            # status, approval), and each row rewritten cost an index update.
            index.upsert(curs, [row for row in members if indexed.get(row[0]) != row])
            before = {record_id: row[2] for record_id, row in indexed.items()}
            # Engagement -> the position that made it worth a look, and its milestones that
            # changed themselves.
            dirty: dict[UUID, tuple[int, set[UUID]]] = {}
            for record in records.values():
                position = last[record.id]
                if record.ENTITY == "client":
                    engagements = index.engagements_of_clients(curs, [record.id])
                else:
                    engagements = {before.get(record.id), _member_row(record)[2]}
                for engagement_id in engagements - {None}:
                    seen, own = dirty.get(engagement_id, (0, set()))
                    if record.ENTITY == "milestone":
                        own = own | {record.id}
                    dirty[engagement_id] = (max(seen, position), own)
            index.mark_dirty(curs, dirty)
            # Records are loaded as they are now, so the index must be complete up to now
            # before anything is judged: while the process is behind the head of the log (a
            # catch-up, a rebuild from zero) it only indexes, then judges once it is there.
            if notifications[-1].id >= self.app.hub_recorder.select_head()[0]:
                self._settle(curs, index.take_dirty(curs))
            index.track(curs, Tracking(self.app.name, notifications[-1].id))
