"""What a billing run bills (DOMAIN 3.2, 3.3, 3.6, 3.7, 3.13): pure, no I/O.

The caller hands in the engagement's contract terms, its work already priced at the rate card
in force on each work date, its billing-ready milestones, and what earlier invoices billed;
the answer is one draft per currency, each line naming the time entries, expenses or
milestone it bills, and what the run wrote down.

- Time and materials: every approved, billable, unbilled time entry and expense dated before
  the period's end is a line at its standard value (billing quantity x rate, rounded half-up
  per line): work approved after its own period's run is billed by the next, never lost.
- Capped time and materials: as T&M while the cap has room (what earlier invoices billed of
  it counts); what exceeds it is written down on its own, negative line, and named in
  `written_down` item by item. Per line: billed + written down = standard value.
- Fixed fee: each billing-ready milestone not yet invoiced is a line of its amount.
- Retainer: the period's fee is one line; approved hours of the period up to its allowance
  (the included hours plus the hours rolled into it) are a zero line naming them; the hours
  beyond are overage at the overage rate. Only the period's own hours count against it.
- Rollover (DOMAIN 3.7): a period closes when the next period is run. Its unused allowance
  then rolls into the next period (all of it, or up to `rollover_cap_hours`) or expires, per
  the contract's `rollover_rule`. The run records the hours rolled into its period
  (`Draft.rolled_over`), so a re-draft or a later run finds the close as it was evaluated,
  never a second evaluation with hours approved since.
- Late retainer hours: hours of an earlier service period approved after that period's run
  still count in the period the work was done (DOMAIN 3.7: periods are work-date periods).
  The next run bills them as catch-up lines naming that period: what still fits in its
  allowance (after the hours already billed for it and the hours it rolled on) at no charge,
  the rest as overage. Hours approved before a period's close count in it before the close.

Amounts are never added across currencies: a draft holds one currency, and a cap or a
retainer applies to work in its own currency only (other work is billed as T&M).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain.contract import ContractType, RetainerTerms, RolloverRule
from domain.errors import RuleViolationError
from domain.values import Money, sum_money

# The kinds of line a run writes.
TIME, EXPENSE, MILESTONE = "time", "expense", "milestone"
FEE, INCLUDED, OVERAGE, WRITE_DOWN = "retainer_fee", "included_hours", "overage", "write_down"
# Contract types whose time and expenses a run bills (a retainer's expenses; its hours are the
# fee's and the overage's).
WORK_BILLED = frozenset(
    {
        ContractType.TIME_AND_MATERIALS,
        ContractType.CAPPED_TIME_AND_MATERIALS,
        ContractType.RETAINER,
    }
)


@dataclass(frozen=True, slots=True)
class Period:
    """A service period, half-open [start, end)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise RuleViolationError(
                f"the period ends {self.end}, not after it starts {self.start}",
                rule="period_order",
                field="period_end",
            )

    def holds(self, day: date) -> bool:
        return self.start <= day < self.end


@dataclass(frozen=True, slots=True)
class Work:
    """A time entry or an expense as the run sees it: its version (the fact it bills), its
    work date, billing quantity and rate (None for an expense: its amount is its value)."""

    kind: str  # TIME or EXPENSE
    id: UUID
    version: int
    work_date: date
    quantity: Decimal
    rate: Money | None
    value: Money
    description: str = ""


@dataclass(frozen=True, slots=True)
class ReadyMilestone:
    id: UUID
    version: int
    name: str
    amount: Money
    accepted_on: date | None = None


@dataclass(frozen=True, slots=True)
class Terms:
    """The contract line work is billed under. `cap_used` is what earlier invoices billed
    against the cap (in the cap's currency)."""

    type: ContractType
    cap: Money | None = None
    cap_used: Money | None = None
    retainer: RetainerTerms | None = None
    # Hours already billed per earlier service period (retainers' late hours count there).
    retainer_used: dict[Period, Decimal] = field(default_factory=dict)
    # Hours rolled into each service period a run has billed, as that run recorded them.
    retainer_carried: dict[Period, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Money
    time_entries: tuple[tuple[UUID, int], ...] = ()
    expenses: tuple[tuple[UUID, int], ...] = ()
    milestone: tuple[UUID, int] | None = None
    service_date: date | None = None


@dataclass(frozen=True, slots=True)
class WrittenDown:
    """What the cap wrote down of one item."""

    kind: str
    id: UUID
    version: int
    amount: Money


@dataclass
class Draft:
    """One invoice draft: one currency, its lines, and its figures."""

    currency: str
    lines: list[Line] = field(default_factory=list)
    written_down: list[WrittenDown] = field(default_factory=list)
    # A retainer's draft: the hours rolled into its period from the one before.
    rolled_over: Decimal | None = None

    @property
    def total(self) -> Money:
        return sum_money((line.amount for line in self.lines), self.currency)

    @property
    def write_down(self) -> Money:
        return sum_money((w.amount for w in self.written_down), self.currency)

    @property
    def standard(self) -> Money:
        """The standard value of what the draft bills: its total before the write-down."""
        return self.total + self.write_down

    @property
    def overage(self) -> Money:
        return sum_money(
            (line.amount for line in self.lines if line.kind == OVERAGE), self.currency
        )


def plan(
    terms: Terms | None,
    period: Period,
    work: Iterable[Work],
    milestones: Iterable[ReadyMilestone],
) -> list[Draft]:
    """The drafts a run produces, one per currency, sorted by currency; [] when nothing is
    due. `work` and `milestones` must be unbilled already (the caller knows the invoices);
    work dated from the period's end on is left for a later run. A retainer's fee is billed
    once per period because a period is run once (domain/billing_run.py)."""
    drafts: dict[str, Draft] = {}

    def draft(currency: str) -> Draft:
        return drafts.setdefault(currency, Draft(currency))

    # By work date, time before expenses, then id: the cap's room goes to the earliest work.
    due = sorted(
        (w for w in work if w.work_date < period.end),
        key=lambda w: (w.work_date, w.kind != TIME, w.id),
    )
    if terms is not None and terms.type == ContractType.RETAINER and terms.retainer is not None:
        retainer, d = terms.retainer, draft(terms.retainer.fee.currency)
        hours = [w for w in due if w.kind == TIME and period.holds(w.work_date)]
        late: dict[Period, list[Work]] = {}
        for w in due:
            if w.kind == TIME and w.work_date < period.start:
                late.setdefault(service_period(retainer, w.work_date), []).append(w)
        late_hours = {p: sum((w.quantity for w in ws), Decimal(0)) for p, ws in late.items()}
        carried, left = allowances(
            retainer, period, terms.retainer_carried, terms.retainer_used, late_hours
        )
        d.rolled_over = carried
        _retainer(d, retainer, period, hours, carried)
        for earlier in sorted(late, key=lambda p: p.start):
            note = "catch-up, approved after its run"
            _hours(d, retainer, earlier, late[earlier], left[earlier], Decimal(0), note)
        due = [w for w in due if w.kind != TIME]
    if terms is not None and terms.type in WORK_BILLED:
        cap = terms.cap if terms.type == ContractType.CAPPED_TIME_AND_MATERIALS else None
        room = None if cap is None else cap - (terms.cap_used or Money.zero(cap.currency))
        for w in due:
            d = draft(w.value.currency)
            d.lines.append(_work_line(w))
            if room is not None and w.value.currency == room.currency:
                billed = max(min(w.value, room), Money.zero(room.currency))
                room = room - billed
                if billed < w.value:
                    d.written_down.append(WrittenDown(w.kind, w.id, w.version, w.value - billed))
        for d in drafts.values():
            if d.written_down and cap is not None:
                _write_down_line(d, cap)
    for m in sorted(milestones, key=lambda m: (m.accepted_on or date.min, m.name, m.id)):
        draft(m.amount.currency).lines.append(
            Line(
                MILESTONE,
                f"Milestone: {m.name}",
                Decimal(1),
                m.amount.amount,
                m.amount,
                milestone=(m.id, m.version),
                service_date=m.accepted_on,
            )
        )
    return [drafts[c] for c in sorted(drafts) if drafts[c].lines]


def _work_line(w: Work) -> Line:
    ref = ((w.id, w.version),)
    if w.kind == TIME:
        rate = w.rate.amount if w.rate is not None else w.value.amount
        text = f"{w.description or 'Time'} {w.work_date.isoformat()}, {w.quantity} h"
        return Line(
            TIME, text, w.quantity, rate, w.value, time_entries=ref, service_date=w.work_date
        )
    text = f"Expense: {w.description or 'other'} {w.work_date.isoformat()}"
    return Line(
        EXPENSE, text, Decimal(1), w.value.amount, w.value, expenses=ref, service_date=w.work_date
    )


def _write_down_line(d: Draft, cap: Money) -> None:
    amount = d.write_down
    d.lines.append(
        Line(
            WRITE_DOWN,
            f"Written down: beyond the not-to-exceed cap of {cap}",
            Decimal(1),
            -amount.amount,
            -amount,
        )
    )


def _retainer(
    d: Draft, terms: RetainerTerms, period: Period, hours: Sequence[Work], carried: Decimal
) -> None:
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    d.lines.append(
        Line(
            FEE,
            f"Retainer fee, {span}",
            Decimal(1),
            terms.fee.amount,
            terms.fee,
            service_date=period.start,
        )
    )
    _hours(d, terms, period, hours, terms.included_hours + carried, carried, "")


def _hours(
    d: Draft,
    terms: RetainerTerms,
    period: Period,
    hours: Sequence[Work],
    allowance: Decimal,
    carried: Decimal,
    note: str,
) -> None:
    """The period's hours: up to `allowance` (what is left of its included hours and the
    hours rolled into it) a zero line naming them; beyond, overage at the overage rate."""
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    tag = f" ({note})" if note else ""
    of = f"{allowance} h"
    if carried:
        of += f" ({terms.included_hours} included + {carried} rolled over)"
    elif note:
        of += " left"
    left = allowance
    covered: list[Work] = []
    over: list[Work] = []
    over_hours = Decimal(0)
    for w in hours:
        if w.quantity <= left:
            covered.append(w)
            left -= w.quantity
        else:
            over.append(w)  # the entry that crosses the allowance is overage's
            over_hours += w.quantity - left
            left = Decimal(0)
    if covered:
        n = sum((w.quantity for w in covered), Decimal(0))
        d.lines.append(
            Line(
                INCLUDED,
                f"Included hours, {span}{tag}: {n} of {of}",
                n,
                Decimal(0),
                Money.zero(d.currency),
                time_entries=tuple((w.id, w.version) for w in covered),
                service_date=period.start if note else None,
            )
        )
    if over:
        rate = terms.overage_rate
        d.lines.append(
            Line(
                OVERAGE,
                f"Overage, {span}{tag}: {over_hours} h beyond {of}",
                over_hours,
                rate.amount,
                rate.times(over_hours),
                time_entries=tuple((w.id, w.version) for w in over),
                service_date=period.start if note else None,
            )
        )


def rollover(terms: RetainerTerms, unused: Decimal) -> Decimal:
    """The hours a closing period's unused allowance carries into the next (DOMAIN 3.7)."""
    unused = max(unused, Decimal(0))
    if terms.rollover_rule == RolloverRule.EXPIRE:
        return Decimal(0)
    if (
        terms.rollover_rule == RolloverRule.ROLL_OVER_CAPPED
        and terms.rollover_cap_hours is not None
    ):
        return min(unused, terms.rollover_cap_hours)
    return unused


def allowances(
    terms: RetainerTerms,
    period: Period,
    carried: Mapping[Period, Decimal],
    used: Mapping[Period, Decimal],
    late: Mapping[Period, Decimal],
) -> tuple[Decimal, dict[Period, Decimal]]:
    """The hours rolled into the run's period, and per earlier service period what is left of
    its allowance for hours approved after its run (`late`, billed by this run).

    `carried` holds the hours rolled into each period a run billed, as that run recorded them
    (the close it evaluated); `used`, the hours already billed per period. The walk starts at
    the earliest recorded period (before it, nothing rolled) and closes each period in turn:
    one whose successor was run closed then; one closing now counts the late hours first."""
    own = service_period(terms, period.start)
    left = {
        p: max(terms.included_hours - used.get(p, Decimal(0)), Decimal(0)) for p in (*used, *late)
    }
    recorded = sorted((p for p in carried if p.start < own.start), key=lambda p: p.start)
    if not recorded:
        return carried.get(own, Decimal(0)), left
    q, carry = recorded[0], carried[recorded[0]]
    while q.start < own.start:
        remaining = terms.included_hours + carry - used.get(q, Decimal(0))
        after = service_period(terms, q.end)
        if after in carried:
            carry = carried[after]
            left[q] = max(remaining - carry, Decimal(0))
        else:
            left[q] = max(remaining, Decimal(0))
            carry = rollover(terms, remaining - late.get(q, Decimal(0)))
        q = after
    return carry, left


def service_period(terms: RetainerTerms, day: date) -> Period:
    """The retainer's calendar service period holding the day (month, quarter or year)."""
    months = {"monthly": 1, "quarterly": 3, "annual": 12}[str(terms.period)]
    first = (day.month - 1) // months * months + 1
    start = date(day.year, first, 1)
    end_month = first + months
    end = date(day.year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return Period(start, end)


def cap_used(billed_values: Iterable[Money], cap: Money) -> Money:
    """What earlier invoices used of a cap: the standard value of the work they billed in the
    cap's currency, never more than the cap (what exceeded it was written down)."""
    total = sum_money((v for v in billed_values if v.currency == cap.currency), cap.currency)
    return min(total, cap)
