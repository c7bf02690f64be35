"""Running billing for one engagement and period: gathers what domain/billing_rules.py needs,
records the run and its drafts in one transaction, and answers what it made.

Inputs come from the log: the work's price (the rate card in force on its work date) from the
metrics projection, which the caller has let reach the log's head; each record's state and
version from its aggregate. Work priced only by its source's own rate (no card line) is not
billed: it is named in the run's `unpriced` for a person to price first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.billing_rules import (
    EXPENSE,
    TIME,
    Draft,
    Period,
    ReadyMilestone,
    Terms,
    Work,
    cap_used,
    plan,
    service_period,
)
from domain.billing_run import BillingRun, run_id
from domain.contract import Contract, ContractStatus, ContractType
from domain.engagement import Engagement
from domain.errors import RuleViolationError
from domain.expense import Expense
from domain.invoice import Invoice, InvoiceLine
from domain.milestone import Milestone, MilestoneStatus
from domain.time_entry import TimeEntry
from domain.values import Money, SourceRef
from hub.application import HubApplication, xref_claim
from hub.errors import UnknownReferenceError
from hub.store.recorder import EventMeta
from projections.metrics.view import MetricsView

# The xref a run's draft carries: what tells a billing target the draft is the hub's to send.
RUN_SYSTEM, RUN_TYPE = "pshub", "BillingRun"
_WORK_TYPES = (
    ContractType.TIME_AND_MATERIALS,
    ContractType.CAPPED_TIME_AND_MATERIALS,
    ContractType.RETAINER,
)
_LIVE = (ContractStatus.SIGNED, ContractStatus.ACTIVE)


@dataclass(frozen=True)
class Outcome:
    run: BillingRun
    created: bool
    position: int | None


def existing(app: HubApplication, engagement_id: UUID, period: Period) -> BillingRun | None:
    return app.find(run_id(engagement_id, period), BillingRun)


def run_billing(
    app: HubApplication, view: MetricsView, engagement_id: UUID, period: Period, meta: EventMeta
) -> Outcome:
    """Runs billing once for the engagement and period; a second call returns the first run."""
    found = existing(app, engagement_id, period)
    if found is not None:
        return Outcome(found, False, None)
    engagement = app.find(engagement_id, Engagement)
    if engagement is None or engagement.deleted:
        raise UnknownReferenceError(
            f"no engagement with id {engagement_id}", field="engagement_id", rule="exists"
        )
    contract = _work_contract(app, view, engagement)
    billed = _billed_items(view, engagement_id)
    rows = view.query(
        SQL("SELECT * FROM {work} WHERE engagement_id = %s AND NOT deleted"), [engagement_id]
    )
    work, unpriced = _work(app, rows, billed)
    terms = _terms(engagement, contract, rows, billed, _carried(app, view, engagement_id, contract))
    milestones = _milestones(app, view, engagement_id, billed)
    drafts = plan(terms, period, work, milestones)
    run = BillingRun.of(
        engagement_id=engagement_id,
        contract_id=contract.id if contract else None,
        contract_type=str(terms.type) if terms is not None else "",
        period=period,
        drafts=drafts,
        unpriced=[u for u, day in unpriced if day < period.end],
    )
    if not drafts:
        # Nothing is due: nothing is recorded, so work approved later is billed by a later run
        # of this period (or the next one).
        return Outcome(run, False, None)
    invoices = [
        _invoice(engagement, run.id, UUID(d["invoice_id"]), draft, period)
        for d, draft in zip(run.drafts, drafts, strict=True)
    ]
    claims = [xref_claim("invoice", inv.xrefs[0], inv.id) for inv in invoices]
    position = app.record(*invoices, run, meta=meta, claims=claims)  # type: ignore[arg-type]
    return Outcome(run, True, position)


def _work_contract(app: HubApplication, view: MetricsView, engagement: Engagement) -> Any:
    """The signed or active contract line the engagement's time and expenses are billed
    under; None where it has none (a fixed fee bills milestones only); `False` where the
    engagement has no contract line at all (its own commercial model decides)."""
    rows = view.query(
        SQL("SELECT id FROM {refs} WHERE entity = 'contract' AND data->>'engagement_id' = %s"),
        [str(engagement.id)],
    )
    contracts = [app.find(row["id"], Contract) for row in rows]
    live = [c for c in contracts if c is not None and not c.deleted and c.status in _LIVE]
    found = [c for c in live if c.type in _WORK_TYPES]
    if len(found) > 1:
        raise RuleViolationError(
            f"the engagement has {len(found)} live time-and-materials or retainer contract "
            "lines: which one its work is billed under is not known",
            rule="one_work_contract",
            field="engagement_id",
        )
    if found:
        return found[0]
    return None if live else False


def _terms(
    engagement: Engagement,
    contract: Any,
    rows: list[dict[str, Any]],
    billed: set[UUID],
    carried: dict[Period, Decimal],
) -> Terms | None:
    if contract is False:
        # No contract line: the engagement's own commercial model says T&M, or nothing.
        if str(engagement.contract_type or "time_and_materials") == "time_and_materials":
            return Terms(ContractType.TIME_AND_MATERIALS)
        return None
    if contract is None:
        return None
    cap = contract.cap if contract.type == ContractType.CAPPED_TIME_AND_MATERIALS else None
    used = None
    if cap is not None:
        used = cap_used(
            (
                Money(Decimal(r["value"]), r["currency"])
                for r in rows
                if r["value"] is not None
                and r["billable"]
                and (r["id"] in billed or r["status"] in ("billed", "locked"))
            ),
            cap,
        )
    hours: dict[Period, Decimal] = {}
    if contract.type == ContractType.RETAINER and contract.retainer is not None:
        # Hours already billed per service period: late hours count against what is left.
        for r in rows:
            if r["kind"] == "time" and r["billable"] and r["id"] in billed:
                p = service_period(contract.retainer, r["work_date"])
                hours[p] = hours.get(p, Decimal(0)) + Decimal(r["billing_qty"])
    return Terms(
        contract.type,
        cap=cap,
        cap_used=used,
        retainer=contract.retainer,
        retainer_used=hours,
        retainer_carried=carried,
    )


def _carried(
    app: HubApplication, view: MetricsView, engagement_id: UUID, contract: Any
) -> dict[Period, Decimal]:
    """The hours each earlier run recorded as rolled into its service period (a run from
    before rollovers were recorded rolled none in)."""
    if not contract or contract.type != ContractType.RETAINER or contract.retainer is None:
        return {}
    retainer = contract.retainer
    rows = view.query(
        SQL("SELECT id FROM {refs} WHERE entity = 'billing_run' AND data->>'engagement_id' = %s"),
        [str(engagement_id)],
    )
    found: dict[Period, Decimal] = {}
    for row in rows:
        run = app.find(row["id"], BillingRun)
        if run is None or run.contract_id != contract.id:
            continue  # another contract line's runs say nothing of this one's hours
        for d in run.drafts:
            if d["currency"] == retainer.fee.currency:
                rolled = Decimal(d.get("rolled_over_hours") or 0)
                found[service_period(retainer, run.period_start)] = rolled
    return found


def _billed_items(view: MetricsView, engagement_id: UUID) -> set[UUID]:
    """Time entries, expenses and milestones on any live invoice or draft of the engagement,
    or on an earlier run's draft that is not void or deleted (the billing system's copy of a
    draft, once ingested, may no longer name what its lines bill: the run still does)."""
    rows = view.query(
        SQL(
            "SELECT id, lines, status, deleted FROM {invoices} WHERE engagement_id = %s "
            "AND kind = 'invoice'"
        ),
        [engagement_id],
    )
    found: set[UUID] = set()
    dead = {r["id"] for r in rows if r["deleted"] or r["status"] == "void"}
    for row in rows:
        if row["id"] in dead:
            continue
        for line in row["lines"]:
            found |= {UUID(i) for i in (*line["time_entry_ids"], *line["expense_ids"])}
            if line["milestone_id"]:
                found.add(UUID(line["milestone_id"]))
    runs = view.query(
        SQL("SELECT data FROM {refs} WHERE entity = 'billing_run' AND data->>'engagement_id' = %s"),
        [str(engagement_id)],
    )
    for run in runs:
        for draft in run["data"]["drafts"]:
            if UUID(draft["invoice_id"]) not in dead:
                found |= {UUID(i) for i in (*draft["items"], *draft["milestones"])}
    return found


def _work(
    app: HubApplication, rows: list[dict[str, Any]], billed: set[UUID]
) -> tuple[list[Work], list[tuple[UUID, date]]]:
    work: list[Work] = []
    unpriced: list[tuple[UUID, date]] = []
    for row in rows:
        if row["id"] in billed or row["status"] != "approved" or not row["billable"]:
            continue
        if row["running"] or row["invoice_id"] is not None:
            continue
        kind = TIME if row["kind"] == "time" else EXPENSE
        record = app.find(row["id"], TimeEntry if kind == TIME else Expense)
        if record is None or record.version != row["version"]:
            # The metrics priced another version than the log holds: never bill a stale fact.
            raise RuleViolationError(
                f"{row['kind']} {row['id']} changed while the run read it; run it again",
                rule="stale_price",
                field="engagement_id",
            )
        if kind == TIME and row["basis"] != "card":
            unpriced.append((row["id"], row["work_date"]))
            continue
        value = Money(Decimal(row["value"]), row["currency"])
        rate = None if row["rate"] is None else Money(Decimal(row["rate"]), row["currency"])
        text = record.task if kind == TIME else record.category
        quantity = Decimal(row["billing_qty"]) if kind == TIME else Decimal(1)
        work.append(
            Work(kind, row["id"], row["version"], row["work_date"], quantity, rate, value, text)
        )
    return work, unpriced


def _milestones(
    app: HubApplication, view: MetricsView, engagement_id: UUID, billed: set[UUID]
) -> list[ReadyMilestone]:
    rows = view.query(
        SQL(
            "SELECT id FROM {refs} WHERE entity = 'milestone' AND data->>'engagement_id' = %s "
            "AND data->>'status' = 'billing_ready'"
        ),
        [str(engagement_id)],
    )
    found = []
    for row in rows:
        m = app.find(row["id"], Milestone)
        if m is None or m.deleted or m.status != MilestoneStatus.BILLING_READY or m.id in billed:
            continue
        if m.invoice_id is not None:
            continue
        found.append(ReadyMilestone(m.id, m.version, m.name, m.amount, m.accepted_on))
    return found


def _invoice(
    engagement: Engagement, run: UUID, invoice_id: UUID, draft: Draft, period: Period
) -> Invoice:
    ref = SourceRef(RUN_SYSTEM, "", RUN_TYPE, f"{run}/{draft.currency}")
    return Invoice.create(
        id=invoice_id,
        client_id=engagement.client_id,
        engagement_id=engagement.id,
        currency=draft.currency,
        lines=invoice_lines(draft),
        xrefs=[ref],
        details={
            "period_start": period.start,
            "period_end": period.end,
            "reference": f"{engagement.code or engagement.name} {period.start.isoformat()}",
        },
    )


def invoice_lines(draft: Draft) -> list[InvoiceLine]:
    """A draft's lines as invoice lines, each naming what it bills."""
    zero = Money.zero(draft.currency)
    return [
        InvoiceLine(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=Decimal(0),  # the billing engine computes tax of record (DOMAIN 3.11)
            net=line.amount,
            tax=zero,
            time_entry_ids=tuple(i for i, _ in line.time_entries),
            expense_ids=tuple(i for i, _ in line.expenses),
            milestone_id=None if line.milestone is None else line.milestone[0],
            item_code=line.kind,
            service_date=line.service_date,
        )
        for line in draft.lines
    ]


def summary(run: BillingRun, created: bool, position: int | None) -> dict[str, Any]:
    """What the command answers: the run and each draft with its lines and figures."""
    return {
        "run_id": str(run.id),
        "engagement_id": str(run.engagement_id),
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "contract_id": None if run.contract_id is None else str(run.contract_id),
        "contract_type": run.contract_type or None,
        "created": created,
        "drafts": run.drafts,
        "unpriced": run.unpriced,
        "position": position,
    }
