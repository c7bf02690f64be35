"""The demo's deliver-to-bill: March's billing run for one engagement of each contract type,
through the run command's own code (hub/billing/run.py), so a newcomer sees drafts on the
billing feed and in GET /v1/engagements/{id}/financials.

A run prices work from the metrics projection, so the metrics are first brought to the log's
head here (serve resumes from there: `make run` spends that time once, not twice). Each run
is an event of its own under the API's system name, as a person's run command would be.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.billing_rules import Period
from domain.errors import DomainError
from hub.application import HubApplication
from hub.billing.run import run_billing
from hub.demo.catalog import AS_OF
from hub.projecting import METRICS, runner_of, view_of
from hub.store.recorder import EventMeta

ACTOR = "pshub demo"
# The month the demo firm stands in: its work of that month is not invoiced yet.
PERIOD = Period(date(AS_OF.year, AS_OF.month, 1), date(AS_OF.year, AS_OF.month + 1, 1))
TYPES = ("time_and_materials", "capped_time_and_materials", "fixed_fee", "retainer")
# Engagements tried per contract type before the demo gives up on that type.
TRIES = 8


def run_demo_billing(app: HubApplication, correlation_id: str) -> dict[str, UUID]:
    """Runs billing for the first engagement of each contract type with something due;
    answers contract type -> the engagement billed. A second call finds the runs made."""
    view = view_of(app, METRICS)
    runner_of(app, METRICS, view, None).catch_up(prefetch=True)
    billed: dict[str, UUID] = {}
    for kind in TYPES:
        for engagement_id in _candidates(view, kind):
            meta = EventMeta(
                system="api",
                actor=ACTOR,
                message_id=f"{correlation_id}/billing-run/{engagement_id}",
                correlation_id=correlation_id,
            )
            try:
                outcome = run_billing(app, view, engagement_id, PERIOD, meta)
            except DomainError:  # e.g. two live work contract lines: a person decides
                continue
            if outcome.run.drafts:  # made now, or found made before; [] when nothing is due
                billed[kind] = engagement_id
                break
    return billed


def _candidates(view: Any, kind: str) -> list[UUID]:
    """Active engagements under a live contract line of the type, those with most approved,
    unbilled work of the period first (a fixed fee: with a billing-ready milestone)."""
    if kind == "fixed_fee":
        query = (
            "SELECT (data->>'engagement_id')::uuid AS id FROM {refs} WHERE entity = 'milestone' "
            "AND data->>'status' = 'billing_ready' ORDER BY 1 LIMIT %s"
        )
        return [r["id"] for r in view.query(SQL(query), [TRIES])]
    query = (
        "SELECT (c.data->>'engagement_id')::uuid AS id, count(w.id) AS n FROM {refs} c "
        "LEFT JOIN {work} w ON w.engagement_id = (c.data->>'engagement_id')::uuid "
        "AND w.status = 'approved' AND w.billable AND w.invoice_id IS NULL "
        "AND w.work_date < %s AND NOT w.deleted "
        "WHERE c.entity = 'contract' AND c.data->>'type' = %s "
        "AND c.data->>'engagement_id' IS NOT NULL "
        "AND c.data->>'status' IN ('signed', 'active') AND NOT (c.data->>'deleted')::boolean "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s"
    )
    return [r["id"] for r in view.query(SQL(query), [PERIOD.end, kind, TRIES])]
