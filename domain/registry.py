"""The canonical aggregates by entity name, and the value types their events carry."""

from __future__ import annotations

from domain.base import CanonicalAggregate
from domain.client import Client, Contact
from domain.engagement import Engagement
from domain.values import Money, Period, SourceRef

# Entity name (as in subjects and event types) -> aggregate class.
AGGREGATES: dict[str, type[CanonicalAggregate]] = {
    "client": Client,
    "engagement": Engagement,
}

# Entity name -> collection name (as in URLs).
COLLECTIONS: dict[str, str] = {
    "client": "clients",
    "engagement": "engagements",
    "contract": "contracts",
    "rate_card": "rate-cards",
    "resource": "resources",
    "time_entry": "time-entries",
    "expense": "expenses",
    "milestone": "milestones",
    "invoice": "invoices",
    "knowledge_asset": "knowledge-assets",
}

# Frozen dataclasses that appear in event attributes; the store registers a transcoding for
# each, so adding one here is all it takes to persist it.
VALUE_TYPES: tuple[type, ...] = (Money, Period, SourceRef, Contact)
