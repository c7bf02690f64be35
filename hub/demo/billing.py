"""Planning the billing: invoices per contract type, month by month, and the 2025 close."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from domain.approval import ApprovalStatus
from domain.contract import ContractType
from domain.engagement import EngagementStatus
from domain.invoice import InvoiceLine, InvoiceStatus
from domain.milestone import MilestoneStatus
from hub.demo import catalog as cat
from hub.demo.documents import (
    Billing,
    credit_a_correction,
    decide,
    number_documents,
    plan_document,
    void_and_reissue,
)
from hub.demo.engagements import EngagementFacts
from hub.demo.script import (
    Script,
    month_end,
    month_label,
    months,
    next_month,
    weekday_on_or_after,
)
from hub.demo.sources import Tenants
from hub.demo.work import EntryFacts

T = ContractType
E = EngagementStatus
I = InvoiceStatus  # noqa: E741
APPROVED = ApprovalStatus.APPROVED
HUNDREDTH = Decimal("0.01")


def plan_billing(script: Script, tenants: Tenants, engagements: list[EngagementFacts]) -> Billing:
    """Plans every invoice and credit note, the payments, and the close of fiscal 2025."""
    billing = Billing(script, tenants, script.rng("billing"))
    for eng in engagements:
        if eng.status not in (E.ACTIVE, E.ON_HOLD, E.CLOSED):
            continue
        if eng.type == T.FIXED_FEE:
            _milestone_invoices(billing, eng)
        elif eng.type == T.RETAINER:
            _retainer_invoices(billing, eng)
        elif eng.entries:
            _monthly_invoices(billing, eng)
    number_documents(billing)
    for doc in sorted(billing.docs, key=lambda d: (d.created, d.seq)):
        plan_document(script, doc)
    _close_fiscal_2025(script, engagements)
    return billing


def _monthly_invoices(billing: Billing, eng: EngagementFacts) -> None:
    carry: list[EntryFacts] = []
    for month in months(eng.start, eng.work_last):
        last = month_end(month)
        # Invoiced once the month's timesheets are approved (up to ten days after it ends).
        created = weekday_on_or_after(last + timedelta(days=11))
        if created > cat.AS_OF:
            break
        entries = carry + [
            e
            for e in eng.entries
            if month <= e.day <= last and e.state == APPROVED and e.billable and e.path != "running"
        ]
        expenses = [
            x for x in eng.expenses if month <= x.day <= last and x.state == APPROVED and x.billable
        ]
        carry = []
        if not entries and not expenses:
            continue
        lines = _time_lines(eng, entries) + [
            InvoiceLine.build(
                description=f"{x.category}, {x.day.isoformat()}",
                quantity=1,
                unit_price=x.amount.amount,
                currency=eng.currency,
                tax_rate=eng.tax_rate,
                expense_ids=[x.id],
            )
            for x in expenses
        ]
        doc = billing.doc(eng, created, lines)
        doc.entries, doc.expenses, doc.monthly = entries, expenses, True
        decide(billing, doc)
        if doc.target != I.DRAFT and created <= date(2025, 12, 15) and billing.first("void", 0.03):
            doc = void_and_reissue(billing, doc)
        for item in [*doc.entries, *doc.expenses]:
            item.invoice = doc.id
        if month == date(2026, 1, 1) and doc.target != I.DRAFT and billing.first("credit", 0.2):
            corrected = credit_a_correction(billing, doc)
            if corrected is not None:
                carry.append(corrected)


def _time_lines(eng: EngagementFacts, entries: list[EntryFacts]) -> list[InvoiceLine]:
    """One line per month of work, role and rate: the rate is the one on each work date."""
    groups: dict[tuple[date, int, Decimal], list[EntryFacts]] = defaultdict(list)
    for entry in entries:
        role = cat.ROLES.index(entry.resource.role)
        groups[(entry.day.replace(day=1), role, entry.rate.amount)].append(entry)
    return [
        InvoiceLine.build(
            description=f"{cat.ROLES[role].replace('_', ' ').capitalize()} time, "
            f"{month_label(month)}",
            quantity=sum((e.quantity for e in group), Decimal(0)).quantize(HUNDREDTH),
            unit_price=price,
            currency=eng.currency,
            tax_rate=eng.tax_rate,
            time_entry_ids=[e.id for e in group],
        )
        for (month, role, price), group in sorted(groups.items())
    ]


def _retainer_invoices(billing: Billing, eng: EngagementFacts) -> None:
    """The fee for each month in advance, with last month's hours: included, then overage."""
    terms = eng.retainer
    assert terms is not None
    fee_last = (eng.hold_on or eng.end).replace(day=1)
    last = next_month(fee_last) if eng.status != E.ACTIVE else cat.AS_OF.replace(day=1)
    previous: date | None = None
    for month in months(eng.start, last):
        created = weekday_on_or_after(month + timedelta(days=10))
        if created > cat.AS_OF:
            break
        lines, used = [], []
        if month <= fee_last:
            lines.append(
                InvoiceLine.build(
                    description=f"Retainer fee, {month_label(month)}",
                    quantity=1,
                    unit_price=terms.fee.amount,
                    currency=eng.currency,
                    tax_rate=eng.tax_rate,
                )
            )
        if previous is not None:
            used = sorted(
                (
                    e
                    for e in eng.entries
                    if previous <= e.day < month and e.state == APPROVED and e.billable
                ),
                key=lambda e: e.day,
            )
        if used:
            lines += _usage_lines(eng, used, month_label(previous))
        previous = month
        if lines:
            doc = billing.doc(eng, created, lines)
            doc.entries = used
            decide(billing, doc)
            for entry in used:
                entry.invoice = doc.id


def _usage_lines(eng: EngagementFacts, used: list[EntryFacts], label: str) -> list[InvoiceLine]:
    terms = eng.retainer
    assert terms is not None
    total = sum((e.quantity for e in used), Decimal(0)).quantize(HUNDREDTH)
    included, running, inside = min(total, terms.included_hours), Decimal(0), []
    for entry in used:
        if running + entry.quantity > included:
            break
        running += entry.quantity
        inside.append(entry)
    lines = [
        InvoiceLine.build(
            description=f"Hours included in the retainer, {label}",
            quantity=included,
            unit_price=0,
            currency=eng.currency,
            tax_rate=eng.tax_rate,
            time_entry_ids=[e.id for e in inside],
        )
    ]
    if total > included:
        lines.append(
            InvoiceLine.build(
                description=f"Hours above the retainer, {label}",
                quantity=total - included,
                unit_price=terms.overage_rate.amount,
                currency=eng.currency,
                tax_rate=eng.tax_rate,
                time_entry_ids=[e.id for e in used[len(inside) :]],
            )
        )
    return lines


def _milestone_invoices(billing: Billing, eng: EngagementFacts) -> None:
    for m in eng.milestones:
        if m.state != MilestoneStatus.BILLED:
            continue
        line = InvoiceLine.build(
            description=f"Milestone {m.n} of {len(eng.milestones)}: {m.name}",
            quantity=1,
            unit_price=m.amount.amount,
            currency=eng.currency,
            tax_rate=eng.tax_rate,
            milestone_id=m.id,
        )
        doc = billing.doc(eng, weekday_on_or_after(m.due + timedelta(days=8)), [line])
        doc.milestone = m
        decide(billing, doc)


def _close_fiscal_2025(script: Script, engagements: list[EngagementFacts]) -> None:
    """Locks 2025's approved work at the period close: billed, or never billable."""
    for eng in engagements:
        for item in [*eng.entries, *eng.expenses]:
            if (
                item.day.year == 2025
                and item.state == APPROVED
                and (item.invoice is not None or not item.billable)
            ):
                script.call(cat.PERIOD_CLOSE, item.id, "lock")
