"""Deciding the engagements: status, contract type, dates, team and negotiated rates."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from domain.client import ClientStatus
from domain.contract import (
    ContractType,
    RetainerTerms,
)
from domain.engagement import EngagementStatus
from domain.ids import source_id
from domain.milestone import MilestoneStatus
from domain.rate_card import RateLine, RateTier
from domain.values import Money, Period, SourceRef
from hub.demo import catalog as cat
from hub.demo.parties import ClientFacts, ResourceFacts, rate
from hub.demo.script import (
    Script,
    between,
    months,
    quota,
    weekday_on_or_after,
    weekday_on_or_before,
)
from hub.demo.sources import Tenants

if TYPE_CHECKING:
    from hub.demo.work import EntryFacts, ExpenseFacts

E = EngagementStatus
T = ContractType
M = MilestoneStatus
STATUS_WEIGHTS = {E.PIPELINE: 14, E.WON: 8, E.ACTIVE: 50, E.ON_HOLD: 8, E.CLOSED: 30, E.LOST: 10}
TYPE_WEIGHTS = {
    T.TIME_AND_MATERIALS: 45,
    T.CAPPED_TIME_AND_MATERIALS: 20,
    T.FIXED_FEE: 25,
    T.RETAINER: 10,
}
# The first engagement of each status gets this type, so every combination the tests and
# the tour rely on exists at any scale.
SHOWCASE = {
    E.ACTIVE: T.FIXED_FEE,
    E.ON_HOLD: T.TIME_AND_MATERIALS,
    E.CLOSED: T.CAPPED_TIME_AND_MATERIALS,
    E.WON: T.RETAINER,
    E.PIPELINE: T.TIME_AND_MATERIALS,
    E.LOST: T.FIXED_FEE,
}
WORKED = (E.ACTIVE, E.ON_HOLD, E.CLOSED)


@dataclass
class MilestoneFacts:
    id: UUID
    n: int
    name: str
    amount: Money
    due: date
    state: MilestoneStatus


@dataclass
class EngagementFacts:
    n: int
    id: UUID
    code: str
    name: str
    client: ClientFacts
    status: EngagementStatus
    type: ContractType
    service_line: str
    opened_on: date
    decided_on: date
    start: date
    end: date
    hold_on: date | None
    manager: ResourceFacts
    team: list[ResourceFacts]
    contract_id: UUID
    showcase: bool = False
    rate_lines: list[RateLine] = field(default_factory=list)
    entries: list[EntryFacts] = field(default_factory=list)
    expenses: list[ExpenseFacts] = field(default_factory=list)
    milestones: list[MilestoneFacts] = field(default_factory=list)
    value: Money | None = None
    cap: Money | None = None
    retainer: RetainerTerms | None = None
    payment_terms: int = 30
    budget: Money | None = None
    cap_orders: list[tuple[date, Money]] = field(default_factory=list)
    xref: SourceRef | None = None
    closed_on: date | None = None

    @property
    def region(self) -> cat.Region:
        return self.client.region

    @property
    def awaits_legal_entity(self) -> bool:
        """The showcase deal won but not started: finance has not assigned its invoicing
        legal entity yet, so quote-to-cash blocks its provisioning (a case in the queue)."""
        return self.showcase and self.status == E.WON

    @property
    def legal_entity(self) -> str:
        return "" if self.awaits_legal_entity else self.region.legal_entity

    @property
    def currency(self) -> str:
        return self.client.region.currency

    @property
    def tax_rate(self) -> Decimal:
        """The rate the legal entity charges this client (DOMAIN 3.11), as a fraction."""
        return self.client.tax[1]

    @property
    def final_cap(self) -> Money | None:
        """The cap after every change order."""
        return self.cap_orders[-1][1] if self.cap_orders else self.cap

    @property
    def work_last(self) -> date:
        """The last day work may be recorded (the day before a hold, or today)."""
        if self.hold_on is not None:
            return min(self.end, self.hold_on - timedelta(days=1))
        return min(self.end, cat.AS_OF)


def decide_engagements(
    script: Script,
    tenants: Tenants,
    clients: list[ClientFacts],
    resources: list[ResourceFacts],
    firm_lines: dict[str, list[RateLine]],
) -> list[EngagementFacts]:
    """Decides every engagement's status, contract type, dates and team (nothing planned yet)."""
    rng = script.rng("engagements")
    n = script.spec.count(120)
    statuses = [
        s
        for s, k in zip(STATUS_WEIGHTS, quota(n, list(STATUS_WEIGHTS.values())), strict=True)
        for _ in range(k)
    ]
    rng.shuffle(statuses)
    open_clients = [c for c in clients if c.status == ClientStatus.ACTIVE] or clients
    weight = {c.id: rng.uniform(0.3, 3.0) for c in clients}
    seen: set[EngagementStatus] = set()
    engagements = []
    for i, status in enumerate(statuses, start=1):
        pool = clients if status in (E.CLOSED, E.LOST) else open_clients
        client = rng.choices(pool, weights=[weight[c.id] for c in pool])[0]
        showcase = status not in seen
        seen.add(status)
        kind = (
            SHOWCASE[status]
            if showcase
            else rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
        )
        opened, decided, start, end, hold = _dates(rng, status, showcase, client)
        service_line = rng.choice(list(cat.SERVICE_LINES))
        name = rng.choice(cat.SERVICE_LINES[service_line])
        if rng.random() < 0.2:
            name += " - Phase 2"
        team = _team(rng, resources, client.region, kind, min(end, cat.AS_OF))
        ref = tenants.opportunity(rng)
        facts = EngagementFacts(
            n=i,
            id=source_id("engagement", ref),
            code=f"{client.abbr}-{start.year}-{i:03d}",
            name=name,
            client=client,
            status=status,
            type=kind,
            service_line=service_line,
            opened_on=opened,
            decided_on=decided,
            start=start,
            end=end,
            hold_on=hold,
            manager=team[0],
            team=team,
            contract_id=script.natural("contract", str(i)),
            showcase=showcase,
            payment_terms=rng.choice((30, 30, 45, 60)),
        )
        facts.rate_lines = [*firm_lines[client.region.currency], *client.rate_lines]
        facts.xref = ref
        engagements.append(facts)
    return engagements


def _dates(
    rng: random.Random, status: EngagementStatus, showcase: bool, client: ClientFacts
) -> tuple[date, date, date, date, date | None]:
    """Returns (opened, won or lost, start, end, hold) for a status, all on weekdays."""
    today, hold = cat.AS_OF, None
    if status == E.CLOSED:
        start = between(rng, date(2025, 1, 6), date(2025, 7, 15))
        end = min(start + timedelta(weeks=rng.randint(10, 26)), date(2025, 11, 28))
    elif status == E.ACTIVE:
        start = between(rng, date(2025, 4, 1), date(2026, 2, 16))
        end = max(
            start + timedelta(weeks=rng.randint(20, 52)),
            today + timedelta(days=rng.randint(21, 120)),
        )
        if showcase:
            start, end = today - timedelta(days=160), today + timedelta(days=130)
    elif status == E.ON_HOLD:
        start = between(rng, date(2025, 3, 3), date(2025, 10, 1))
        end = max(
            start + timedelta(weeks=rng.randint(26, 52)),
            today + timedelta(days=rng.randint(30, 150)),
        )
        hold = between(
            rng, max(start + timedelta(weeks=8), date(2025, 10, 1)), today - timedelta(days=5)
        )
        if showcase:
            start, end, hold = date(2025, 9, 1), date(2026, 7, 31), date(2026, 3, 2)
        hold = weekday_on_or_after(hold)
    elif status == E.WON:
        start = between(rng, today + timedelta(days=10), today + timedelta(days=60))
        end = start + timedelta(weeks=rng.randint(12, 40))
    elif status == E.PIPELINE:
        start = between(rng, today + timedelta(days=30), today + timedelta(days=150))
        end = start + timedelta(weeks=rng.randint(8, 30))
    else:
        opened = between(rng, date(2024, 11, 1), date(2026, 1, 15))
        lost = min(opened + timedelta(days=rng.randint(30, 75)), today - timedelta(days=7))
        start = lost + timedelta(days=rng.randint(21, 45))
        end = start + timedelta(weeks=rng.randint(8, 24))
        return (
            weekday_on_or_after(opened),
            weekday_on_or_after(lost),
            weekday_on_or_after(start),
            weekday_on_or_before(end),
            None,
        )
    start, end = weekday_on_or_after(start), weekday_on_or_before(end)
    if status == E.PIPELINE:
        opened = weekday_on_or_before(
            between(rng, today - timedelta(days=120), today - timedelta(days=5))
        )
        return opened, opened, start, end, None
    opened = max(
        start - timedelta(days=rng.randint(60, 120)), client.registered_on + timedelta(days=7)
    )
    won = max(start - timedelta(days=rng.randint(10, 35)), opened + timedelta(days=7))
    return weekday_on_or_after(opened), weekday_on_or_after(won), start, end, hold


def _team(
    rng: random.Random,
    resources: list[ResourceFacts],
    region: cat.Region,
    kind: ContractType,
    last: date,
) -> list[ResourceFacts]:
    """A manager first, then a partner and the staff, mostly from the engagement's region."""
    available = [r for r in resources if r.left_on is None or r.left_on > last]
    available = available or resources

    def pick(roles: tuple[str, ...], taken: list[ResourceFacts]) -> ResourceFacts | None:
        pool = [r for r in available if r.role in roles and r not in taken]
        local = [r for r in pool if r.region == region]
        pool = local if local and rng.random() < 0.85 else pool
        return rng.choice(pool) if pool else None

    team: list[ResourceFacts] = []
    for roles in (("manager", "director"), ("partner", "director")):
        found = pick(roles, team)
        if found:
            team.append(found)
    staff = ("senior_consultant", "consultant", "analyst")
    for _ in range(rng.randint(1, 2) if kind == T.RETAINER else rng.randint(2, 5)):
        found = pick(staff, team) or pick(cat.ROLES, team)
        if found:
            team.append(found)
    return team or [rng.choice(resources)]


def add_engagement_rates(script: Script, engagements: list[EngagementFacts]) -> None:
    """Gives some T&M engagements SOW rates, half of them raised mid-engagement."""
    rng = script.rng("engagement-rates")
    for eng in engagements:
        if eng.type not in (T.TIME_AND_MATERIALS, T.CAPPED_TIME_AND_MATERIALS):
            continue
        if eng.status not in WORKED or rng.random() >= 0.25:
            continue
        currency, start = eng.currency, eng.start
        base = {
            line.role: line.bill_rate.amount
            for line in eng.rate_lines
            if line.tier == RateTier.ROLE_DEFAULT and line.period.contains(start)
        }
        roles = sorted({r.role for r in eng.team}, key=cat.ROLES.index)[:3]
        factor = Decimal(rng.randint(90, 97)) / 100
        lines = [
            RateLine(
                tier=RateTier.ROLE_ENGAGEMENT,
                currency=currency,
                bill_rate=rate(base[role], factor, currency),
                period=Period(start),
                role=role,
                engagement_id=eng.id,
            )
            for role in roles
        ]
        card_id = script.natural("rate_card", "engagement", eng.code)
        script.create(
            eng.decided_on,
            "rate_card",
            card_id,
            "create",
            name=f"SOW rates: {eng.code}",
            lines=lines,
        )
        spanned = list(months(start, eng.end))
        middle = spanned[len(spanned) // 2]
        if rng.random() < 0.5 and start < middle <= eng.work_last:
            raised = [
                RateLine(
                    tier=line.tier,
                    currency=currency,
                    bill_rate=rate(line.bill_rate.amount, Decimal("1.03"), currency),
                    period=Period(middle),
                    role=line.role,
                    engagement_id=eng.id,
                )
                for line in lines
            ]
            for line in raised:
                script.call(
                    middle - timedelta(days=14), card_id, "add_line", line=line, supersede=True
                )
            lines = [
                RateLine(
                    tier=line.tier,
                    currency=currency,
                    bill_rate=line.bill_rate,
                    period=Period(start, middle),
                    role=line.role,
                    engagement_id=eng.id,
                )
                for line in lines
            ] + raised
        eng.rate_lines = [*eng.rate_lines, *lines]
