"""Work corrected after a billing run drafted it (DOMAIN 3.4, 3.5: a reversal plus a new fact).

A run's draft names each time entry and expense at the version it billed. When that fact has
since been corrected (or withdrawn: unapproved, deleted, made non-billable), the draft bills a
fact that no longer holds. Two cases:

- The draft's invoice is still a draft: the hub re-drafts it. The run's draft is planned
  again from the same items at their current facts (a corrected line takes its new value; an
  item no longer due, e.g. moved past the period, is withdrawn and a later run bills it), and
  the invoice's lines are replaced. The run's `Redrafted` event names each item with the
  version billed and the version now: the trail of why the draft changed.
- The billing engine has issued it (its state came back through ingest): the hub never edits
  an issued invoice. It opens one RATE_MISMATCH case per item naming the invoice, the version
  billed and the new one, so a person issues a credit note or an adjustment. The case's id
  is derived from (invoice, item, version billed): a second correction or a replay finds it.

Settled at the start of every run command for the engagement (the metrics, which price the
corrected work, have then reached the log's head), and soon after a correction is recorded
by a periodic pass in the process that runs the projections (hub/billing/settling.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.approval import FACTS
from domain.billing_rules import Draft, Period, ReadyMilestone, Work, plan
from domain.billing_run import BillingRun, draft_id
from domain.engagement import Engagement
from domain.expense import Expense
from domain.invoice import Invoice, InvoiceStatus
from domain.milestone import Milestone
from domain.time_entry import TimeEntry
from hub.application import HubApplication, xref_claim
from hub.billing import run as R  # the run's own readers: one place for what it reads
from hub.errors import ConflictError
from hub.exceptions import ExceptionCase
from hub.store.recorder import EventMeta
from projections.metrics.view import MetricsView

ACTOR = "process:billing-run"
REASON = "RATE_MISMATCH"  # the issued invoice bills a value the work no longer has
RULE = "corrected_after_issue"
# Why a run's draft left with no line is deleted (the invoice's `deleted_reason`).
WITHDRAWN = "billing_run_withdrawn"
_KINDS = {"time_entries": TimeEntry, "expenses": Expense}


@dataclass
class Settled:
    redrafted: list[dict[str, Any]] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)


def case_id(invoice_id: UUID, item_id: UUID, billed_version: int) -> UUID:
    return ExceptionCase.id_for(message_id(invoice_id), REASON, str(item_id), str(billed_version))


def message_id(invoice_id: UUID) -> str:
    return f"billing-run:{invoice_id}"


def settle(
    app: HubApplication, view: MetricsView, engagement_id: UUID, meta: EventMeta, attempts: int = 3
) -> Settled:
    """settle_corrections, again on the records as they now stand where another writer (a
    run command, another process's pass) settled the same draft first; what a try recorded
    before its collision is kept in the answer."""
    settled = Settled()
    for attempt in range(attempts):
        try:
            return settle_corrections(app, view, engagement_id, meta, into=settled)
        except ConflictError:
            # app.record evicted what it tried to save: the next try reads what was recorded.
            if attempt == attempts - 1:
                raise
    return settled


def settle_corrections(
    app: HubApplication,
    view: MetricsView,
    engagement_id: UUID,
    meta: EventMeta,
    into: Settled | None = None,
) -> Settled:
    """Re-drafts the engagement's run drafts whose work changed, or opens a case where the
    draft was issued; records nothing where nothing changed."""
    settled = Settled() if into is None else into
    engagement = app.find(engagement_id, Engagement)
    if engagement is None or engagement.deleted:
        return settled  # the run command refuses it, naming the field
    rows = view.query(
        SQL("SELECT id FROM {refs} WHERE entity = 'billing_run' AND data->>'engagement_id' = %s"),
        [str(engagement_id)],
    )
    for row in rows:
        run = app.find(row["id"], BillingRun)
        if run is None:
            continue
        for invoice_id in [d["invoice_id"] for d in run.drafts]:
            # As the run stands now: settling one draft may have moved work onto another.
            [draft] = [d for d in run.drafts if d["invoice_id"] == invoice_id]
            changed = _changed(app, draft)
            if not changed:
                continue
            invoice = app.find(UUID(draft["invoice_id"]), Invoice)
            if invoice is None or invoice.deleted or invoice.status == InvoiceStatus.VOID:
                continue  # a dead draft bills nothing: the next run bills the new fact
            if invoice.status == InvoiceStatus.DRAFT:
                settled.redrafted += _redraft(app, view, run, draft, invoice, changed, meta)
            else:
                opened = _cases(app, run, invoice, changed, meta)
                settled.cases += [str(c) for c in opened]
    return settled


def _changed(app: HubApplication, draft: dict[str, Any]) -> list[dict[str, Any]]:
    """The draft's time entries and expenses whose fact is no longer the one it billed."""
    found = []
    for line in draft["lines"]:
        for key, cls in _KINDS.items():
            for ref in line[key]:
                item, billed = UUID(ref["id"]), int(ref["version"])
                now = app.find(item, cls)
                if now is None or now.version == billed:
                    continue
                gone = now.deleted or now.status not in FACTS or not now.billable
                then = app.repository.get(item, version=billed)
                if gone or _billed_value(now) != _billed_value(then):
                    found.append(
                        {
                            "kind": cls.ENTITY,
                            "id": str(item),
                            "billed_version": billed,
                            "version": now.version,
                        }
                    )
    return found


def _billed_value(record: Any) -> tuple[Any, ...]:
    """What a line's value rests on. A correction of anything else (a note, a task name) and
    a plain revision (a cost the source reports for the first time) leave the line true."""
    if record.ENTITY == "time_entry":
        return (record.engagement_id, record.work_date, record.billing_quantity, record.billable)
    return (record.engagement_id, record.spent_date, record.amount, record.billable)


def _redraft(
    app: HubApplication,
    view: MetricsView,
    run: BillingRun,
    draft: dict[str, Any],
    invoice: Invoice,
    changed: list[dict[str, Any]],
    meta: EventMeta,
) -> list[dict[str, Any]]:
    """Plans the draft again from its own items at their current facts. An item now in
    another currency moves to the run's draft in that currency (added where the run has
    none; left for a later run where that draft was issued or withdrawn). Returns what was
    settled per draft: the invoice, its items, and whether it was withdrawn (nothing left)."""
    new, moved = _replan(app, view, run, draft, set())
    for item in changed:
        for w in moved:
            if str(w.id) == item["id"]:
                item["moved_to"] = w.value.currency
    if new.lines:
        invoice.replace_lines(R.invoice_lines(new))
    else:
        invoice.delete(WITHDRAWN)
    run.redraft(new, changed)
    touched: list[Any] = [invoice]
    claims = []
    settled = [{"invoice_id": draft["invoice_id"], "items": changed, "withdrawn": not new.lines}]
    for currency in sorted({w.value.currency for w in moved}):
        ids = {w.id for w in moved if w.value.currency == currency}
        because = [{**c, "moved_from": draft["currency"]} for c in changed if UUID(c["id"]) in ids]
        other = next((d for d in run.drafts if d["currency"] == currency), None)
        if other is None:
            empty = {"currency": currency, "lines": []}
            added, _ = _replan(app, view, run, empty, ids)
            if not added.lines:
                continue  # no longer due in the period: a later run bills it
            engagement = app.find(run.engagement_id, Engagement)
            period = Period(run.period_start, run.period_end)
            made = R._invoice(engagement, run.id, draft_id(run.id, currency), added, period)
            run.add_draft(added, because)
            touched.append(made)
            claims.append(xref_claim("invoice", made.xrefs[0], made.id))
            target = str(made.id)
        else:
            held = app.find(UUID(other["invoice_id"]), Invoice)
            if held is None or held.deleted or held.status != InvoiceStatus.DRAFT:
                continue  # issued or withdrawn: a later run bills it in a draft of its own
            merged, _ = _replan(app, view, run, other, ids)
            held.replace_lines(R.invoice_lines(merged))
            run.redraft(merged, because)
            touched.append(held)
            target = other["invoice_id"]
        settled.append({"invoice_id": target, "items": because, "withdrawn": False})
    app.record(*touched, run, meta=meta, claims=claims)
    return settled


def _replan(
    app: HubApplication, view: MetricsView, run: BillingRun, draft: dict[str, Any], extra: set[UUID]
) -> tuple[Draft, list[Work]]:
    """The draft planned again from its items (and `extra`) at their current facts, in its
    currency, and the work of them now in another currency."""
    items = {UUID(r["id"]) for line in draft["lines"] for k in _KINDS for r in line[k]} | extra
    engagement = app.find(run.engagement_id, Engagement)
    rows = view.query(
        SQL("SELECT * FROM {work} WHERE engagement_id = %s AND NOT deleted"), [run.engagement_id]
    )
    billed = R._billed_items(view, run.engagement_id) - items
    work, _ = R._work(app, [r for r in rows if r["id"] in items], set())
    moved = [w for w in work if w.value.currency != draft["currency"]]
    work = [w for w in work if w.value.currency == draft["currency"]]
    contract = R._work_contract(app, view, engagement)
    carried = R._carried(app, view, run.engagement_id, contract)
    terms = R._terms(engagement, contract, rows, billed, carried)
    milestones = []
    for line in draft["lines"]:
        if line["milestone"]:
            m = app.find(UUID(line["milestone"]["id"]), Milestone)
            if m is not None:
                ref = (m.id, int(line["milestone"]["version"]), m.name, m.amount, m.accepted_on)
                milestones.append(ReadyMilestone(*ref))
    period = Period(run.period_start, run.period_end)
    planned = [d for d in plan(terms, period, work, milestones) if d.currency == draft["currency"]]
    return (planned[0] if planned else Draft(draft["currency"])), moved


def _cases(
    app: HubApplication,
    run: BillingRun,
    invoice: Invoice,
    changed: list[dict[str, Any]],
    meta: EventMeta,
) -> list[UUID]:
    engagement = app.find(run.engagement_id, Engagement)
    opening = []
    for item in changed:
        cid = case_id(invoice.id, UUID(item["id"]), item["billed_version"])
        if app.find(cid, ExceptionCase) is not None:
            continue  # a later correction of the same billed fact: the open case says it
        number = getattr(invoice, "number", "") or str(invoice.id)
        detail = (
            f"{item['kind']} {item['id']} was billed at version {item['billed_version']} on "
            f"{invoice.status} invoice {number}; it was corrected since (version "
            f"{item['version']}). The hub never edits an issued invoice: issue a credit note "
            "or an adjustment in the billing system."
        )
        opening.append(
            ExceptionCase.open(
                message_id=message_id(invoice.id),
                reason=REASON,
                rule=RULE,
                detail=detail,
                entity="invoice",
                system="hub",
                subject=f"Invoice {number}: {item['kind']} corrected after issue",
                canonical_ids=[invoice.id, UUID(item["id"]), run.engagement_id],
                key=(item["id"], str(item["billed_version"])),
                waiting_for="credit_note",
                region=getattr(engagement, "region", "") or "",
                legal_entity=getattr(engagement, "legal_entity", "") or "",
                raised_by=ACTOR,
            )
        )
    if opening:
        app.record(*opening, meta=meta)
    return [c.id for c in opening]
