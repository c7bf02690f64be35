"""The applier of knowledge assets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.knowledge_asset import KnowledgeAsset
from hub.ingest import lifecycle
from hub.ingest.appliers.base import Context, link, require, revise
from hub.ingest.descriptive import described


def create_knowledge_asset(ctx: Context, f: dict[str, Any], new_id: UUID) -> KnowledgeAsset:
    require(f, "title", "kind", "uri")
    asset = KnowledgeAsset.register(
        id=new_id,
        title=f["title"],
        kind=f["kind"],
        uri=f["uri"],
        classification=f.get("classification") or "internal",
        client_id=link(ctx, f, "client", "client"),
        engagement_id=link(ctx, f, "engagement", "engagement"),
        service_line=f.get("service_line") or "",
        xrefs=[ctx.source_ref],
        details=described(ctx.source_ref, KnowledgeAsset, f),
    )
    if f.get("status") and f["status"] != "draft":
        _asset_to(asset, f["status"])
    return asset


def _asset_to(asset: KnowledgeAsset, status: str) -> None:
    lifecycle.walk(
        lifecycle.KNOWLEDGE_ASSET,
        "knowledge_asset",
        asset.status,
        status,
        lambda action: getattr(asset, action)(),
    )


def update_knowledge_asset(ctx: Context, asset: KnowledgeAsset, f: dict[str, Any]) -> None:
    changes = described(ctx.source_ref, KnowledgeAsset, f)
    changes.update({k: f[k] for k in ("title", "kind", "uri", "classification") if f.get(k)})
    if "service_line" in f:
        changes["service_line"] = f["service_line"] or ""
    for name, entity in (("client", "client"), ("engagement", "engagement")):
        if name in f:
            owner = link(ctx, f, name, entity)
            if owner is not None or f[name] is None:
                changes[f"{name}_id"] = owner
    revise(asset, changes)
    if f.get("status"):
        _asset_to(asset, f["status"])
