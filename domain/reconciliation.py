"""Reconciliation: what the hub believes a system holds against what the system reports.

Pure: the pass (hub/reconciliation/) reads both sides and hands them here. Each side is a set
of records of one of the system's entities, named by the system's own id. The hub's side
carries the fields it sent (its payload, other records' ids resolved); only those fields are
compared (a system adds fields of its own, which are none of the hub's business), leaf by leaf,
numbers as numbers. A record the system holds that the hub knows only from ingest (an xref of
that system) is matched by presence alone: the hub sent nothing to compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

MATCHING = "matching"
MISSING_DOWNSTREAM = "missing_downstream"
MISSING_IN_HUB = "missing_in_hub"
DIFFERING = "differing"
OUTCOMES = (MATCHING, MISSING_DOWNSTREAM, MISSING_IN_HUB, DIFFERING)
DRIFTS = (MISSING_DOWNSTREAM, MISSING_IN_HUB, DIFFERING)


class _Unknown:
    """A value the hub cannot state (another record's id the system has not been given yet):
    never a difference."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Money:
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class Expected:
    """One record the hub sent the system and the system acknowledged, as last sent."""

    entity: str  # the system's entity ("customer", "job", "clients" ...)
    target_id: str
    canonical_id: str
    key: str  # the feed item's key within the golden record
    fields: Mapping[str, Any]
    money: Money | None = None


@dataclass(frozen=True)
class Held:
    """One record the system reports holding."""

    entity: str
    target_id: str
    fields: Mapping[str, Any]
    money: Money | None = None
    # The record it is part of, for a part listed with its whole (a line of an invoice):
    # a part of a whole the hub did not send is the whole's business, never judged alone.
    parent: tuple[str, str] | None = None


@dataclass(frozen=True)
class Difference:
    field: str  # a dotted path: "currency.refName", "Line.0.Amount"
    hub: Any
    system: Any


@dataclass(frozen=True)
class Finding:
    outcome: str
    entity: str
    target_id: str
    canonical_id: str | None = None
    key: str | None = None
    differences: tuple[Difference, ...] = ()
    money: Money | None = None

    @property
    def drift(self) -> bool:
        return self.outcome in DRIFTS

    @property
    def identity(self) -> str:
        """What names the finding from one pass to the next: the hub's item where the hub has
        one, else the system's record."""
        if self.canonical_id is not None:
            return f"{self.entity}:{self.canonical_id}:{self.key}"
        return f"{self.entity}:system:{self.target_id}"


@dataclass
class Reconciliation:
    findings: list[Finding] = field(default_factory=list)

    @property
    def drifts(self) -> list[Finding]:
        return [f for f in self.findings if f.drift]

    def totals(self) -> dict[str, Any]:
        """Counts by entity and outcome, and money per currency by outcome (never summed
        across currencies)."""
        counts: dict[str, dict[str, int]] = {}
        money: dict[str, dict[str, Decimal]] = {}
        for finding in self.findings:
            by_outcome = counts.setdefault(finding.entity, dict.fromkeys(OUTCOMES, 0))
            by_outcome[finding.outcome] += 1
            if finding.money is not None:
                per = money.setdefault(finding.outcome, {})
                currency = finding.money.currency
                per[currency] = per.get(currency, Decimal(0)) + finding.money.amount
        overall = dict.fromkeys(OUTCOMES, 0)
        for by_outcome in counts.values():
            for outcome, n in by_outcome.items():
                overall[outcome] += n
        return {
            "entities": counts,
            "overall": overall,
            "drift": sum(overall[o] for o in DRIFTS),
            "money": {o: {c: str(a) for c, a in sorted(v.items())} for o, v in money.items()},
        }


def compare(
    expected: Iterable[Expected],
    held: Iterable[Held],
    *,
    known: frozenset[tuple[str, str]] = frozenset(),
    in_flight: frozenset[tuple[str, str]] = frozenset(),
) -> Reconciliation:
    """Matches the two sides by (entity, system id).

    `known`: (entity, id) pairs the hub knows from ingest (a presence is all it can check);
    `in_flight`: pairs the hub is about to write (a newer payload not delivered yet), which
    are neither compared nor reported missing.
    """
    held_by = {(h.entity, h.target_id): h for h in held}
    found = Reconciliation()
    seen: set[tuple[str, str]] = set()
    for item in sorted(expected, key=lambda e: (e.entity, e.canonical_id, e.key)):
        pair = (item.entity, item.target_id)
        seen.add(pair)
        other = held_by.get(pair)
        common = {
            "entity": item.entity,
            "target_id": item.target_id,
            "canonical_id": item.canonical_id,
            "key": item.key,
            "money": item.money,
        }
        if other is None:
            found.findings.append(Finding(MISSING_DOWNSTREAM, **common))
            continue
        diffs = tuple(differences(item.fields, other.fields))
        outcome = DIFFERING if diffs else MATCHING
        found.findings.append(Finding(outcome, differences=diffs, **common))
    for pair, other in sorted(held_by.items()):
        if pair in seen or pair in in_flight:
            continue
        if other.parent is not None and other.parent not in seen:
            continue
        outcome = MATCHING if pair in known else MISSING_IN_HUB
        found.findings.append(Finding(outcome, other.entity, other.target_id, money=other.money))
    return found


def differences(hub: Mapping[str, Any], system: Any, path: str = "") -> list[Difference]:
    """Where the system's record departs from the fields the hub sent, leaf by leaf."""
    found: list[Difference] = []
    held = system if isinstance(system, Mapping) else {}
    for name, value in hub.items():
        if str(name).startswith("@"):
            continue  # an instruction to the system (an OData annotation), not a field
        where = f"{path}{name}"
        found += _differ(value, held.get(name), where)
    return found


def _differ(hub: Any, system: Any, where: str) -> list[Difference]:
    if hub is UNKNOWN:
        return []
    if isinstance(hub, Mapping):
        if not isinstance(system, Mapping):
            return [Difference(where, _plain(hub), _plain(system))]
        return differences(hub, system, f"{where}.")
    if isinstance(hub, Sequence) and not isinstance(hub, str):
        if not isinstance(system, Sequence) or isinstance(system, str) or len(system) != len(hub):
            return [Difference(where, _plain(hub), _plain(system))]
        return [d for n, v in enumerate(hub) for d in _differ(v, system[n], f"{where}.{n}")]
    return [] if same(hub, system) else [Difference(where, _plain(hub), _plain(system))]


def same(hub: Any, system: Any) -> bool:
    """Leaf equality as systems round-trip values: a number by value where either side is
    one ("375.00" sent is the 375 held), an empty value is no value, booleans and text
    exactly (two texts are never compared as numbers: "007" is not "7")."""
    if hub in (None, "") and system in (None, ""):
        return True
    if isinstance(hub, bool) or isinstance(system, bool):
        return hub is system
    if isinstance(hub, str) and isinstance(system, str):
        return hub == system
    left, right = _number(hub), _number(system)
    if left is not None and right is not None:
        return left == right
    return hub == system


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float, str)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _plain(value: Any) -> Any:
    """A value as JSON keeps it (differences are stored and served)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
