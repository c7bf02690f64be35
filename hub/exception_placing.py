"""Where a case raised by ingest belongs: the region and legal entity the routing table
routes it by.

A change of an engagement names them; a record under an engagement (time, expenses,
milestones, invoices) belongs where its engagement does; otherwise the legal entity the
source adapter books to (PSHUB_ADAPTER_<SYSTEM>_LEGAL_ENTITY), if any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from domain.engagement import Engagement
from hub.adapters import config_for
from hub.contracts.canonical import Ref
from hub.ingest.batch import ref_key

if TYPE_CHECKING:
    from hub.application import HubApplication
    from hub.ingest.batch import _Batch
    from hub.ingest.decode import Change


def placement(app: HubApplication, batch: _Batch, change: Change) -> tuple[str, str]:
    """(region, legal entity) of a change, each "" where unknown."""
    data = change.data
    engagement_id: UUID | None = None
    if change.entity == "engagement":
        region = getattr(data, "region", None) or ""
        legal_entity = getattr(data, "legal_entity", None) or ""
        if region or legal_entity:
            return region, legal_entity
        engagement_id = batch.claims.get(change.record_key)  # a partial change of a known one
    else:
        ref = getattr(data, "engagement", None)
        if isinstance(ref, Ref):
            # Claims of every reference were loaded with the batch: no read here.
            engagement_id = batch.claims.get(ref_key(ref, change))
        if engagement_id is None:
            known = batch.claims.get(change.record_key)
            record = app.find_any(known) if known is not None else None
            engagement_id = getattr(record, "engagement_id", None)
    engagement = app.find(engagement_id, Engagement) if engagement_id is not None else None
    if engagement is not None and (engagement.region or engagement.legal_entity):
        return engagement.region or "", engagement.legal_entity or ""
    return "", adapter_legal_entity(change.system)


def adapter_legal_entity(system: str) -> str:
    """The legal entity a source adapter books to (PSHUB_ADAPTER_<SYSTEM>_LEGAL_ENTITY)."""
    if not system or not system.isidentifier():
        return ""
    return config_for(system).legal_entity or ""
