"""MetricsProjection: work priced at the rate card in force on its date, invoices, and what
the business metrics need of engagements, people, contracts, cards, milestones and cases.

Pricing rule (DOMAIN 3.3): an entry is priced when its fact is first known, and again only
when its fact changes (a correction is a new fact). A rate change re-prices nothing already
priced from a card (the default is non-retroactive); it prices the unbilled work that had no
card line yet, whose source rate, if any, was only provisional. Billed and locked work keeps
its price. Everything depends on log order only, so a rebuild from zero gives the same rows.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, Tracking

from domain.base import XREF_ADDED
from domain.pricing import PricingState
from projections.decoded import shareable
from projections.metrics import rows as R
from projections.metrics.setup import PROVISIONING, provisioning_ref
from projections.metrics.view import MetricsView
from projections.states import SharedStates

log = logging.getLogger(__name__)

CASE_TOPIC_PREFIX = "hub.exceptions:ExceptionCase."
WORK_ENTITIES = ("time_entry", "expense")
# Events after which a time entry's current fact stands approved (a correction is a new fact).
APPROVING = frozenset({"Recorded", "Approved", "Corrected"})
PRICE_FIELDS = ("currency", "rate", "value", "basis", "cost_currency", "cost")


class MetricsProjection:
    name = "metrics"

    def __init__(
        self,
        view: MetricsView,
        *,
        mapper: Mapper[UUID],
        load: Callable[[UUID, int], Any],
        application_name: str,
        cache_size: int = 5_000,
        states: SharedStates | None = None,
    ) -> None:
        self.view = view
        self.mapper = mapper
        self.load = load
        # The records' states after each event, shared by the live projections of the
        # process (projections/states.py); exception cases and provisionings are its own.
        self.states = states or SharedStates(mapper, load)
        self.application_name = application_name
        self.cache_size = cache_size
        self._cache: OrderedDict[UUID, Any] = OrderedDict()
        self._position: int | None = None
        self._state: PricingState | None = None
        self._refs: dict[UUID, tuple[str, dict[str, Any]]] = {}

    def position(self) -> int:
        if self._position is None:
            self._position = self.view.position(self.application_name)
        return self._position

    # Processing a page -----------------------------------------------------------------

    def process(self, notifications: Sequence[Notification]) -> None:
        try:
            self._process(notifications)
        except Exception:
            # In-memory state may be ahead of what committed: start afresh from the tables.
            self._cache.clear()
            self._state = None
            self._position = None
            raise
        self._position = notifications[-1].id

    def _process(self, notifications: Sequence[Notification]) -> None:
        state = self._pricing_state()
        self.states.prepare(notifications)
        # Every originator, not only topics naming TimeEntry: events declared on a base class
        # (Revised, XrefAdded) carry the base class's topic.
        stored = self.view.prices(list({n.originator_id for n in notifications}))
        work: dict[UUID, dict[str, Any]] = {}
        invoices: dict[UUID, dict[str, Any]] = {}
        refs: dict[UUID, tuple[str, UUID, int, dict[str, Any]]] = {}
        for notification in notifications:
            aggregate = self._advance(notification)
            if aggregate is None:
                continue
            entity = getattr(aggregate, "ENTITY", "")
            kind = notification.topic.rsplit(".", 1)[-1]
            if entity == "time_entry":
                row = R.time_row(aggregate)
                prior = work.get(aggregate.id) or stored.get(aggregate.id)
                work[aggregate.id] = _keep_or_price(row, prior, state)
                if kind in APPROVING and row["status"] == "approved":
                    # When this fact was approved: where the billing-sync SLA starts.
                    # Written, not kept in memory: the projection never reads it back.
                    at = {"approved_at": aggregate.modified_on.astimezone(UTC).isoformat()}
                    refs[aggregate.id] = ("approval", aggregate.id, aggregate.version, at)
            elif entity == "expense":
                work[aggregate.id] = R.expense_row(aggregate)
            elif entity == "invoice":
                invoices[aggregate.id] = R.invoice_row(aggregate)
                synced = R.billing_sync(aggregate, kind, self._refs.get(aggregate.id))
                if synced is not None:
                    refs[aggregate.id] = self._ref(aggregate, "invoice_sync", synced)
            elif notification.topic.startswith(CASE_TOPIC_PREFIX):
                previous = self._refs.get(aggregate.id, ("", {}))[1]
                refs[aggregate.id] = self._ref(
                    aggregate, "exception_case", _case(aggregate, previous)
                )
            elif entity == PROVISIONING:  # quote-to-cash's setup lead time (setup.py)
                refs[aggregate.id] = self._ref(aggregate, entity, provisioning_ref(aggregate))
            else:
                data = R.reference(aggregate, self._refs.get(aggregate.id, ("", None))[1])
                if data is None:
                    continue
                if entity == "engagement":
                    _timeline(data, kind, aggregate)
                elif entity == "milestone" and kind == "MadeBillingReady":
                    # Where invoice cycle time starts (billing-ready -> issued -> paid).
                    data["ready_at"] = aggregate.modified_on.astimezone(UTC).isoformat()
                refs[aggregate.id] = self._ref(aggregate, entity, data)
                state.learn(entity, aggregate.id, data)
                if entity == "rate_card":
                    for row in self._unpriced(work):
                        work[row["id"]] = _keep_or_price(row, None, state)
        self.view.write(
            list(work.values()),
            list(invoices.values()),
            list(refs.values()),
            Tracking(self.application_name, notifications[-1].id),
        )

    def _ref(
        self, aggregate: Any, entity: str, data: dict[str, Any]
    ) -> tuple[str, UUID, int, dict[str, Any]]:
        self._refs[aggregate.id] = (entity, data)
        return (entity, aggregate.id, aggregate.version, data)

    def _unpriced(self, work: dict[UUID, dict[str, Any]]) -> list[dict[str, Any]]:
        """Time that a card may now price: stored, and in this page not yet written."""
        found = {row["id"]: row for row in self.view.unpriced()}
        for row in work.values():
            if row["kind"] == "time":
                found.pop(row["id"], None)
                if not row["deleted"] and (
                    row["basis"] == "none"
                    or (row["basis"] == "source" and row["status"] not in R.FROZEN_STATES)
                ):
                    found[row["id"]] = row
        return list(found.values())

    def _pricing_state(self) -> PricingState:
        if self._state is None:
            self._state = PricingState()
            self._refs = {}
            for entity, ref_id, data in self.view.all_refs():
                self._refs[ref_id] = (entity, data)
                self._state.learn(entity, ref_id, data)
        return self._state

    def _advance(self, notification: Notification) -> Any:
        if shareable(notification.topic):
            return self.states.after(notification)  # shared: never changed here
        aggregate_id = notification.originator_id
        aggregate = self._cache.pop(aggregate_id, None)
        version = notification.originator_version
        if aggregate is not None and aggregate.version != version - 1:
            aggregate = None
        if aggregate is None and version > 1:
            aggregate = self.load(aggregate_id, version - 1)
            if aggregate is None:
                log.warning("metrics: no aggregate %s at version %d", aggregate_id, version - 1)
                return None
        aggregate = self.mapper.to_domain_event(notification).mutate(aggregate)
        self._cache[aggregate_id] = aggregate
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return aggregate


def _keep_or_price(
    row: dict[str, Any], prior: dict[str, Any] | None, state: PricingState
) -> dict[str, Any]:
    if prior is not None and R.fact_key(prior) == R.fact_key(row):
        frozen = prior["status"] in R.FROZEN_STATES or row["status"] in R.FROZEN_STATES
        # Work never priced at all is priced whenever a rate becomes known, billed or not.
        if prior["basis"] == "card" or (frozen and prior["basis"] != "none"):
            return {**row, **{k: prior[k] for k in PRICE_FIELDS}}
    return R.priced(row, state.price(row))


def _timeline(data: dict[str, Any], kind: str, aggregate: Any) -> None:
    """When the engagement was won and first linked to a delivery system (setup lead time)."""
    at = aggregate.modified_on.astimezone(UTC).isoformat()
    if data.get("won_at") is None and (
        kind == "Won" or (kind == "Created" and data["status"] in ("won", "active"))
    ):
        data["won_at"] = at
    elif data.get("won_at") and not data.get("set_up_at") and kind == XREF_ADDED:
        data["set_up_at"] = at


def _case(case: Any, previous: dict[str, Any]) -> dict[str, Any]:
    """A case's reason and when it was raised and first closed (resolution time)."""
    status = str(case.status)
    # Cases that stamp their own closing time say it; older ones close with the event that
    # first closed them.
    closed_at = getattr(case, "closed_at", None) or previous.get("closed_at")
    if not closed_at and status in ("resolved", "dismissed"):
        closed_at = case.modified_on.astimezone(UTC).isoformat()
    return {
        "reason": case.reason,
        "status": status,
        "raised_at": case.created_on.astimezone(UTC).isoformat(),
        "closed_at": closed_at,
    }
