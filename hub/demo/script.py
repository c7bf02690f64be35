"""A demo plan as a script: dated calls of domain factories and methods, run in date order.

Planning decides every value up front, with seeded random streams and fixed dates only, and
writes each decision as a `Step`. Running the script (`run`) sends every step through the
domain, so nothing reaches the store without passing the aggregates' own checks.
"""

from __future__ import annotations

import calendar
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.base import CanonicalAggregate
from domain.errors import DomainError
from domain.ids import natural_id
from domain.registry import AGGREGATES
from domain.values import SourceRef
from hub.application import Claim, xref_claim

# The order records are saved in: what others refer to comes first.
ENTITY_ORDER = (
    "rate_card",
    "client",
    "resource",
    "engagement",
    "contract",
    "milestone",
    "time_entry",
    "expense",
    "invoice",
    "knowledge_asset",
)


@dataclass(frozen=True, slots=True)
class DemoSpec:
    """Which demo firm to load: the seed picks the firm, the scale multiplies every count."""

    seed: int = 7
    scale: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError("the demo seed is an integer")
        if not isinstance(self.scale, (int, float)) or not 0 < self.scale < math.inf:
            raise ValueError("the demo scale is a number greater than zero")
        object.__setattr__(self, "scale", float(self.scale))

    def count(self, base: int) -> int:
        """Returns a count of the firm at scale 1.0, scaled (at least one)."""
        return max(1, round(base * self.scale))

    @property
    def correlation_id(self) -> str:
        """Names this demo in every event it records (and so in the store)."""
        # repr: the shortest text that reads back as the same float.
        return f"pshub-demo/seed={self.seed}/scale={self.scale!r}"

    @classmethod
    def from_correlation_id(cls, value: str) -> DemoSpec | None:
        """Returns the spec a correlation id names, or None if it names none."""
        try:
            _, seed, scale = value.split("/")
            return cls(int(seed.removeprefix("seed=")), float(scale.removeprefix("scale=")))
        except (AttributeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Ref:
    """Another planned aggregate, handed to a method as it stands when the step runs."""

    id: UUID


@dataclass(frozen=True, slots=True)
class Step:
    """One call: a factory (when `entity` is set) or a method of the target aggregate."""

    on: date
    seq: int
    target: UUID
    method: str
    kwargs: dict[str, Any]
    entity: str = ""


@dataclass
class Script:
    """The steps planned so far, with the seeded random streams the planners draw from."""

    spec: DemoSpec
    steps: list[Step] = field(default_factory=list)
    entities: dict[UUID, str] = field(default_factory=dict)
    claims: dict[UUID, list[Claim]] = field(default_factory=dict)

    def rng(self, area: str) -> random.Random:
        """A random stream of its own per area, so that one area's counts move no other."""
        return random.Random(f"pshub-demo/{self.spec.seed}/{area}")

    def natural(self, kind: str, *key: str) -> UUID:
        return natural_id("demo", str(self.spec.seed), kind, *key)

    def create(
        self,
        on: date,
        entity: str,
        id: UUID,
        factory: str,
        *,
        xrefs: Sequence[SourceRef] = (),
        claims: Sequence[Claim] = (),
        **kwargs: Any,
    ) -> UUID:
        """Plans a factory call; xrefs are claimed, as the application's commands do."""
        if id in self.entities:
            raise ValueError(f"{entity} {id} is planned twice")
        self.entities[id] = entity
        if xrefs:
            kwargs["xrefs"] = list(xrefs)
        self.claims[id] = [*claims, *(xref_claim(entity, ref, id) for ref in xrefs)]
        self.steps.append(Step(on, len(self.steps), id, factory, kwargs, entity))
        return id

    def call(self, on: date, target: UUID, method: str, **kwargs: Any) -> None:
        """Plans a method call on an aggregate planned earlier."""
        self.steps.append(Step(on, len(self.steps), target, method, kwargs))


class DemoPlanError(Exception):
    """A planned step broke a domain rule: the plan is wrong, nothing was recorded."""


def run(steps: Sequence[Step]) -> dict[UUID, CanonicalAggregate]:
    """Runs the steps through the domain in date order; returns the aggregates by id."""
    built: dict[UUID, CanonicalAggregate] = {}
    for step in sorted(steps, key=lambda s: (s.on, s.seq)):
        try:
            kwargs = {name: _resolve(value, built) for name, value in step.kwargs.items()}
            if step.entity:
                factory = getattr(AGGREGATES[step.entity], step.method)
                built[step.target] = factory(id=step.target, **kwargs)
            else:
                getattr(built[step.target], step.method)(**kwargs)
        except (DomainError, KeyError) as exc:
            what = step.entity or built.get(step.target, CanonicalAggregate).ENTITY
            raise DemoPlanError(
                f"step {step.seq} on {step.on}: {what} {step.target}.{step.method}: {exc}"
            ) from exc
    return built


def _resolve(value: Any, built: dict[UUID, CanonicalAggregate]) -> Any:
    if isinstance(value, Ref):
        return built[value.id]
    if isinstance(value, list) and value and isinstance(value[0], Ref):
        return [built[ref.id] for ref in value]
    return value


# Calendar -------------------------------------------------------------------------------


def weekdays(start: date, last: date) -> list[date]:
    """Returns Monday-to-Friday dates from start to last, both included."""
    days, day = [], start
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def friday_of(day: date) -> date:
    """The Friday of the day's week (timesheets are submitted weekly)."""
    return day + timedelta(days=4 - day.weekday()) if day.weekday() <= 4 else day


def months(first: date, last: date) -> Iterator[date]:
    """Yields the first day of every month from first's month to last's month."""
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = next_month(month)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def month_label(month: date) -> str:
    return f"{calendar.month_name[month.month]} {month.year}"


def between(rng: random.Random, first: date, last: date) -> date:
    """A random date from first to last, both included."""
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def quota(n: int, weights: Sequence[int]) -> list[int]:
    """Splits n by weights, giving every weight at least one while n allows (largest remainder)."""
    counts = [0] * len(weights)
    floor = min(n, len(weights))
    for i in sorted(range(len(weights)), key=lambda i: -weights[i])[:floor]:
        counts[i] = 1
    rest = n - floor
    total = sum(weights)
    shares = [rest * w / total for w in weights]
    whole = [int(s) for s in shares]
    for i in sorted(range(len(weights)), key=lambda i: (whole[i] - shares[i], i))[
        : rest - sum(whole)
    ]:
        whole[i] += 1
    return [c + w for c, w in zip(counts, whole, strict=True)]
