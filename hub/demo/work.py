"""Planning the work: time entries and expenses, priced on their work dates, through approval."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from uuid import UUID

from domain.approval import ApprovalStatus
from domain.contract import ContractType
from domain.expense import Receipt
from domain.ids import source_id
from domain.rate_card import resolve
from domain.values import Money, SourceRef, allocate_minor, sum_money
from hub.demo import catalog as cat
from hub.demo.engagements import WORKED, EngagementFacts
from hub.demo.parties import ResourceFacts
from hub.demo.script import Script, friday_of, weekdays
from hub.demo.sources import Tenants

S = ApprovalStatus
T = ContractType
QUARTER = Decimal("0.25")
# Whole and half hours are what people book; the weights favour a working day's chunks.
HOURS = tuple(
    Decimal(h) / 2 for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20)
)
HOUR_WEIGHTS = (3, 6, 4, 8, 4, 8, 4, 9, 4, 6, 3, 7, 3, 5, 3, 9, 2, 1)
DAILY_LIMIT = Decimal(10)
WEEK = cat.AS_OF - timedelta(days=cat.AS_OF.weekday())
FOREIGN = {"EUR": ("GBP", "CHF"), "USD": ("EUR",), "JPY": ("SGD", "USD")}


# Ids are given once every record of a kind is decided (in work-date order, like the source).
UNSET = UUID(int=0)


@dataclass(kw_only=True)
class WorkFacts:
    """What time entries and expenses share: who, where, when, and how far approval went."""

    engagement: EngagementFacts
    resource: ResourceFacts
    day: date
    billable: bool
    notes: str
    state: ApprovalStatus = S.DRAFT
    path: str = ""  # "refixed" (rejected, fixed, approved), "corrected", "running"
    id: UUID = UNSET
    ref: SourceRef | None = None
    invoice: UUID | None = None

    @property
    def submitted_on(self) -> date:
        return friday_of(self.day)

    @property
    def approved_on(self) -> date:
        return self.submitted_on + timedelta(days=6 if self.path == "refixed" else 4)

    @property
    def approver(self) -> str:
        team = self.engagement.team
        approver = team[0] if team[0] is not self.resource or len(team) == 1 else team[1]
        return approver.name


@dataclass(kw_only=True)
class EntryFacts(WorkFacts):
    hours: Decimal
    recorded_hours: Decimal
    billing_hours: Decimal | None
    task: str
    rate: Money  # the rate card's bill rate on the work date
    timer: bool

    @property
    def quantity(self) -> Decimal:
        """The hours an invoice bills (the timer's quarter-hour rounding where there is one)."""
        return self.hours if self.billing_hours is None else self.billing_hours


@dataclass(kw_only=True)
class ExpenseFacts(WorkFacts):
    amount: Money
    category: str
    reimbursable: bool
    receipt: Receipt | None = None


def plan_time(script: Script, tenants: Tenants, engagements: list[EngagementFacts]) -> None:
    """Decides every time entry (spread over the engagements by team and duration)."""
    rng = script.rng("time")
    worked = [e for e in engagements if e.status in WORKED]
    days = {e.n: weekdays(e.start, e.work_last) for e in worked}
    weights = [
        len(days[e.n])
        * sum(cat.ROLE_INTENSITY[r.role] for r in e.team)
        * (2 if e.type == T.RETAINER else 5)
        for e in worked
    ]
    load: dict[tuple[UUID, date], Decimal] = defaultdict(Decimal)
    deficit = 0
    for eng, count in zip(worked, allocate_minor(script.spec.count(10_000), weights), strict=True):
        made = _entries(rng, eng, days[eng.n], count + deficit, load)
        deficit = count + deficit - made
    entries = sorted((x for e in worked for x in e.entries), key=lambda x: (x.day, x.engagement.n))
    _assign_states(rng, entries)
    _start_timers(script, rng, entries)
    number = 2_400_000_000 + rng.randint(0, 9_999_999)
    for entry in entries:
        number += rng.randint(1, 40)
        entry.ref = tenants.harvest_ref("TimeEntry", number)
        entry.id = source_id("time_entry", entry.ref)


def _entries(
    rng: random.Random,
    eng: EngagementFacts,
    days: list[date],
    want: int,
    load: dict[tuple[UUID, date], Decimal],
) -> int:
    team_weights = [cat.ROLE_INTENSITY[r.role] for r in eng.team]
    taken: set[tuple[UUID, date]] = set()
    tries = 0
    while len(eng.entries) < want and tries < want * 30 and days:
        tries += 1
        resource = rng.choices(eng.team, weights=team_weights)[0]
        day = rng.choice(days)
        key = (resource.id, day)
        room = ((DAILY_LIMIT - load[key]) / QUARTER).to_integral_value(ROUND_FLOOR) * QUARTER
        if key in taken or room < 1 or (resource.left_on and day >= resource.left_on):
            continue
        taken.add(key)
        timer = rng.random() < 0.08
        if timer:
            # A Harvest timer: exact minutes, billed in quarter hours rounded up.
            minutes = rng.randint(20, int(room * 60))
            hours = (Decimal(minutes) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)
            billing = (hours / QUARTER).to_integral_value(ROUND_CEILING) * QUARTER
        else:
            hours = min(rng.choices(HOURS, weights=HOUR_WEIGHTS)[0], room)
            billing = None
        load[key] += hours
        billable, task, notes = _task(rng, eng)
        line = resolve(
            eng.rate_lines,
            day,
            resource_id=resource.id,
            role=resource.role,
            engagement_id=eng.id,
            client_id=eng.client.id,
        )
        eng.entries.append(
            EntryFacts(
                engagement=eng,
                resource=resource,
                day=day,
                billable=billable,
                notes=notes,
                hours=hours,
                recorded_hours=hours,
                billing_hours=billing,
                task=task,
                rate=line.bill_rate,
                timer=timer,
            )
        )
    return len(eng.entries)


def _task(rng: random.Random, eng: EngagementFacts) -> tuple[bool, str, str]:
    """Returns (billable, task, notes); fixed-fee time is client work but never billed by hour."""
    tasks = cat.BILLABLE_TASKS if rng.random() < 0.88 else cat.NON_BILLABLE_TASKS
    task = rng.choice(list(tasks))
    billable = tasks is cat.BILLABLE_TASKS and eng.type != T.FIXED_FEE
    return billable, task, rng.choice(tasks[task])


def _assign_states(rng: random.Random, items: Sequence[WorkFacts]) -> None:
    """This week is still draft or submitted, last week is being approved, earlier is approved."""
    for item in items:
        if item.day >= WEEK:
            item.state = S.DRAFT if rng.random() < 0.75 else S.SUBMITTED
        elif item.day >= WEEK - timedelta(days=7):
            item.state = rng.choices((S.SUBMITTED, S.APPROVED, S.REJECTED), (55, 35, 10))[0]
        else:
            item.state = S.APPROVED
            roll = rng.random()
            item.path = "refixed" if roll < 0.015 else "corrected" if roll < 0.025 else ""
    # Make sure a small firm still shows each open state: take the most recent work.
    recent = sorted(
        (i for i in items if i.day >= WEEK - timedelta(days=14)), key=lambda i: i.day, reverse=True
    )
    for state in (S.DRAFT, S.SUBMITTED, S.REJECTED):
        if any(i.state == state for i in items):
            continue
        for item in recent:
            fits = state != S.REJECTED or item.submitted_on + timedelta(days=4) <= cat.AS_OF
            if fits and item.state not in (S.DRAFT, S.SUBMITTED, S.REJECTED):
                item.state, item.path = state, ""
                break


def _start_timers(script: Script, rng: random.Random, entries: list[EntryFacts]) -> None:
    """A few timers still run today (provisional: their hours are what has elapsed so far)."""
    drafts = sorted((e for e in entries if e.state == S.DRAFT), key=lambda e: e.day, reverse=True)
    for entry in drafts[: script.spec.count(3)]:
        entry.path = "running"
        entry.hours = entry.recorded_hours = Decimal(rng.randint(1, 12)) * QUARTER
        entry.billing_hours = None


def write_down_above_cap(eng: EngagementFacts) -> None:
    """Makes billable time beyond a capped contract's limit non-billable (a write-down)."""
    cap = eng.final_cap
    if cap is None:
        return
    spent = Money.zero(eng.currency)
    for entry in sorted(eng.entries, key=lambda e: e.day):
        if not entry.billable:
            continue
        spent = spent + entry.rate.times(entry.quantity)
        if spent > cap:
            entry.billable = False
            entry.notes = "Written down: above the not-to-exceed cap"


def standard_value(eng: EngagementFacts) -> Decimal:
    """The planned hours at rate-card rates, to size budgets, caps and fees."""
    values = (e.rate.times(e.hours) for e in eng.entries)
    return sum_money(values, eng.currency).amount


def plan_expenses(script: Script, tenants: Tenants, engagements: list[EngagementFacts]) -> None:
    """Decides the expenses, in proportion to each engagement's time."""
    rng = script.rng("expenses")
    worked = [e for e in engagements if e.entries]
    counts = allocate_minor(script.spec.count(300), [len(e.entries) for e in worked])
    number = 1_800_000_000 + rng.randint(0, 9_999_999)
    items: list[ExpenseFacts] = []
    for eng, count in zip(worked, counts, strict=True):
        days = weekdays(eng.start, eng.work_last)
        for _ in range(count):
            category = rng.choice(list(cat.EXPENSE_CATEGORIES))
            low, high, rechargeable, _ = cat.EXPENSE_CATEGORIES[category]
            currency = eng.currency
            if rng.random() < 0.06:
                currency = rng.choice(FOREIGN[currency])
            euros = Decimal(rng.randint(low * 100, high * 100)) / 100
            amount = Money.of(euros * cat.EUR_SCALE[currency], currency)
            billable = (
                rechargeable
                and currency == eng.currency
                and eng.type in (T.TIME_AND_MATERIALS, T.CAPPED_TIME_AND_MATERIALS)
                and rng.random() < 0.8
            )
            resource = rng.choice(eng.team)
            item = ExpenseFacts(
                engagement=eng,
                resource=resource,
                day=rng.choice(days),
                billable=billable,
                notes=f"{category} for {eng.code}",
                amount=amount,
                category=category,
                reimbursable=category != "Software licence" and rng.random() < 0.8,
            )
            eng.expenses.append(item)
            items.append(item)
    items.sort(key=lambda x: (x.day, x.engagement.n))
    _assign_states(rng, items)
    for item in items:
        number += rng.randint(1, 300)
        item.ref = tenants.harvest_ref("Expense", number)
        item.id = source_id("expense", item.ref)
        if cat.EXPENSE_CATEGORIES[item.category][3]:
            kind = rng.choice(("pdf", "jpg"))
            item.receipt = Receipt(
                uri=f"https://files.{cat.FIRM_DOMAIN}/receipts/{number}.{kind}",
                file_name=f"receipt-{number}.{kind}",
                content_type="application/pdf" if kind == "pdf" else "image/jpeg",
            )


def plan_entry(script: Script, entry: EntryFacts) -> None:
    """Plans one time entry from the timer or timesheet to where approval left it."""
    assert entry.ref is not None
    running = entry.path == "running"
    script.call(entry.day, entry.engagement.id, "check_accepts_work", work_date=entry.day)
    script.create(
        entry.day,
        "time_entry",
        entry.id,
        "record",
        xrefs=[entry.ref],
        engagement_id=entry.engagement.id,
        resource_id=entry.resource.id,
        work_date=entry.day,
        hours=Decimal(0) if entry.timer and not running else entry.recorded_hours,
        billable=entry.billable,
        billing_hours=entry.billing_hours,
        notes=entry.notes,
        task=entry.task,
        source_rate=entry.rate if entry.billable else None,
        is_running=running or entry.timer,
    )
    if running:
        return
    if entry.timer:
        script.call(entry.day, entry.id, "stop_timer", hours=entry.recorded_hours)
    _approval(script, entry)
    less = Decimal("0.5") if entry.day.day % 2 else Decimal(1)
    if entry.path == "corrected" and entry.hours > less and not entry.timer:
        entry.hours -= less
        reason = cat.CORRECTION_REASONS[entry.day.toordinal() % len(cat.CORRECTION_REASONS)]
        script.call(entry.approved_on, entry.id, "correct", reason=reason, hours=entry.hours)


def plan_expense(script: Script, item: ExpenseFacts) -> None:
    """Plans one expense through approval, and its reimbursement to the employee."""
    assert item.ref is not None
    script.call(item.day, item.engagement.id, "check_accepts_work", work_date=item.day)
    script.create(
        item.day,
        "expense",
        item.id,
        "record",
        xrefs=[item.ref],
        engagement_id=item.engagement.id,
        resource_id=item.resource.id,
        spent_date=item.day,
        amount=item.amount,
        category=item.category,
        billable=item.billable,
        reimbursable=item.reimbursable,
        receipt=item.receipt,
        notes=item.notes,
    )
    _approval(script, item)
    paid_back = item.approved_on + timedelta(days=12)
    if item.reimbursable and item.state == S.APPROVED and paid_back <= cat.AS_OF:
        script.call(paid_back, item.id, "reimburse", reimbursed_on=paid_back)


def _approval(script: Script, item: WorkFacts) -> None:
    if item.state == S.DRAFT:
        return
    submitted, rejected = item.submitted_on, item.submitted_on + timedelta(days=4)
    script.call(submitted, item.id, "submit")
    reason = cat.REJECTION_REASONS[item.day.toordinal() % len(cat.REJECTION_REASONS)]
    if item.state == S.REJECTED or item.path == "refixed":
        script.call(rejected, item.id, "reject", reason=reason)
    if item.path == "refixed":
        script.call(rejected, item.id, "reopen")
        script.call(rejected, item.id, "revise", notes=f"{item.notes} (rebooked)")
        script.call(rejected + timedelta(days=1), item.id, "submit")
    if item.state == S.APPROVED:
        script.call(item.approved_on, item.id, "approve", approved_by=item.approver)
