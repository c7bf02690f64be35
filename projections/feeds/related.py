"""RelatedRecords: what a feed keeps of other records for a target whose mapping needs them
(hub.contracts.feeds.Related): engagements, people and rate cards as the log stands at the
event being mapped, and the price each time entry's fact was first given.

Kept in memory and in the feed generation's own table (written in the same transaction as its
outbox and position), so a restart carries on where it stopped and a rebuild from position zero
gives the same state at each event, hence the same items. Pricing is the metrics' own
(domain.pricing): the most specific rate-card line on the work date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.pricing import PricingState, line_to_json
from domain.rate_card import RateLine
from hub.contracts.feeds import Quote

# What pricing and the mappings need besides the records a target maps.
KEPT = frozenset({"engagement", "resource", "rate_card"})
MEMO = "price"  # a time entry's price, kept per fact
HELD = "held"  # a record with a held item, as last mapped (mapped again when a card changes)
# What a time entry's price depends on: a change to it is a new fact, priced anew.
FACT = ("engagement_id", "resource_id", "work_date", "hours", "task")


def _uuid(value: Any) -> UUID | None:
    return None if value in (None, "") else UUID(str(value))


def quote_of(line: RateLine) -> Quote:
    cost = line.cost_rate
    return Quote(
        rate=line.bill_rate.amount,
        currency=line.currency,
        tier=str(line.tier),
        effective_from=line.period.start,
        cost_rate=None if cost is None else cost.amount,
        cost_currency=None if cost is None else cost.currency,
    )


def _quote_json(quote: Quote) -> dict[str, Any]:
    return {
        "rate": str(quote.rate),
        "currency": quote.currency,
        "tier": quote.tier,
        "effective_from": quote.effective_from.isoformat(),
        "cost_rate": None if quote.cost_rate is None else str(quote.cost_rate),
        "cost_currency": quote.cost_currency,
    }


def _quote_from_json(data: Mapping[str, Any]) -> Quote:
    cost = data.get("cost_rate")
    return Quote(
        rate=Decimal(data["rate"]),
        currency=data["currency"],
        tier=data["tier"],
        effective_from=date.fromisoformat(data["effective_from"]),
        cost_rate=None if cost is None else Decimal(cost),
        cost_currency=data.get("cost_currency"),
    )


class RelatedRecords:
    """hub.contracts.feeds.Related over a feed's own copy of the records it needs."""

    def __init__(self, rows: Iterable[tuple[str, UUID, dict[str, Any]]] = ()) -> None:
        self.records: dict[UUID, tuple[str, dict[str, Any]]] = {}
        self.memo: dict[UUID, dict[str, Any]] = {}
        self.held: dict[UUID, tuple[str, dict[str, Any]]] = {}
        self.state = PricingState()
        # What changed since the feed last wrote, by (kind, id): {} releases a held record.
        self.changed: dict[tuple[str, UUID], dict[str, Any]] = {}
        for kind, ref_id, data in rows:
            if kind == MEMO:
                self.memo[ref_id] = data
            elif kind == HELD:
                if data:
                    self.held[ref_id] = (data["entity"], data["record"])
            else:
                self._keep(kind, ref_id, data)
        self.changed = {}

    def _keep(self, entity: str, ref_id: UUID, data: dict[str, Any]) -> None:
        self.records[ref_id] = (entity, data)
        self.state.learn(entity, ref_id, data)
        self.changed[(entity, ref_id)] = data

    def hold(self, entity: str, record: dict[str, Any], held: bool) -> None:
        """Keeps (or lets go of) a record whose items include a held one."""
        ref_id = UUID(str(record["id"]))
        if held:
            self.held[ref_id] = (entity, record)
            self.changed[(HELD, ref_id)] = {"entity": entity, "record": record}
        elif self.held.pop(ref_id, None) is not None:
            self.changed[(HELD, ref_id)] = {}

    def learn(self, entity: str, aggregate: Any, record: dict[str, Any]) -> set[UUID]:
        """Keeps the record as it stands now; for a rate card, returns the engagements and
        people its lines named before or name now (what the change may re-price)."""
        if entity == "rate_card":
            before = self.records.get(aggregate.id, ("", {"lines": []}))[1]["lines"]
            lines = [] if aggregate.deleted else aggregate.lines
            data = {"lines": [line_to_json(line) for line in lines]}
            self._keep(entity, aggregate.id, data)
            return {
                ref
                for line in [*before, *data["lines"]]
                for ref in (_uuid(line.get("engagement_id")), _uuid(line.get("resource_id")))
                if ref is not None
            }
        if entity in KEPT:
            # Only what pricing and the mappings look up (a time entry's engagement, who is
            # assigned where): keeping every time entry too wrote a row per event.
            self._keep(entity, aggregate.id, record)
        return set()

    def take_changes(self) -> list[tuple[str, UUID, dict[str, Any]]]:
        """What changed since the last call (written with the feed's position)."""
        found = [(kind, ref_id, data) for (kind, ref_id), data in self.changed.items()]
        self.changed = {}
        return found

    # hub.contracts.feeds.Related ------------------------------------------------------------

    def record(self, canonical_id: UUID | str | None) -> Mapping[str, Any] | None:
        found = self.records.get(_uuid(canonical_id)) if canonical_id else None  # type: ignore[arg-type]
        return None if found is None or found[0] == "rate_card" else found[1]

    def price(self, entry: Mapping[str, Any]) -> Quote | None:
        entry_id = UUID(str(entry["id"]))
        fact = [None if entry.get(k) is None else str(entry[k]) for k in FACT]
        memo = self.memo.get(entry_id)
        if memo is not None and memo["fact"] == fact:
            return _quote_from_json(memo["quote"])  # a rate change re-prices nothing priced
        line = self.state.line_for(
            {
                "resource_id": _uuid(entry["resource_id"]),
                "engagement_id": _uuid(entry["engagement_id"]),
                "work_date": date.fromisoformat(str(entry["work_date"])),
                "task": entry.get("task") or None,
            }
        )
        if line is None:
            return None  # unpriced work is priced whenever a card that covers it arrives
        quote = quote_of(line)
        self.memo[entry_id] = {"fact": fact, "quote": _quote_json(quote)}
        self.changed[(MEMO, entry_id)] = self.memo[entry_id]
        return quote

    def assigned(self, engagement_id: UUID | str) -> list[tuple[UUID, Quote]]:
        engagement = UUID(str(engagement_id))
        found = []
        for person in self.state.assigned(engagement):
            line = self.state.current_line(engagement, person)
            if line is not None:
                found.append((person, quote_of(line)))
        return found

    def engagements_of(self, resource_id: UUID | str) -> list[UUID]:
        person = UUID(str(resource_id))
        engagements = {
            line.engagement_id
            for line in self.state.all_lines()
            if line.resource_id == person and line.engagement_id is not None
        }
        return sorted((e for e in engagements if person in self.state.assigned(e)), key=str)
