"""Rate card: effective-dated bill and cost rates, resolved by precedence on the work date."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import check_detail_values, check_flag, check_required_text, coerce_enum
from domain.errors import CurrencyMismatchError, RuleViolationError
from domain.values import Money, Period, SourceRef, check_currency


class RateTier(StrEnum):
    """Rate-card tiers, declared most specific first (DOMAIN 3.3 precedence)."""

    RESOURCE_ENGAGEMENT = "resource_engagement"
    ROLE_ENGAGEMENT = "role_engagement"
    TASK_ENGAGEMENT = "task_engagement"
    RESOURCE_CLIENT = "resource_client"
    ROLE_CLIENT = "role_client"
    ROLE_DEFAULT = "role_default"
    RESOURCE_DEFAULT = "resource_default"


TIER_ORDER: tuple[RateTier, ...] = tuple(RateTier)

# The key fields each tier is scoped by; every other key field must be empty.
TIER_KEYS: dict[RateTier, frozenset[str]] = {
    RateTier.RESOURCE_ENGAGEMENT: frozenset({"resource_id", "engagement_id"}),
    RateTier.ROLE_ENGAGEMENT: frozenset({"role", "engagement_id"}),
    RateTier.TASK_ENGAGEMENT: frozenset({"task", "engagement_id"}),
    RateTier.RESOURCE_CLIENT: frozenset({"resource_id", "client_id"}),
    RateTier.ROLE_CLIENT: frozenset({"role", "client_id"}),
    RateTier.ROLE_DEFAULT: frozenset({"role"}),
    RateTier.RESOURCE_DEFAULT: frozenset({"resource_id"}),
}
KEY_FIELDS = ("resource_id", "role", "engagement_id", "client_id", "task")


@dataclass(frozen=True, slots=True)
class RateLine:
    """One effective-dated rate of one tier and key; the cost rate may be in another currency."""

    tier: RateTier
    currency: str
    bill_rate: Money
    period: Period
    role: str = ""
    resource_id: UUID | None = None
    engagement_id: UUID | None = None
    client_id: UUID | None = None
    task: str = ""
    cost_rate: Money | None = None
    # The source's own id of the rate (a Harvest billable rate id): descriptive.
    source_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", coerce_enum(RateTier, self.tier, "tier"))
        check_currency(self.currency)
        self.bill_rate.check_not_negative("bill_rate")
        if self.bill_rate.currency != self.currency:
            raise CurrencyMismatchError(
                f"bill rate in {self.bill_rate.currency} on a {self.currency} rate line",
                field="bill_rate.currency",
            )
        # The cost rate is the firm's cost, kept in its own (often home) currency.
        if self.cost_rate is not None:
            self.cost_rate.check_not_negative("cost_rate")
        required = TIER_KEYS[self.tier]
        for field in KEY_FIELDS:
            present = getattr(self, field) not in (None, "")
            if present != (field in required):
                raise RuleViolationError(
                    f"a {self.tier} line {'needs' if field in required else 'has no'} {field}",
                    rule="rate_scope",
                    field=field,
                )

    @property
    def substance(self) -> tuple[Any, ...]:
        """What the line prices, without the source's id of it."""
        return (self.key, self.currency, self.bill_rate, self.cost_rate, self.period)

    @property
    def key(self) -> tuple[Any, ...]:
        """The tier and scope; two lines with one key must not overlap in time."""
        return (self.tier, *(getattr(self, f) for f in KEY_FIELDS))

    def matches(
        self,
        *,
        resource_id: UUID | None,
        role: str | None,
        engagement_id: UUID | None,
        client_id: UUID | None,
        task: str | None,
    ) -> bool:
        """Tells whether the line's scope fits a piece of work (ignoring dates)."""
        wanted = {
            "resource_id": resource_id,
            "role": role,
            "engagement_id": engagement_id,
            "client_id": client_id,
            "task": task,
        }
        return all(
            wanted[f] not in (None, "") and getattr(self, f) == wanted[f]
            for f in TIER_KEYS[self.tier]
        )


def check_no_overlap(lines: Sequence[RateLine]) -> None:
    """Raises when two lines of one tier and key share a date; never pick one at random."""
    for i, line in enumerate(lines):
        for other in lines[i + 1 :]:
            if line.key == other.key and line.period.overlaps(other.period):
                raise RuleViolationError(
                    f"{line.tier} lines from {line.period.start} and {other.period.start} overlap",
                    rule="rate_overlap",
                    field="period",
                )


def resolve(
    lines: Iterable[RateLine],
    work_date: date,
    *,
    resource_id: UUID | None,
    role: str | None,
    engagement_id: UUID | None,
    client_id: UUID | None,
    task: str | None = None,
    currency: str | None = None,
) -> RateLine:
    """Returns the most specific line whose period contains the work date, or raises no_rate.

    Within one tier, the line in `currency` (the engagement's) wins: a firm with a card per
    currency has one role-default line in each, and work is priced in the currency it bills in.
    Precedence still comes first: a more specific line in another currency beats it.
    """
    candidates = [
        line
        for line in lines
        if line.period.contains(work_date)
        and line.matches(
            resource_id=resource_id,
            role=role,
            engagement_id=engagement_id,
            client_id=client_id,
            task=task,
        )
    ]
    if not candidates:
        raise RuleViolationError(
            f"no rate line applies on {work_date}", rule="no_rate", field="work_date"
        )
    # Overlap is refused per key within a card; across cards (one per currency) a tier may
    # match once per currency, and the work's currency decides. The sort key is total (tier,
    # currency, then the line's own fields) so the choice never depends on the lines' order.
    return min(
        candidates,
        key=lambda line: (
            TIER_ORDER.index(line.tier),
            currency is not None and line.currency != currency,
            line.currency,
        ),
    )


# Harvest's rates carry no currency: the card's currency then comes from configuration, and
# finance should know it was assumed rather than reported.
DETAIL_GUARDS = {"currency_assumed": check_flag}


class RateCard(CanonicalAggregate):
    """A set of rate lines (the firm's, a client's or an engagement's card)."""

    ENTITY = "rate_card"
    DETAILS = dict.fromkeys(DETAIL_GUARDS)
    REVISABLE = frozenset({"name"}) | frozenset(DETAILS)

    @classmethod
    def create(
        cls,
        *,
        id: UUID,
        name: str,
        lines: Sequence[RateLine] = (),
        xrefs: Sequence[SourceRef] = (),
        details: Mapping[str, Any] | None = None,
    ) -> RateCard:
        """Creates a rate card; overlapping lines of one tier and key reject the whole card."""
        check_no_overlap(lines)
        return cls(
            id=id,
            name=check_required_text(name, "name"),
            lines=list(lines),
            xrefs=list(xrefs),
            details=check_detail_values(cls.check_details(details), DETAIL_GUARDS),
        )

    @event("Created")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        name: str,
        lines: list[RateLine],
        xrefs: list[SourceRef],
        details: dict[str, Any] | None = None,  # absent from events recorded before details
    ) -> None:
        self._init_canonical(xrefs, details)
        self.name = name
        self.lines = list(lines)

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        if "name" in changes:
            changes["name"] = check_required_text(changes["name"], "name")
        changes.update(
            check_detail_values(
                {k: v for k, v in changes.items() if k in self.DETAILS}, DETAIL_GUARDS
            )
        )
        return changes

    def add_line(self, line: RateLine, *, supersede: bool = False) -> None:
        """Adds a line; with supersede, an earlier open line of its key ends where it starts."""
        self.check_not_deleted("add a rate line")
        if line in self.lines:
            return
        ended = []
        if supersede:
            ended = [
                old
                for old in self.lines
                if old.key == line.key
                and old.period.start < line.period.start
                and old.period.overlaps(line.period)
            ]
        remaining = [
            old if old not in ended else _ended(old, line.period.start) for old in self.lines
        ]
        check_no_overlap([*remaining, line])
        for old in ended:
            self._line_ended(line=old, end=line.period.start)
        self._line_added(line=line)

    @event("LineAdded")
    def _line_added(self, line: RateLine) -> None:
        self.lines = [*self.lines, line]

    def end_line(self, line: RateLine, end: date) -> None:
        """Ends a line before `end` (exclusive), e.g. when a rate is withdrawn."""
        self.check_not_deleted("end a rate line")
        if line not in self.lines:
            raise RuleViolationError("no such rate line", rule="unknown_line", field="line")
        _ended(line, end)  # checks that the period stays valid
        if line.period.end != end:
            self._line_ended(line=line, end=end)

    @event("LineEnded")
    def _line_ended(self, line: RateLine, end: date) -> None:
        self.lines = [_ended(old, end) if old == line else old for old in self.lines]

    def replace_lines(self, lines: Sequence[RateLine]) -> None:
        """Replaces the whole card (a full load from the source); overlap rejects it."""
        self.check_not_deleted("replace rate lines")
        check_no_overlap(lines)
        if list(lines) != self.lines:
            self._lines_replaced(lines=list(lines))

    @event("LinesReplaced")
    def _lines_replaced(self, lines: list[RateLine]) -> None:
        self.lines = list(lines)

    def resolve(
        self,
        work_date: date,
        *,
        resource_id: UUID | None,
        role: str | None,
        engagement_id: UUID | None,
        client_id: UUID | None,
        task: str | None = None,
        currency: str | None = None,
    ) -> RateLine:
        """Returns the rate line for work on a date (the work date, never the approval date)."""
        return resolve(
            self.lines,
            work_date,
            resource_id=resource_id,
            role=role,
            engagement_id=engagement_id,
            client_id=client_id,
            task=task,
            currency=currency,
        )


def _ended(line: RateLine, end: date) -> RateLine:
    return replace(line, period=Period(line.period.start, end))
