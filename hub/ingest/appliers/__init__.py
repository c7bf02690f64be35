"""Snapshot in, events out: from a source's view of a record to the domain calls it implies.

Each applier gets the fields a change reports (after survivorship) and either creates the
aggregate, when every required field is there, or calls the domain methods the difference
implies. An unchanged field triggers nothing, so a change that changes nothing records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.base import CanonicalAggregate
from domain.client import Client
from domain.contract import Contract
from domain.engagement import Engagement
from domain.expense import Expense
from domain.invoice import Invoice
from domain.knowledge_asset import KnowledgeAsset
from domain.milestone import Milestone
from domain.rate_card import RateCard
from domain.resource import Resource
from domain.time_entry import TimeEntry
from hub.ingest.appliers.base import Context, Incomplete, Unresolved, money
from hub.ingest.appliers.billing import create_invoice, update_invoice
from hub.ingest.appliers.commercial import (
    create_client,
    create_contract,
    create_engagement,
    update_client,
    update_contract,
    update_engagement,
)
from hub.ingest.appliers.knowledge import create_knowledge_asset, update_knowledge_asset
from hub.ingest.appliers.work import (
    create_expense,
    create_milestone,
    create_rate_card,
    create_resource,
    create_time_entry,
    update_expense,
    update_milestone,
    update_rate_card,
    update_resource,
    update_time_entry,
)

__all__ = ["APPLIERS", "Applier", "Context", "Incomplete", "Unresolved", "money"]


@dataclass(frozen=True)
class Applier:
    kind: type[CanonicalAggregate]
    create: Callable[[Context, dict[str, Any], UUID], CanonicalAggregate]
    update: Callable[[Context, Any, dict[str, Any]], None]


APPLIERS: dict[str, Applier] = {
    "client": Applier(Client, create_client, update_client),
    "engagement": Applier(Engagement, create_engagement, update_engagement),
    "contract": Applier(Contract, create_contract, update_contract),
    "rate_card": Applier(RateCard, create_rate_card, update_rate_card),
    "resource": Applier(Resource, create_resource, update_resource),
    "time_entry": Applier(TimeEntry, create_time_entry, update_time_entry),
    "expense": Applier(Expense, create_expense, update_expense),
    "milestone": Applier(Milestone, create_milestone, update_milestone),
    "invoice": Applier(Invoice, create_invoice, update_invoice),
    "knowledge_asset": Applier(KnowledgeAsset, create_knowledge_asset, update_knowledge_asset),
}
