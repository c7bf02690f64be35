"""The demo's deliver-to-bill: March's billing run for one engagement of each contract type,
through the run command's own code (hub/billing/run.py), so a newcomer sees drafts on the
billing feed and in GET /v1/engagements/{id}/financials.

A run prices work from the metrics projection. Bringing the whole metrics projection to the
log's head here would cost the load about half its time again, so the runs read a scratch
generation of the metrics fed with the events of what they price only: every rate card,
resource, client, engagement and contract, and the candidate engagements' time, expenses,
milestones and invoices (the pricing needs no more). It is dropped after; serve projects the
whole log, the runs included, as always. Each run is an event of its own under the API's
system name, as a person's run command would be.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Notification
from psycopg.sql import SQL, Identifier

from domain.billing_rules import Period
from domain.errors import DomainError
from hub.application import HubApplication
from hub.billing.run import run_billing
from hub.demo.catalog import AS_OF
from hub.store.recorder import EventMeta
from projections.metrics.projection import MetricsProjection
from projections.metrics.view import MetricsView
from projections.runner import create_tables

ACTOR = "pshub demo"
# The month the demo firm stands in: its work of that month is not invoiced yet.
PERIOD = Period(date(AS_OF.year, AS_OF.month, 1), date(AS_OF.year, AS_OF.month + 1, 1))
TYPES = ("time_and_materials", "capped_time_and_materials", "fixed_fee", "retainer")
# Engagements tried per contract type before the demo gives up on that type.
TRIES = 4
# A generation no rebuild reaches (they count up from 1): the scratch metrics' tables.
SCRATCH_GENERATION = 9_999
# Records every run's pricing reads, whichever engagement it bills.
_SHARED = frozenset({"rate_card", "resource", "client", "engagement", "contract"})
_PAGE = 2_000


def run_demo_billing(
    app: HubApplication, built: Mapping[UUID, Any], correlation_id: str
) -> dict[str, UUID]:
    """Runs billing for the first candidate engagement of each contract type with something
    due; answers contract type -> the engagement billed."""
    candidates = _candidates(built)
    engagements = {e for found in candidates.values() for e in found}
    ids = [
        i
        for i, a in built.items()
        if a.ENTITY in _SHARED or getattr(a, "engagement_id", None) in engagements
    ]
    view = MetricsView(app.hub_recorder.datastore, generation=SCRATCH_GENERATION)
    view.drop()  # what an interrupted load may have left
    create_tables(view.create_table)
    try:
        projection = MetricsProjection(
            view, mapper=app.mapper, load=_loader(app), application_name=app.name
        )
        for page in _notifications(app, ids):
            projection.process(page)
        return _run(app, view, candidates, correlation_id)
    finally:
        view.drop()


def _run(
    app: HubApplication, view: MetricsView, candidates: dict[str, list[UUID]], correlation: str
) -> dict[str, UUID]:
    billed: dict[str, UUID] = {}
    for kind in TYPES:
        for engagement_id in candidates[kind]:
            meta = EventMeta(
                system="api",
                actor=ACTOR,
                message_id=f"{correlation}/billing-run/{engagement_id}",
                correlation_id=correlation,
            )
            try:
                outcome = run_billing(app, view, engagement_id, PERIOD, meta)
            except DomainError:  # e.g. two live work contract lines: a person decides
                continue
            if outcome.run.drafts:  # [] when nothing is due
                billed[kind] = engagement_id
                break
    return billed


def _candidates(built: Mapping[UUID, Any]) -> dict[str, list[UUID]]:
    """Per contract type, engagements under a live contract line of it, most approved and
    unbilled billable work before the period's end first (a fixed fee: with a billing-ready
    milestone not invoiced)."""
    due: dict[UUID, int] = {}
    ready: set[UUID] = set()
    for a in built.values():
        if a.ENTITY in ("time_entry", "expense") and a.billable and a.invoice_id is None:
            day = a.work_date if a.ENTITY == "time_entry" else a.spent_date
            if str(a.status) == "approved" and day < PERIOD.end:
                due[a.engagement_id] = due.get(a.engagement_id, 0) + 1
        elif a.ENTITY == "milestone" and str(a.status) == "billing_ready" and not a.invoice_id:
            ready.add(a.engagement_id)
    found: dict[str, list[UUID]] = {kind: [] for kind in TYPES}
    for a in built.values():
        if a.ENTITY != "contract" or a.engagement_id is None or a.deleted:
            continue
        kind = str(a.type)
        if kind not in found or str(a.status) not in ("signed", "active"):
            continue
        if kind == "fixed_fee":
            worth = a.engagement_id in ready
        else:  # a retainer's fee is always due; T&M needs work
            worth = kind == "retainer" or due.get(a.engagement_id, 0) > 0
        if worth:
            found[kind].append(a.engagement_id)
    return {
        kind: sorted(set(ids), key=lambda e: (-due.get(e, 0), e))[:TRIES]
        for kind, ids in found.items()
    }


def _notifications(app: HubApplication, ids: list[UUID]) -> Iterator[list[Notification]]:
    """The events of these records, in log order, a page at a time."""
    datastore = app.hub_recorder.datastore
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE originator_id = ANY(%s) ORDER BY notification_id"
    ).format(Identifier(datastore.schema, app.hub_recorder.events_table_name))
    with datastore.get_connection() as conn:
        rows = conn.execute(statement, (ids,)).fetchall()
    page = [
        Notification(
            id=r["notification_id"],
            originator_id=r["originator_id"],
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=bytes(r["state"]),
        )
        for r in rows
    ]
    for start in range(0, len(page), _PAGE):
        yield page[start : start + _PAGE]


def _loader(app: HubApplication) -> Any:
    def load(aggregate_id: UUID, version: int) -> Any:
        try:
            return app.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None

    return load
