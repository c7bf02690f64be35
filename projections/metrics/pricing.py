"""Pricing one piece of work for the metrics: the rate card in force on the work date.

The projection keeps what it needs to price work in memory (rate lines by card, each person's
role and cost rate, each engagement's client), rebuilt from its own tables on start, so that a
page of events prices without a query per entry.
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

    def price(self, work: dict[str, Any]) -> Price:
        """Prices a time row: the most specific rate-card line on its work date, else the
        source's own rate (provisional: a card that arrives later replaces it)."""
        resource_id, engagement_id = work["resource_id"], work["engagement_id"]
        try:
            line: RateLine | None = resolve(
                self.candidates(engagement_id, self.clients.get(engagement_id)),
                work["work_date"],
                resource_id=resource_id,
                role=self.roles.get(resource_id) or None,
                engagement_id=engagement_id,
                client_id=self.clients.get(engagement_id),
                task=work.get("task") or None,
            )
        except DomainError:
            line = None
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
