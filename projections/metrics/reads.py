"""Reads of the metrics view for people and for Prometheus: financials, WIP, utilization and
realization (DOMAIN 3.13), each per currency where it is money."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from projections.metrics import figures as F
from projections.metrics.setup import engagement_setup
from projections.metrics.view import MetricsView

# Capacity policy (DOMAIN 3.13): working days (Monday to Friday) x the person's weekly hours
# / 5, 40 h a week where the source gives none. The hub knows no public holidays or leave, so
# neither is subtracted: utilization reads as against contracted capacity.
DEFAULT_WEEKLY_HOURS = Decimal(40)


def _work(view: MetricsView, engagement_id: UUID | None = None) -> list[dict[str, Any]]:
    if engagement_id is None:
        return view.query(SQL("SELECT * FROM {work} WHERE NOT deleted"))
    return view.query(
        SQL("SELECT * FROM {work} WHERE NOT deleted AND engagement_id = %s"), [engagement_id]
    )


def _invoices(view: MetricsView, engagement_id: UUID | None = None) -> list[dict[str, Any]]:
    billed = "SELECT * FROM {invoices} WHERE NOT deleted AND status IN ('issued', 'paid')"
    if engagement_id is None:
        return view.query(SQL(billed))
    mine = (
        " AND (engagement_id = %s OR (engagement_id IS NULL AND original_id IN "
        "(SELECT id FROM {invoices} WHERE engagement_id = %s)))"
    )
    return view.query(SQL(billed + mine), [engagement_id, engagement_id])


def _refs(view: MetricsView, entity: str) -> dict[str, dict[str, Any]]:
    rows = view.query(SQL("SELECT id, data FROM {refs} WHERE entity = %s"), [entity])
    return {str(r["id"]): r["data"] for r in rows}


def engagement(view: MetricsView, engagement_id: UUID) -> dict[str, Any] | None:
    """The engagement as the metrics know it, or None (unknown or deleted)."""
    rows = view.query(
        SQL("SELECT data FROM {refs} WHERE entity = 'engagement' AND id = %s"), [engagement_id]
    )
    if not rows or rows[0]["data"].get("deleted"):
        return None
    return rows[0]["data"]


def financials(view: MetricsView, engagement_id: UUID) -> dict[str, Any]:
    """WIP, billed, credited, paid, written down, revenue, cost and margin, per currency."""
    work = _work(view, engagement_id)
    key = str(engagement_id)
    milestones = [m for m in _refs(view, "milestone").values() if m["engagement_id"] == key]
    contracts = [c for c in _refs(view, "contract").values() if c["engagement_id"] == key]
    values = {str(w["id"]): w for w in work}
    sums = F.Sums()
    unpriced = F.wip_sums(work, sums)
    F.milestone_sums(milestones, sums)
    F.cap_write_down(contracts, sums)
    F.invoice_sums(_invoices(view, engagement_id), values, sums, F.retainer_engagements(contracts))
    uncosted = F.cost_sums(work, sums)
    known = engagement(view, engagement_id) or {}
    return {
        "engagement_id": key,
        "code": known.get("code"),
        "setup": engagement_setup(view, engagement_id, known),
        "currencies": F.financials(sums),
        "unpriced_billable_hours": str(unpriced),
        # Hours with no cost rate anywhere: the cost and margin leave them out.
        "uncosted_hours": str(uncosted),
        "rate_mismatches": F.rate_mismatches(work),
        "position": view.position_now(),
    }


# Billable fact work summed per engagement, kind, state and currency, priced apart from
# unpriced: what WIP needs, without reading every row (the gauge runs it at each scrape).
_WIP_GROUPS = (
    "SELECT engagement_id, kind, status, billable, false AS running, false AS deleted, "
    "currency, sum(value) AS value, sum(hours) AS hours FROM {work} "
    "WHERE NOT deleted AND NOT running AND billable "
    "AND status IN ('approved', 'billed', 'locked') AND work_date <= %s"
)
_WIP_AGES = (
    "SELECT currency, CASE WHEN %s - work_date <= 30 THEN '0-30' "
    "WHEN %s - work_date <= 60 THEN '31-60' WHEN %s - work_date <= 90 THEN '61-90' "
    "ELSE '90+' END AS band, sum(value) AS value FROM {work} "
    "WHERE NOT deleted AND NOT running AND billable AND status = 'approved' "
    "AND value IS NOT NULL AND work_date <= %s"
)


def wip(view: MetricsView, engagement_id: UUID | None, as_of: date) -> dict[str, Any]:
    """WIP per engagement and currency, its total per currency, and its age by work date."""
    mine, params = (
        ("", []) if engagement_id is None else (" AND engagement_id = %s", [engagement_id])
    )
    groups = view.query(
        SQL(
            _WIP_GROUPS + mine + " GROUP BY engagement_id, kind, status, billable, currency, "
            "value IS NULL"
        ),
        [as_of, *params],
    )
    by_engagement: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in groups:
        by_engagement[str(row["engagement_id"])].append(row)
    milestones: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in _refs(view, "milestone").values():
        milestones[m["engagement_id"]].append(m)
    contracts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in _refs(view, "contract").values():
        contracts[c["engagement_id"] or ""].append(c)
    wanted = (
        [str(engagement_id)]
        if engagement_id
        else sorted(set(by_engagement) | {k for k, ms in milestones.items() if ms})
    )
    codes = {k: v.get("code") for k, v in _refs(view, "engagement").items()}
    totals = F.Sums()
    items = []
    for key in wanted:
        sums = F.Sums()
        unpriced = F.wip_sums(by_engagement.get(key, []), sums)
        F.milestone_sums(milestones.get(key, []), sums)
        F.cap_write_down(contracts.get(key, []), sums)
        for currency in sums.currencies():
            amount = _wip_total(sums, currency)
            if amount == 0:
                continue
            totals.add("wip", currency, amount)
            items.append(
                {
                    "engagement_id": key,
                    "code": codes.get(key),
                    "currency": currency,
                    "wip": F.money(amount, currency),
                    "unpriced_billable_hours": str(unpriced),
                }
            )
    ages = F.Sums()
    for row in view.query(SQL(_WIP_AGES + mine + " GROUP BY currency, band"), [as_of] * 4 + params):
        ages.add(row["band"], row["currency"], row["value"])
    return {
        "as_of": as_of.isoformat(),
        "totals": [
            {"currency": c, "wip": F.money(totals.get("wip", c), c)} for c in totals.currencies()
        ],
        "aging": [
            {"currency": c, "days": band, "amount": F.money(v, c)}
            for (band, c), v in sorted(ages.values.items())
        ],
        "items": items,
        "position": view.position_now(),
    }


def _wip_total(sums: F.Sums, c: str) -> Decimal:
    g = sums.get
    return (
        g("wip_time", c) + g("wip_expenses", c) - g("written_down_cap", c) + g("wip_fixed_fee", c)
    )


def working_days(start: date, end: date) -> int:
    """Monday to Friday in [start, end], both included."""
    days = 0
    day = start
    while day <= end:
        days += day.weekday() < 5
        day += timedelta(days=1)
    return days


def utilization(
    view: MetricsView,
    start: date,
    end: date,
    *,
    resource_id: UUID | None = None,
    team: str | None = None,
    engagement_id: UUID | None = None,
) -> dict[str, Any]:
    """Billable and total utilization per person and team, billable share per engagement."""
    people = _refs(view, "resource")
    rows = view.query(
        SQL(
            "SELECT resource_id, engagement_id, billable, sum(hours) AS hours FROM {work} "
            "WHERE kind = 'time' AND NOT deleted AND NOT running "
            "AND status IN ('approved', 'billed', 'locked') AND work_date BETWEEN %s AND %s "
            "GROUP BY resource_id, engagement_id, billable"
        ),
        [start, end],
    )
    hours: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    engagements: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        person, job = str(r["resource_id"]), str(r["engagement_id"])
        if engagement_id is not None and job != str(engagement_id):
            continue
        if resource_id is not None and person != str(resource_id):
            continue
        if team is not None and people.get(person, {}).get("team") != team:
            continue
        for bucket in (hours[person], engagements[job]):
            bucket["total"] += r["hours"]
            if r["billable"]:
                bucket["billable"] += r["hours"]
    days = working_days(start, end)
    chosen = {
        p
        for p, data in people.items()
        if (resource_id is None or p == str(resource_id))
        and (team is None or data.get("team") == team)
        and (p in hours or (engagement_id is None and data.get("active")))
    } | set(hours)
    persons, teams = [], defaultdict(lambda: defaultdict(Decimal))
    for p in sorted(chosen):
        data = people.get(p, {})
        weekly = Decimal(data.get("weekly_capacity_hours") or DEFAULT_WEEKLY_HOURS)
        capacity = weekly * days / 5
        h = hours.get(p, {})
        item = _ratios(h.get("billable", Decimal(0)), h.get("total", Decimal(0)), capacity)
        persons.append({"resource_id": p, "team": data.get("team", ""), **item})
        for name in ("billable", "total"):
            teams[data.get("team", "")][name] += h.get(name, Decimal(0))
        teams[data.get("team", "")]["capacity"] += capacity
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat(), "working_days": days},
        "capacity_policy": "working days x weekly hours / 5 (40 when unknown); "
        "no public holidays or leave subtracted",
        "people": persons,
        "teams": [
            {"team": t, **_ratios(v["billable"], v["total"], v["capacity"])}
            for t, v in sorted(teams.items())
        ],
        "engagements": [
            {
                "engagement_id": e,
                "billable_hours": str(v["billable"]),
                "total_hours": str(v["total"]),
                "billable_share": F.ratio(v["billable"], v["total"]),
            }
            for e, v in sorted(engagements.items())
        ],
        "position": view.position_now(),
    }


def _ratios(billable: Decimal, total: Decimal, capacity: Decimal) -> dict[str, Any]:
    return {
        "billable_hours": str(billable),
        "total_hours": str(total),
        "capacity_hours": format(capacity.normalize(), "f"),
        # Over 1 is possible (overtime) and is shown as it is, never capped.
        "billable_utilization": F.ratio(billable, capacity),
        "total_utilization": F.ratio(total, capacity),
    }


def realization(
    view: MetricsView,
    start: date | None,
    end: date | None,
    *,
    resource_id: UUID | None = None,
    team: str | None = None,
    engagement_id: UUID | None = None,
) -> dict[str, Any]:
    """Billing realization (billed value / standard value of the hours billed) per person,
    team and engagement; each invoice line's net is shared among the entries it bills in
    proportion to their standard value. A retainer's hours covered by its fee are left out."""
    people = _refs(view, "resource")
    retainers = F.retainer_engagements(_refs(view, "contract").values())
    billed = "SELECT * FROM {work} WHERE kind = 'time' AND status IN ('billed', 'locked')"
    rows = (
        view.query(SQL(billed))
        if engagement_id is None
        else view.query(SQL(billed + " AND engagement_id = %s"), [engagement_id])
    )
    values = {str(w["id"]): w for w in rows}
    groups: dict[tuple[str, str, str], dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(Decimal)
    )
    for doc in _invoices(view, engagement_id):
        if doc["kind"] != "invoice":
            continue
        for line in doc["lines"]:
            standard = F.line_standard_value(line, values, doc["currency"])
            if not standard or F.fee_covered(line, doc, retainers):
                continue
            for entry_id in line["time_entry_ids"]:
                row = values[entry_id]
                if (start and row["work_date"] < start) or (end and row["work_date"] > end):
                    continue
                person = str(row["resource_id"])
                group = people.get(person, {}).get("team", "")
                if resource_id is not None and person != str(resource_id):
                    continue
                if team is not None and group != team:
                    continue
                share = Decimal(line["net"]) * Decimal(row["value"]) / standard
                for key in (
                    ("person", person, doc["currency"]),
                    ("team", group, doc["currency"]),
                    ("engagement", str(row["engagement_id"]), doc["currency"]),
                ):
                    groups[key]["billed"] += share
                    groups[key]["standard"] += Decimal(row["value"])
    result: dict[str, list[dict[str, Any]]] = {"people": [], "teams": [], "engagements": []}
    names = {
        "person": ("people", "resource_id"),
        "team": ("teams", "team"),
        "engagement": ("engagements", "engagement_id"),
    }
    for (level, key, currency), v in sorted(groups.items()):
        collection, field = names[level]
        result[collection].append(
            {
                field: key,
                "currency": currency,
                "billed_value": F.money(v["billed"], currency),
                "standard_value": F.money(v["standard"], currency),
                "realization": F.ratio(v["billed"], v["standard"]),
            }
        )
    return {
        "variant": "billing realization: billed value / standard value of the hours billed",
        **result,
        "position": view.position_now(),
    }


def durations(view: MetricsView, entity: str, since: str, until: str) -> list[tuple[str, float]]:
    """Seconds from one instant to another in reference data (setup lead time, resolution)."""
    result = []
    for data in _refs(view, entity).values():
        if data.get(since) and data.get(until):
            seconds = (
                datetime.fromisoformat(data[until]) - datetime.fromisoformat(data[since])
            ).total_seconds()
            result.append((data.get("reason", ""), max(seconds, 0.0)))
    return result


def days_to_paid(view: MetricsView) -> list[int]:
    """Days from issue to paid in full, per invoice paid (invoice cycle time)."""
    rows = view.query(
        SQL(
            "SELECT paid_on - issue_date AS days FROM {invoices} WHERE kind = 'invoice' "
            "AND status = 'paid' AND NOT deleted AND paid_on IS NOT NULL "
            "AND issue_date IS NOT NULL"
        )
    )
    return [max(int(r["days"]), 0) for r in rows]
