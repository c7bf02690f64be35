"""Reads of what billing runs drafted (projections/metrics/rows.py keeps each run as reference
data): the runs and their drafts' invoice states, and invoice cycle time.

Invoice cycle time starts when the draft's work became billing-ready: the latest
MadeBillingReady of the milestones a draft bills, else (time, expenses, a retainer) the run
that drafted it; it ends at the invoice's issue date and at the date it was paid in full, as
the billing engine reported them back through ingest. Days, by calendar date (UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from projections.metrics.view import MetricsView


def runs(
    view: MetricsView, engagement_id: UUID | None = None
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, bool]]]:
    """The billing runs (of one engagement, or all) and the status of each draft's invoice."""
    query = "SELECT data FROM {refs} WHERE entity = 'billing_run'"
    params: list[Any] = []
    if engagement_id is not None:
        query += " AND data->>'engagement_id' = %s"
        params.append(str(engagement_id))
    found = view.query(SQL(query), params)
    ids = [d["invoice_id"] for r in found for d in r["data"]["drafts"]]
    rows = view.query(
        SQL("SELECT id, status, deleted FROM {invoices} WHERE id = ANY(%s::uuid[])"), [ids]
    )
    return [r["data"] for r in found], {str(r["id"]): (r["status"], r["deleted"]) for r in rows}


def cycle_times(view: MetricsView, engagement_id: UUID | None = None) -> list[dict[str, Any]]:
    """Per run draft: when it became billing-ready, when it was issued and paid, and the days
    between (None where that has not happened yet)."""
    found, _ = runs(view, engagement_id)
    ready = {
        str(r["id"]): r["data"].get("ready_at")
        for r in view.query(SQL("SELECT id, data FROM {refs} WHERE entity = 'milestone'"))
    }
    ids = [d["invoice_id"] for r in found for d in r["drafts"]]
    invoices = {
        str(r["id"]): r
        for r in view.query(
            SQL(
                "SELECT id, status, deleted, issue_date, paid_on FROM {invoices} "
                "WHERE id = ANY(%s::uuid[])"
            ),
            [ids],
        )
    }
    result = []
    for run in found:
        for d in run["drafts"]:
            invoice = invoices.get(d["invoice_id"]) or {}
            if invoice.get("deleted") or invoice.get("status") == "void":
                continue
            marks = [ready[m] for m in d["milestones"] if ready.get(m)]
            start = _day(max(marks) if marks else run["ran_at"])
            status = invoice.get("status", "draft")
            issued = invoice.get("issue_date") if status in ("issued", "paid") else None
            paid = invoice.get("paid_on") if status == "paid" else None
            result.append(
                {
                    "engagement_id": run["engagement_id"],
                    "invoice_id": d["invoice_id"],
                    "currency": d["currency"],
                    "status": status,
                    "ready_on": start.isoformat(),
                    "issued_on": None if issued is None else issued.isoformat(),
                    "paid_on": None if paid is None else paid.isoformat(),
                    "days_to_issue": None if issued is None else max((issued - start).days, 0),
                    "days_to_paid": None if paid is None else max((paid - start).days, 0),
                }
            )
    return sorted(result, key=lambda c: (c["ready_on"], c["invoice_id"]))


def _day(instant: str) -> date:
    return datetime.fromisoformat(instant).date()


def sync_sla(
    view: MetricsView, sla_hours: float, now: datetime, engagement_id: UUID | None = None
) -> dict[str, Any]:
    """The share of approved billable time that reached the billing engine within the SLA:
    from the approval of the entry's current fact to the first acknowledgement, by QuickBooks,
    Xero, Stripe or Chargebee, of the run draft that bills it. Hours-weighted, over the time
    whose SLA has run out or that was synced; time billed outside billing runs (an invoice
    the engine made itself) is left out, since when it reached the engine is not known."""
    sla = timedelta(hours=sla_hours)
    approved = _instants(view, "approval", "approved_at")
    synced = _instants(view, "invoice_sync", "synced_at")
    found, statuses = runs(view, engagement_id)
    draft_of = {
        item: d["invoice_id"]
        for run in found
        for d in run["drafts"]
        if not statuses.get(d["invoice_id"], ("", False))[1]
        and statuses.get(d["invoice_id"], ("draft", False))[0] != "void"
        for item in d["items"]
    }
    query = (
        "SELECT id, hours, status FROM {work} WHERE kind = 'time' AND billable AND NOT deleted "
        "AND NOT running AND status IN ('approved', 'billed', 'locked')"
    )
    params: list[Any] = []
    if engagement_id is not None:
        query += " AND engagement_id = %s"
        params.append(engagement_id)
    due = within = waiting = Decimal(0)
    for row in view.query(SQL(query), params):
        key, hours = str(row["id"]), Decimal(row["hours"])
        start = approved.get(key)
        if start is None or (row["status"] != "approved" and key not in draft_of):
            continue
        reached = synced.get(draft_of.get(key, ""))
        if reached is not None:
            due += hours
            within += hours if reached - start <= sla else 0
        elif now - start > sla:
            due += hours
        else:
            waiting += hours
    return {
        "sla_hours": sla_hours,
        "due_hours": str(due),
        "within_sla_hours": str(within),
        "waiting_hours": str(waiting),
        "share_within_sla": None if due == 0 else str((within / due).quantize(Decimal("0.0001"))),
    }


def _instants(view: MetricsView, entity: str, field: str) -> dict[str, datetime]:
    rows = view.query(SQL("SELECT id, data FROM {refs} WHERE entity = %s"), [entity])
    return {str(r["id"]): datetime.fromisoformat(r["data"][field]) for r in rows}
