"""The firm's money figures per engagement and currency, from the metrics rows (DOMAIN 3.13).

Pure functions over the rows the view returns. Sums are kept per currency, never added
across currencies. Definitions, as shown to people:
- WIP (unbilled) = approved, billable, unbilled time at its standard value (billing quantity x
  the rate card's rate on the work date) + approved billable unbilled expenses (at cost: no
  markup is modelled) + accepted or billing-ready, unbilled fixed-fee milestones; running timers
  are never approved, so never counted; on a capped contract, value beyond the cap is written
  down instead (what the cap leaves of WIP).
- billed = net (tax-exclusive) of issued or paid invoices; credited = net of credit notes;
  paid = payments recorded on invoices (gross, as the billing system records them).
- written down = the cap write-down above, plus billing write-downs: per invoice line billing
  time, its standard value less its net where that is positive (a retainer's zero lines for
  the hours its fee covers are no write-down).
- billing runs: what the engagement's runs drafted and is still draft, what of it has been
  invoiced since, what a cap wrote down on the drafts, and retainer overage billed.
- revenue = billed - credited + WIP; cost = approved time at its cost + approved non-billable
  expenses; margin = (revenue - cost) / revenue, where cost is in the revenue's currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Any

from domain.values import Money

FACT_STATES = ("approved", "billed", "locked")
BILLED_DOCS = ("issued", "paid")
UNBILLED_MILESTONES = ("accepted", "billing_ready")
RATIO = Decimal("0.0001")


class Sums:
    """Decimal sums by (figure, currency)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Decimal] = defaultdict(Decimal)

    def add(self, figure: str, currency: str | None, amount: Any) -> None:
        if currency and amount is not None:
            self.values[(figure, currency)] += Decimal(amount)

    def get(self, figure: str, currency: str) -> Decimal:
        return self.values.get((figure, currency), Decimal(0))

    def currencies(self) -> list[str]:
        return sorted({c for _, c in self.values})


def wip_sums(work: Iterable[dict[str, Any]], sums: Sums) -> Decimal:
    """Adds approved billable unbilled work; returns the billable approved hours left
    unpriced (no card line and no source rate)."""
    unpriced = Decimal(0)
    for row in work:
        if row["deleted"] or row["running"] or not row["billable"]:
            continue
        if row["status"] in FACT_STATES:
            sums.add("delivered", row["currency"], row["value"])
        if row["status"] != "approved":
            continue
        if row["value"] is None:
            unpriced += Decimal(row["hours"])
        sums.add(
            "wip_time" if row["kind"] == "time" else "wip_expenses", row["currency"], row["value"]
        )
    return unpriced


def milestone_sums(milestones: Iterable[dict[str, Any]], sums: Sums) -> None:
    for m in milestones:
        amount = m.get("amount")
        if not m.get("deleted") and m["status"] in UNBILLED_MILESTONES and amount:
            sums.add("wip_fixed_fee", amount["currency"], amount["amount"])


def cap_write_down(contracts: Iterable[dict[str, Any]], sums: Sums) -> None:
    """Work delivered beyond a not-to-exceed cap is written down, out of WIP."""
    for contract in contracts:
        cap = contract.get("cap")
        if contract.get("deleted") or contract["type"] != "capped_time_and_materials" or not cap:
            continue
        currency = cap["currency"]
        over = sums.get("delivered", currency) - Decimal(cap["amount"])
        wip = sums.get("wip_time", currency) + sums.get("wip_expenses", currency)
        sums.add("written_down_cap", currency, max(Decimal(0), min(over, wip)))


def fee_covered(line: dict[str, Any], doc: dict[str, Any], retainers: Collection[str]) -> bool:
    """A zero line of a retainer bills hours its period fee covers: neither a write-down nor
    a measure of realization (the fee is on its own line, against no hours)."""
    return str(doc["engagement_id"]) in retainers and Decimal(line["net"]) == 0


def retainer_engagements(contracts: Iterable[dict[str, Any]]) -> set[str]:
    return {
        c["engagement_id"]
        for c in contracts
        if c["type"] == "retainer" and not c.get("deleted") and c["engagement_id"]
    }


def invoice_sums(
    invoices: Iterable[dict[str, Any]],
    values: dict[str, dict[str, Any]],
    sums: Sums,
    retainers: Collection[str] = (),
) -> None:
    """Billed, credited and paid; and the write-down of each line billing priced time."""
    for doc in invoices:
        if doc["deleted"] or doc["status"] not in BILLED_DOCS:
            continue
        currency = doc["currency"]
        if doc["kind"] == "credit_note":
            sums.add("credited", currency, doc["subtotal"])
            continue
        sums.add("billed", currency, doc["subtotal"])
        sums.add("billed_gross", currency, doc["total"])
        sums.add("paid", currency, doc["paid"])
        for line in doc["lines"]:
            if fee_covered(line, doc, retainers):
                continue
            standard = line_standard_value(line, values, currency)
            if standard is not None:
                sums.add("standard_billed", currency, standard)
                sums.add("billed_time", currency, line["net"])
                sums.add(
                    "written_down_billing",
                    currency,
                    max(Decimal(0), standard - Decimal(line["net"])),
                )


def run_sums(
    runs: Iterable[dict[str, Any]], statuses: dict[str, tuple[str, bool]], sums: Sums
) -> None:
    """What billing runs drafted, per currency: still draft, invoiced since (issued or paid),
    written down beyond a cap, and retainer overage. A voided or deleted draft counts for
    nothing (its work is unbilled again)."""
    for run in runs:
        for d in run["drafts"]:
            status, deleted = statuses.get(d["invoice_id"], ("draft", False))
            if deleted or status == "void":
                continue
            currency = d["currency"]
            sums.add("run_drafted" if status == "draft" else "run_invoiced", currency, d["total"])
            sums.add("run_written_down", currency, d["written_down"])
            sums.add("run_overage", currency, d["overage"])


def line_standard_value(
    line: dict[str, Any], values: dict[str, dict[str, Any]], currency: str
) -> Decimal | None:
    """The standard value of the time an invoice line bills, or None when the line bills no
    time, or time not priced (or priced in another currency)."""
    ids = line["time_entry_ids"]
    if not ids:
        return None
    total = Decimal(0)
    for entry_id in ids:
        row = values.get(entry_id)
        if row is None or row["value"] is None or row["currency"] != currency:
            return None
        total += Decimal(row["value"])
    return total


def cost_sums(work: Iterable[dict[str, Any]], sums: Sums) -> Decimal:
    """Adds the cost of approved work; returns the approved hours with no cost known (no
    cost rate anywhere), which the margin then leaves out."""
    uncosted = Decimal(0)
    for row in work:
        if row["deleted"] or row["running"] or row["status"] not in FACT_STATES:
            continue
        if row["kind"] == "time" and row["cost"] is None:
            uncosted += Decimal(row["hours"])
        if row["kind"] == "time" or not row["billable"]:
            sums.add("cost", row["cost_currency"], row["cost"])
    return uncosted


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """A figure as the contract writes money, rounded half-up to the currency's minor unit."""
    return {"amount": str(Money.of(amount, currency).amount), "currency": currency}


def ratio(numerator: Decimal, denominator: Decimal) -> str | None:
    """A ratio to four places; None where the denominator is zero (nothing to compare)."""
    if denominator == 0:
        return None
    return str((numerator / denominator).quantize(RATIO))


def financials(sums: Sums) -> list[dict[str, Any]]:
    """The figures of one engagement, one entry per currency."""
    result = []
    cost_currencies = {c for (figure, c) in sums.values if figure == "cost"}
    for c in sums.currencies():
        g = sums.get
        wip = (
            g("wip_time", c)
            + g("wip_expenses", c)
            - g("written_down_cap", c)
            + g("wip_fixed_fee", c)
        )
        net_billed = g("billed", c) - g("credited", c)
        revenue = net_billed + wip
        cost = g("cost", c)
        margin = revenue - cost
        result.append(
            {
                "currency": c,
                "wip": {
                    "time": money(g("wip_time", c), c),
                    "expenses": money(g("wip_expenses", c), c),
                    "fixed_fee": money(g("wip_fixed_fee", c), c),
                    "cap_write_down": money(g("written_down_cap", c), c),
                    "total": money(wip, c),
                },
                "unbilled": money(wip, c),
                "billed": money(g("billed", c), c),
                "credited": money(g("credited", c), c),
                "paid": money(g("paid", c), c),
                "written_down": {
                    "cap": money(g("written_down_cap", c), c),
                    "billing": money(g("written_down_billing", c), c),
                    "total": money(g("written_down_cap", c) + g("written_down_billing", c), c),
                },
                "billing_runs": {
                    "drafted": money(g("run_drafted", c), c),
                    "invoiced": money(g("run_invoiced", c), c),
                    "written_down": money(g("run_written_down", c), c),
                    "retainer_overage": money(g("run_overage", c), c),
                },
                "revenue": money(revenue, c),
                "cost": money(cost, c),
                # Cost in another currency cannot be set against this revenue (no FX policy).
                "margin": None
                if cost_currencies - {c}
                else {"amount": money(margin, c), "ratio": ratio(margin, revenue)},
            }
        )
    return result


def rate_mismatches(work: Iterable[dict[str, Any]]) -> int:
    """Entries priced from the card whose source reported another rate in the same currency
    (DOMAIN 3.3: the canonical rate stands; the difference is for review, RATE_MISMATCH)."""
    count = 0
    for row in work:
        source = row.get("source") or {}
        reported = source.get("source_rate")
        if (
            row["kind"] == "time"
            and row["basis"] == "card"
            and reported is not None
            and source.get("source_rate_currency") == row["currency"]
            and Decimal(reported) != Decimal(row["rate"])
        ):
            count += 1
    return count
