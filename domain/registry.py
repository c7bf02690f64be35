"""The canonical aggregates by entity name, and the value types their events carry."""

from __future__ import annotations

from domain.base import CanonicalAggregate
from domain.client import Address, Client, Contact
from domain.contract import Contract, PlannedMilestone, RetainerTerms
from domain.engagement import Engagement
from domain.expense import Expense, Receipt
from domain.invoice import AppliedCredit, ExchangeRate, Invoice, InvoiceLine, Payment, Tracking
from domain.knowledge_asset import ContentHashes, KnowledgeAsset
from domain.milestone import Milestone
from domain.rate_card import RateCard, RateLine
from domain.resource import Resource
from domain.time_entry import ExternalReference, TimeEntry
from domain.values import Money, PendingLink, Period, SourceRef

# Entity name (as in subjects and event types) -> aggregate class.
AGGREGATES: dict[str, type[CanonicalAggregate]] = {
    "client": Client,
    "engagement": Engagement,
    "contract": Contract,
    "rate_card": RateCard,
    "resource": Resource,
    "time_entry": TimeEntry,
    "expense": Expense,
    "milestone": Milestone,
    "invoice": Invoice,
    "knowledge_asset": KnowledgeAsset,
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
# each, so adding one here is all it takes to persist it. A transcoding reads the fields
# shallowly (not dataclasses.asdict, which would flatten the Money inside a line) and decodes
# with cls(**fields), which re-runs each type's checks and normalisation.
VALUE_TYPES: tuple[type, ...] = (
    Money,
    Period,
    SourceRef,
    PendingLink,
    Contact,
    Address,
    RetainerTerms,
    PlannedMilestone,
    RateLine,
    Receipt,
    InvoiceLine,
    Payment,
    AppliedCredit,
    Tracking,
    ExchangeRate,
    ContentHashes,
    ExternalReference,
)
