"""Pricing one piece of work: the rate card in force on its work date (DOMAIN 3.3).

Shared by the metrics and the feeds that value work for a target (NetSuite cost lines, Harvest
assignment rates). A projection keeps what pricing needs in memory (rate lines by card, each
person's role and cost rate, each engagement's client), rebuilt from its own tables on start,
so that a page of events prices without a query per entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.errors import DomainError
from domain.rate_card import RateLine, RateTier, resolve
from domain.values import Money, Period


@dataclass(frozen=True, slots=True)
class Price:
    """A standard (bill) rate and a cost rate for one entry, and where each came from."""

    bill_rate: Money | None
    bill_basis: str  # "card" (the rate card), "source" (the source's own rate) or "none"
    cost_rate: Money | None


@dataclass
class PricingState:
    """What pricing needs to know about the firm, as of the projection's position."""

    lines: dict[UUID, list[RateLine]] = field(default_factory=dict)
    roles: dict[UUID, str] = field(default_factory=dict)
    person_cost: dict[UUID, Money | None] = field(default_factory=dict)
    clients: dict[UUID, UUID | None] = field(default_factory=dict)
    # Each engagement's currency: among equally specific lines, the one in it prices the work.
    currencies: dict[UUID, str] = field(default_factory=dict)
    # Lines by the engagement or client they are scoped to (None: firm-wide), so that pricing
    # an entry looks at its own engagement's, its client's and the firm's lines only.
    _scoped: dict[UUID | None, list[RateLine]] | None = None

    def set_card(self, card_id: UUID, lines: list[RateLine]) -> None:
        self.lines[card_id] = lines
        self._scoped = None

    def all_lines(self) -> list[RateLine]:
        return [line for lines in self.lines.values() for line in lines]

    def candidates(self, engagement_id: UUID | None, client_id: UUID | None) -> list[RateLine]:
        if self._scoped is None:
            scoped: dict[UUID | None, list[RateLine]] = {}
            for line in self.all_lines():
                scoped.setdefault(line.engagement_id or line.client_id, []).append(line)
            self._scoped = scoped
        found = list(self._scoped.get(None, ()))
        for key in {engagement_id, client_id} - {None}:
            found += self._scoped.get(key, ())
        return found

    def line_for(self, work: dict[str, Any]) -> RateLine | None:
        """The most specific rate-card line in force on the work's date, or None."""
        resource_id, engagement_id = work["resource_id"], work["engagement_id"]
        try:
            return resolve(
                self.candidates(engagement_id, self.clients.get(engagement_id)),
                work["work_date"],
                resource_id=resource_id,
                role=self.roles.get(resource_id) or None,
                engagement_id=engagement_id,
                client_id=self.clients.get(engagement_id),
                task=work.get("task") or None,
                currency=self.currencies.get(engagement_id),
            )
        except DomainError:
            return None

    def price(self, work: dict[str, Any]) -> Price:
        """Prices a time row: the most specific rate-card line on its work date, else the
        source's own rate (provisional: a card that arrives later replaces it)."""
        resource_id = work["resource_id"]
        line = self.line_for(work)
        source_rate = _money(work.get("source_rate"), work.get("source_rate_currency"))
        source_cost = _money(work.get("source_cost_rate"), work.get("source_cost_currency"))
        cost = (
            (line.cost_rate if line is not None else None)
            or source_cost
            or self.person_cost.get(resource_id)
        )
        if line is not None:
            return Price(line.bill_rate, "card", cost)
        if source_rate is not None:
            return Price(source_rate, "source", cost)
        return Price(None, "none", cost)

    def learn(self, entity: str, ref_id: UUID, data: dict[str, Any]) -> None:
        """Keeps what pricing needs of a rate card (`lines` as `line_to_json` writes them), a
        resource (`role`, `cost_rate` as {amount, currency}) or an engagement (`client_id`,
        `currency`)."""
        if entity == "rate_card":
            self.set_card(ref_id, [line_from_json(line) for line in data["lines"]])
        elif entity == "resource":
            self.roles[ref_id] = data.get("role") or ""
            cost = data.get("cost_rate")
            self.person_cost[ref_id] = (
                None if cost is None else Money(Decimal(cost["amount"]), cost["currency"])
            )
        elif entity == "engagement":
            client = data.get("client_id")
            self.clients[ref_id] = None if client is None else UUID(str(client))
            if data.get("currency"):
                self.currencies[ref_id] = data["currency"]

    def assigned(self, engagement_id: UUID) -> list[UUID]:
        """The people a rate card names on the engagement (a person-on-engagement line): who
        is assigned to it, in a stable order."""
        return sorted(
            {
                line.resource_id
                for line in self.candidates(engagement_id, None)
                if line.tier == RateTier.RESOURCE_ENGAGEMENT
                and line.engagement_id == engagement_id
                and line.resource_id is not None
            },
            key=str,
        )

    def current_line(self, engagement_id: UUID, resource_id: UUID) -> RateLine | None:
        """The line that prices a person on an engagement from the latest date any line of
        theirs starts (the rate a PSA assignment carries now), by the usual precedence."""
        client_id = self.clients.get(engagement_id)
        role = self.roles.get(resource_id) or None
        wanted = dict(
            resource_id=resource_id, role=role, engagement_id=engagement_id, client_id=client_id
        )
        fitting = [
            line
            for line in self.candidates(engagement_id, client_id)
            if line.matches(**wanted, task=None)
        ]
        if not fitting:
            return None
        start = max(line.period.start for line in fitting)
        try:
            return resolve(fitting, start, **wanted, currency=self.currencies.get(engagement_id))
        except DomainError:
            return None


def _money(amount: Decimal | None, currency: str | None) -> Money | None:
    return None if amount is None or not currency else Money(amount, currency)


# Rate lines kept in the projection's own table, as JSON --------------------------------------


def line_to_json(line: RateLine) -> dict[str, Any]:
    return {
        "tier": str(line.tier),
        "currency": line.currency,
        "bill_rate": str(line.bill_rate.amount),
        "cost_rate": None if line.cost_rate is None else str(line.cost_rate.amount),
        "cost_currency": None if line.cost_rate is None else line.cost_rate.currency,
        "start": line.period.start.isoformat(),
        "end": None if line.period.end is None else line.period.end.isoformat(),
        "role": line.role,
        "task": line.task,
        **{
            k: None if getattr(line, k) is None else str(getattr(line, k))
            for k in ("resource_id", "engagement_id", "client_id")
        },
    }


def line_from_json(data: dict[str, Any]) -> RateLine:
    cost = data.get("cost_rate")
    return RateLine(
        tier=RateTier(data["tier"]),
        currency=data["currency"],
        bill_rate=Money(Decimal(data["bill_rate"]), data["currency"]),
        cost_rate=None if cost is None else Money(Decimal(cost), data["cost_currency"]),
        period=Period(
            date.fromisoformat(data["start"]),
            None if data["end"] is None else date.fromisoformat(data["end"]),
        ),
        role=data["role"],
        task=data["task"],
        **{
            k: None if data[k] is None else UUID(data[k])
            for k in ("resource_id", "engagement_id", "client_id")
        },
    )
