"""Matching and survivorship rules, kept as configuration (PSHUB_RULES, JSON, overrides these).

Matching decides when a source record is a record the hub already knows (never by a guess:
a probable match that is not certain becomes a stewardship exception). Survivorship decides,
field by field, which source's value the golden record keeps when several systems feed it.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

PARENT, LINK = "parent", "link"

DEFAULT_RULES: dict[str, Any] = {
    "matching": {
        # A client from another system is the same client when the source names it (an ERP
        # customer's external id holding the CRM account), its tax id matches, or its
        # normalised legal name and country match exactly.
        "client": ["external_ref", "tax_id", "legal_name_country"],
        # An engagement is the same when the source names the other system's record in an
        # external id (an ERP project holding the CRM opportunity id).
        "engagement": ["external_ref"],
        # Normalised names at least this similar, but not equal, make a stewardship exception.
        "probable_match_ratio": 0.88,
    },
    # The kind of each reference a change makes, per entity and field. A "parent" is needed
    # to value or validate the record: a change naming an unknown parent waits (parked) for
    # it. Every other reference is a "link": the record is recorded at once, the link is kept
    # as the source named it, and it resolves, with an event, when that record becomes known.
    "references": {
        "time_entry": {"engagement": "parent", "resource": "parent"},
        "expense": {"engagement": "parent", "resource": "parent"},
        "milestone": {"engagement": "parent", "contract": "parent"},
        "contract": {"engagement": "parent"},
        # Rate lines are keyed by the records they price: a line for an unknown resource
        # cannot price anything.
        "rate_card": {"lines": "parent"},
        # A credit note is checked against what its invoice can still be credited.
        "invoice": {"original_invoice": "parent"},
    },
    # Per entity and field: systems from highest priority to lowest; unnamed systems rank
    # below every named one. Equal rank: the more recent source change wins.
    "survivorship": {
        "client": {
            "legal_name": ["netsuite", "odoo", "xero", "quickbooks", "salesforce", "harvest"],
            "tax_id": ["netsuite", "odoo", "xero", "quickbooks", "salesforce", "harvest"],
            "billing_currency": ["netsuite", "odoo", "stripe", "salesforce", "harvest"],
            "contacts": ["salesforce", "harvest", "netsuite", "odoo"],
            "contact_updates": ["salesforce"],
            "contact_removals": ["salesforce"],
        },
        "engagement": {
            "status": ["harvest", "netsuite", "odoo", "salesforce"],
            "name": ["salesforce", "netsuite", "odoo", "harvest"],
            "budget": ["netsuite", "odoo", "harvest", "salesforce"],
            "code": ["netsuite", "odoo", "harvest", "salesforce"],
        },
    },
    # The canonical stage of an engagement (domain.engagement.CanonicalStage). Won and lost
    # follow the status (Salesforce IsWon/IsClosed); an open deal's stage comes from, in
    # order: the org's own stage names (empty by default: orgs rename StageName, so the
    # label is not trusted unless configured), the forecast category, the probability.
    "stages": {
        "stage_names": {},
        # Salesforce ForecastCategory and ForecastCategoryName, lower-cased without spaces.
        "forecast_category": {
            "omitted": "lead",
            "pipeline": "qualified",
            "bestcase": "proposal",
            "mostlikely": "commit",
            "commit": "commit",
            "forecast": "commit",
        },
        # [percent, stage], highest first: the first whose percent the probability reaches.
        "probability": [[80, "commit"], [50, "proposal"], [20, "qualified"], [0, "lead"]],
    },
}

_STATUS_STAGE = {"won": "won", "active": "won", "on_hold": "won", "closed": "won", "lost": "lost"}


def legal_name_key(name: str) -> str:
    """Normalises a legal name: accents, case, punctuation, spacing and legal forms removed."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    forms = {
        "ltd",
        "limited",
        "plc",
        "inc",
        "incorporated",
        "llc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "bv",
        "nv",
        "kk",
        "co",
        "corp",
        "corporation",
        "company",
        "srl",
        "spa",
        "oy",
        "ab",
    }
    kept = [w for w in words if w not in forms] or words
    return " ".join(kept)


def tax_id_key(tax_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", tax_id).upper()


# Fields each system reports for itself, which no other system's report replaces: what an
# invoice was paid so far is the reporting system's own figure (after a billing migration two
# systems report it, each its share: domain.invoice Invoice.paid_in). Ranked by recency, a
# payment reported late (its source time before the other system's last report) was dropped.
PER_SYSTEM: dict[str, frozenset[str]] = {"invoice": frozenset({"amount_paid"})}


@dataclass(frozen=True)
class FieldSource:
    """Which system last set a field of a multi-source record, and when (source time)."""

    system: str
    at: datetime

    def as_json(self) -> dict[str, str]:
        return {"system": self.system, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> FieldSource:
        return cls(data["system"], datetime.fromisoformat(data["at"]))


@dataclass(frozen=True)
class Rules:
    """The matching and survivorship configuration in force."""

    matching: dict[str, Any] = field(default_factory=lambda: DEFAULT_RULES["matching"])
    survivorship: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: DEFAULT_RULES["survivorship"]
    )
    references: dict[str, dict[str, str]] = field(
        default_factory=lambda: DEFAULT_RULES["references"]
    )
    stages: dict[str, Any] = field(default_factory=lambda: DEFAULT_RULES["stages"])

    @classmethod
    def from_json(cls, text: str | None) -> Rules:
        """Defaults, with any sections the JSON gives replacing theirs."""
        if not text:
            return cls()
        given = json.loads(text)
        references = {e: dict(f) for e, f in DEFAULT_RULES["references"].items()}
        for entity, fields in given.get("references", {}).items():
            references.setdefault(entity, {}).update(fields)
        for entity, fields in references.items():
            for name, kind in fields.items():
                if kind not in (PARENT, LINK):
                    raise ValueError(f"references.{entity}.{name}: '{kind}' is not parent or link")
        for entity, fields in DEFAULT_RULES["references"].items():
            for name in fields:
                if references.get(entity, {}).get(name) != PARENT:
                    # These records are created and valued from their parent: without it
                    # there is nothing to record (a link may become a parent, not the reverse).
                    raise ValueError(f"references.{entity}.{name} must stay a parent")
        return cls(
            matching={**DEFAULT_RULES["matching"], **given.get("matching", {})},
            survivorship={**DEFAULT_RULES["survivorship"], **given.get("survivorship", {})},
            references=references,
            stages={**DEFAULT_RULES["stages"], **given.get("stages", {})},
        )

    def reference_kind(self, entity: str, field_name: str) -> str:
        """Whether a change's reference is a parent (it waits) or a link (recorded at once)."""
        return self.references.get(entity, {}).get(field_name, LINK)

    def matches_by(self, entity: str) -> list[str]:
        return list(self.matching.get(entity, []))

    @property
    def probable_ratio(self) -> float:
        return float(self.matching.get("probable_match_ratio", 0.88))

    def rank(self, entity: str, field_name: str, system: str) -> int:
        order = self.survivorship.get(entity, {}).get(field_name, [])
        return order.index(system) if system in order else len(order)

    def survives(
        self, entity: str, field_name: str, system: str, at: datetime, current: FieldSource | None
    ) -> bool:
        """Whether a source's value for a field replaces the current one."""
        if current is None or current.system == system:
            return True
        if field_name in PER_SYSTEM.get(entity, ()):
            return True  # each system speaks for its own share, never instead of another
        mine = self.rank(entity, field_name, system)
        theirs = self.rank(entity, field_name, current.system)
        return mine < theirs or (mine == theirs and at >= current.at)

    def canonical_stage(
        self, status: str, stage: str, forecast_category: str, probability: Decimal | None
    ) -> str | None:
        """The canonical stage of an engagement from what its sources say (None: no signal)."""
        if status in _STATUS_STAGE:
            return _STATUS_STAGE[status]
        named = {_key(k): v for k, v in self.stages.get("stage_names", {}).items()}
        categories = {_key(k): v for k, v in self.stages.get("forecast_category", {}).items()}
        for found in (named.get(_key(stage)), categories.get(_key(forecast_category))):
            if found:
                return str(found)
        if probability is not None:
            for percent, name in self.stages.get("probability", []):
                if probability >= Decimal(str(percent)):
                    return str(name)
        return None


def _key(label: str) -> str:
    return re.sub(r"\s+", "", label or "").lower()


def similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()
