"""Quote-to-cash: a process manager following the log (DOMAIN.md 3.2, issue 10 part 1).

An engagement becoming won starts its provisioning: the checks run over the engagement as of
that event and its client, each failed check opens a case, a fix (an engagement or client
event) runs them again and closes the cases of what was fixed; once every check passes,
provisioning is requested of every target that follows engagements (the feeds deliver it),
and each target's acknowledgement (the xref the feed records on the engagement) is noted
until every category of target holds it: the engagement is ready, with its setup lead time.
A target that has not acknowledged in time opens DOWNSTREAM_TIMEOUT (`sweep`), which a late
acknowledgement closes; a lost, closed or deleted engagement closes what it opened.

Its events (actor process:quote-to-cash, caused by the triggering event's position) and its
position commit in one transaction, and every step is a no-op where the state says it is
done, so a restart or a replay from position zero records nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.base import XREF_ADDED
from domain.client import Client
from domain.engagement import Engagement
from domain.provisioning import Provisioning, ProvisioningState
from domain.provisioning_checks import Failure, provisioning_checks
from hub.quote_to_cash import cases
from hub.quote_to_cash.store import NAME, ProvisioningStore
from hub.store.recorder import EventMeta

ENGAGEMENT = "domain.engagement:Engagement."
CLIENT = "domain.client:Client."
# Events every canonical aggregate shares (xrefs, revisions, deletion) have the base class's
# topic: whose they are is told by the ids the process knows.
BASE = "domain.base:CanonicalAggregate."
OWN = "domain.provisioning:Provisioning."
# Events after which an engagement may be won: each starts provisioning if it is.
STARTS = frozenset({"Created", "Won", "Activated", "Resumed", "Reopened"})
WON_STATES = frozenset({"won", "active", "on_hold"})
ENDS = {"Lost": "lost", "Closed": "closed", "Deleted": "deleted"}
_P = ProvisioningState


class QuoteToCash:
    """A projection-shaped process manager (projections.runner.Projection)."""

    name = NAME

    def __init__(
        self,
        app: Any,
        store: ProvisioningStore,
        *,
        targets: dict[str, str],
        timeout_seconds: float,
    ) -> None:
        self.app = app
        self.store = store
        self.targets = dict(targets)  # target -> category
        self.timeout_seconds = timeout_seconds
        self.lock = threading.Lock()  # the page and the sweep never write at once
        self._position: int | None = None
        # Engagements with a provisioning, and the blocked ones by client (from the table).
        self._known: set[UUID] | None = None
        self._blocked: dict[UUID, set[UUID]] = {}

    def known(self) -> set[UUID]:
        if self._known is None:
            self._known = set()
            for engagement_id, client_id, state in self.store.index():
                self._known.add(engagement_id)
                if state == _P.BLOCKED and client_id is not None:
                    self._blocked.setdefault(client_id, set()).add(engagement_id)
        return self._known

    def blocked_of(self, client_id: UUID) -> set[UUID]:
        self.known()
        return set(self._blocked.get(client_id, ()))

    def noted(self, provisionings: Sequence[Provisioning]) -> None:
        """Keeps the in-memory index in step with what was just committed."""
        known = self.known()
        for p in provisionings:
            known.add(p.engagement_id)
            for engagements in self._blocked.values():
                engagements.discard(p.engagement_id)
            if p.state == _P.BLOCKED and p.client_id:
                self._blocked.setdefault(UUID(p.client_id), set()).add(p.engagement_id)

    def position(self) -> int:
        if self._position is None:
            self._position = self.store.position()
        return self._position

    def process(self, notifications: Sequence[Notification]) -> None:
        with self.lock:
            page = _Page(self)
            for notification in notifications:
                page.take(notification)
            page.commit(notifications[-1].id)
        self._position = notifications[-1].id

    def replay(self) -> None:
        """Back to position zero with an empty table: the runner reads the whole log again,
        records nothing (every step was done) and fills the table from the process's own
        events."""
        with self.lock:
            self.store.reset()
            self._position = 0

    def sweep(self, now: datetime | None = None) -> list[UUID]:
        """Opens DOWNSTREAM_TIMEOUT for each target asked longer ago than the timeout that has
        not acknowledged; returns the cases opened."""
        now = now or datetime.now(UTC)
        opened: list[UUID] = []
        with self.lock:
            page = _Page(self)
            for engagement_id in self.store.engagements(state=_P.REQUESTED):
                provisioning = page.provisioning(engagement_id)
                if provisioning is None:
                    continue
                for target in provisioning.overdue(now, self.timeout_seconds):
                    case_id = cases.timeout_case_id(engagement_id, target)
                    if page.case(case_id) is None:
                        page.add_case(
                            cases.timeout_case(
                                engagement_id,
                                target,
                                provisioning.targets[target],
                                self.timeout_seconds,
                            )
                        )
                        opened.append(case_id)
                    provisioning.note_timeout(target, case_id)
                page.stamp(EventMeta(system="hub", actor=cases.ACTOR))
            page.commit(0)
        return opened


class _Page:
    """The aggregates one page of the log (or one sweep) changes, saved together."""

    def __init__(self, process: QuoteToCash) -> None:
        self.process = process
        self.app = process.app
        self.provisionings: dict[UUID, Provisioning | None] = {}  # by engagement id
        self.cases: dict[UUID, Any] = {}
        self.metas: dict[tuple[UUID, int], EventMeta] = {}
        # Provisionings as the process's own events in this page leave them: the table is
        # a projection of them too, so a replay from zero rebuilds it.
        self.seen: dict[UUID, Provisioning] = {}

    # Loading -----------------------------------------------------------------------------

    def provisioning(self, engagement_id: UUID) -> Provisioning | None:
        if engagement_id not in self.provisionings:
            self.provisionings[engagement_id] = self.app.find(
                Provisioning.id_for(engagement_id), Provisioning
            )
        return self.provisionings[engagement_id]

    def case(self, case_id: UUID) -> Any:
        if case_id not in self.cases:
            self.cases[case_id] = self.app.find_any(case_id)
        return self.cases[case_id]

    def add_case(self, case: Any) -> None:
        self.cases[case.id] = case

    # Events --------------------------------------------------------------------------------

    def take(self, notification: Notification) -> None:
        topic, originator = notification.topic, notification.originator_id
        if topic.startswith(OWN):
            self._own_event(notification)
            return
        known = originator in self.process.known() or originator in self.provisionings
        if topic.startswith(ENGAGEMENT) or (topic.startswith(BASE) and known):
            self._engagement_event(notification, topic.rsplit(".", 1)[1])
            entity = "engagement"
        elif topic.startswith((CLIENT, BASE)) and self._blocked_of(originator):
            self._client_event(notification)
            entity = "client"
        else:
            return
        self.stamp(
            EventMeta(
                system="hub",
                actor=cases.ACTOR,
                correlation_id=f"{entity}:{originator}",
                causation_id=f"position:{notification.id}",
            )
        )

    def _own_event(self, notification: Notification) -> None:
        provisioning = self.app.find(
            notification.originator_id, Provisioning, version=notification.originator_version
        )
        if provisioning is not None:
            self.seen[provisioning.engagement_id] = provisioning

    def _blocked_of(self, client_id: UUID) -> set[UUID]:
        """Blocked engagements of a client, committed or blocked earlier in this page."""
        found = self.process.blocked_of(client_id)
        for engagement_id, p in self.provisionings.items():
            if p is not None and p.client_id == str(client_id):
                if p.state == _P.BLOCKED:
                    found.add(engagement_id)
                else:
                    found.discard(engagement_id)
        return found

    def _engagement_event(self, notification: Notification, kind: str) -> None:
        engagement_id = notification.originator_id
        # The index knows every provisioning: no read for the engagements it does not hold.
        # (A start looks in the store too: the index may be rebuilding in a replay.)
        known = engagement_id in self.process.known() or engagement_id in self.provisionings
        provisioning = self.provisioning(engagement_id) if known or kind in STARTS else None
        if provisioning is None:
            if kind in STARTS:
                self._start(notification)
            return
        if kind in ENDS:
            self._end(provisioning, ENDS[kind], self._time(notification))
        elif kind == XREF_ADDED:
            ref = self.app.mapper.to_domain_event(notification).ref
            self._acknowledge(provisioning, ref, self._time(notification))
        elif provisioning.state in (_P.WON, _P.BLOCKED) and provisioning.is_new(
            engagement_id, notification.originator_version
        ):
            engagement = self._engagement(engagement_id, notification.originator_version)
            if engagement is not None:
                self._validate(provisioning, engagement, self._time(notification))

    def _client_event(self, notification: Notification) -> None:
        client_id = notification.originator_id
        for engagement_id in sorted(self._blocked_of(client_id)):
            provisioning = self.provisioning(engagement_id)
            if (
                provisioning is None
                or provisioning.state != _P.BLOCKED
                or not provisioning.is_new(client_id, notification.originator_version)
            ):
                continue
            version = provisioning.checked.get(str(engagement_id))
            engagement = self._engagement(engagement_id, version)
            if engagement is not None:
                self._validate(provisioning, engagement, self._time(notification))

    # Steps ---------------------------------------------------------------------------------

    def _start(self, notification: Notification) -> None:
        engagement = self._engagement(notification.originator_id, notification.originator_version)
        if engagement is None or engagement.deleted or str(engagement.status) not in WON_STATES:
            return
        at = self._time(notification)
        won_at = engagement.won_at if engagement.won_at and engagement.won_at <= at else at
        provisioning = Provisioning.start(
            engagement_id=engagement.id, won_at=won_at, targets=self.process.targets
        )
        self.provisionings[engagement.id] = provisioning
        # A target that held the engagement before it was won (it came from there).
        for ref in engagement.xrefs:
            provisioning.acknowledge(ref.system, str(ref), at=at)
        self._validate(provisioning, engagement, at)

    def _validate(self, provisioning: Provisioning, engagement: Any, at: datetime) -> None:
        client = self.app.find(engagement.client_id, Client) if engagement.client_id else None
        failures = provisioning_checks(engagement, client)
        before = {f["field"]: f["reason"] for f in provisioning.failures}
        seen = {engagement.id: engagement.version}
        if client is not None:
            seen[client.id] = client.version
        new = provisioning.validate(failures, client_id=engagement.client_id, seen=seen, at=at)
        for failure in new:
            self._open_check(engagement, failure)
        now = {f.field for f in failures}
        for field, reason in before.items():
            if field not in now or provisioning.state != _P.BLOCKED:
                self._close_check(engagement.id, reason, field, "fixed")

    def _open_check(self, engagement: Any, failure: Failure) -> None:
        case, round_ = cases.find_check_case(
            self.case, engagement.id, failure.reason, failure.field
        )
        if case is None:
            self.add_case(cases.check_case(engagement.id, engagement.client_id, failure, round_))

    def _close_check(self, engagement_id: UUID, reason: str, field: str, note: str) -> None:
        case, _ = cases.find_check_case(self.case, engagement_id, reason, field)
        if cases.is_open(case):
            case.resolve(by=cases.ACTOR, note=note)

    def _acknowledge(self, provisioning: Provisioning, ref: Any, at: datetime) -> None:
        timeout = provisioning.timeouts.get(ref.system)
        if provisioning.acknowledge(ref.system, str(ref), at=at) and timeout:
            case = self.case(UUID(timeout))
            if cases.is_open(case):
                case.resolve(by=cases.ACTOR, note=f"acknowledged late as {ref}")

    def _end(self, provisioning: Provisioning, reason: str, at: datetime) -> None:
        failures = list(provisioning.failures)
        timeouts = dict(provisioning.timeouts)
        if not provisioning.close(reason):
            return
        note = f"engagement {reason}"
        for failure in failures:
            self._close_check(provisioning.engagement_id, failure["reason"], failure["field"], note)
        for case_id in timeouts.values():
            case = self.case(UUID(case_id))
            if cases.is_open(case):
                case.resolve(by=cases.ACTOR, note=note)

    # Helpers -------------------------------------------------------------------------------

    def _engagement(self, engagement_id: UUID, version: int | None) -> Engagement | None:
        return self.app.find(engagement_id, Engagement, version=version)

    def _time(self, notification: Notification) -> datetime:
        return self.app.mapper.to_domain_event(notification).timestamp

    def stamp(self, meta: EventMeta) -> None:
        """Gives the events raised since the last stamp their metadata (their cause)."""
        for aggregate in self._changed():
            for pending in aggregate.pending_events:
                self.metas.setdefault((pending.originator_id, pending.originator_version), meta)

    def _changed(self) -> list[Any]:
        found = [p for p in self.provisionings.values() if p is not None and p.pending_events]
        return found + [c for c in self.cases.values() if c is not None and c.pending_events]

    def commit(self, position: int) -> None:
        changed = self._changed()
        rows = {**self.seen, **{p.engagement_id: p for p in changed if isinstance(p, Provisioning)}}
        provisionings = list(rows.values())
        if not changed:
            with self.process.store.datastore.transaction(commit=True) as curs:
                self.process.store.write(curs, provisionings, position)
        else:

            def write(curs: Any, _: Any) -> None:
                self.process.store.write(curs, provisionings, position)

            self.app.record(*changed, meta=self.metas, extra_writes=[write])
        self.process.noted([p for p in changed if isinstance(p, Provisioning)])
        self.process.known().update(self.seen)
