"""Planning the knowledge assets: proposals, deliverables, case studies, pages and templates."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote

from domain.engagement import EngagementStatus
from domain.ids import source_id
from domain.knowledge_asset import AssetKind, AssetStatus, Classification
from domain.values import SourceRef
from hub.demo import catalog as cat
from hub.demo.engagements import WORKED, EngagementFacts
from hub.demo.script import Script, between
from hub.demo.sources import Tenants

E = EngagementStatus
A = AssetStatus
K = AssetKind
C = Classification
DELIVERABLES = (
    "Current-state assessment",
    "Steering committee pack",
    "Target operating model",
    "Business case",
    "Final report",
)
TEMPLATES = (
    "Statement of work template (time and materials)",
    "Statement of work template (fixed fee)",
    "Change order template",
    "Weekly status report template",
    "Steering committee deck template",
    "Engagement closure checklist",
)
REGION_WORDS = {"EMEA": "European", "AMER": "North American", "APAC": "Asia-Pacific"}


@dataclass
class AssetFacts:
    title: str
    kind: AssetKind
    classification: Classification
    status: AssetStatus
    on: date
    confluence: bool
    file_name: str = ""
    engagement: EngagementFacts | None = None
    service_line: str = ""


def plan_knowledge(script: Script, tenants: Tenants, engagements: list[EngagementFacts]) -> None:
    """Registers the knowledge assets and walks them to draft, published or archived."""
    rng = script.rng("knowledge")
    pool = [a for eng in engagements for a in _about(rng, eng)] + _firm_assets(rng)
    rng.shuffle(pool)
    n = script.spec.count(200)
    chosen = [pool[i % len(pool)] for i in range(n)]
    for k in range(len(pool), n):
        chosen[k] = _copy(chosen[k], f" (v{k // len(pool) + 1})")
    for state in (A.ARCHIVED, A.DRAFT):
        if all(a.status != state for a in chosen):
            found = next((a for a in chosen if a.status == A.PUBLISHED), None)
            if found is not None:
                found.status = state
    taken: set[str] = set()
    for asset in chosen:
        ref = _ref(rng, tenants, asset, taken)
        asset_id = source_id("knowledge_asset", ref)
        eng = asset.engagement
        script.create(
            asset.on,
            "knowledge_asset",
            asset_id,
            "register",
            xrefs=[ref],
            title=asset.title,
            kind=asset.kind,
            uri=_uri(asset, ref),
            classification=asset.classification,
            client_id=eng.client.id if eng else None,
            engagement_id=eng.id if eng else None,
            service_line=eng.service_line if eng else asset.service_line,
        )
        if asset.status == A.DRAFT:
            continue
        published = min(asset.on + timedelta(days=rng.randint(2, 20)), cat.AS_OF)
        script.call(published, asset_id, "publish")
        if asset.status == A.ARCHIVED:
            archived = min(published + timedelta(days=rng.randint(30, 200)), cat.AS_OF)
            script.call(archived, asset_id, "archive", reason="Superseded")


def _about(rng: random.Random, eng: EngagementFacts) -> list[AssetFacts]:
    """The assets one engagement leaves behind: a proposal, deliverables, a page, a case study."""
    today, code = cat.AS_OF, eng.code
    opened = min(eng.opened_on + timedelta(days=rng.randint(3, 12)), today)
    proposal_status = {E.PIPELINE: A.DRAFT, E.LOST: A.ARCHIVED}.get(eng.status, A.PUBLISHED)
    assets = [
        AssetFacts(
            f"Proposal: {eng.name}",
            K.PROPOSAL,
            C.CONFIDENTIAL,
            proposal_status,
            opened,
            False,
            f"{code} Proposal.pdf",
            eng,
        )
    ]
    if eng.status not in WORKED:
        return assets
    done = A.ARCHIVED if eng.status == E.CLOSED else A.PUBLISHED
    secret = C.RESTRICTED if eng.service_line == "Risk & Compliance" else C.CONFIDENTIAL
    for title in rng.sample(DELIVERABLES, rng.randint(1, 2)):
        status = done if rng.random() < 0.7 else A.DRAFT if eng.status == E.ACTIVE else done
        on = between(rng, eng.start, eng.work_last)
        assets.append(
            AssetFacts(
                f"{code} {title}",
                K.DELIVERABLE,
                secret,
                status,
                on,
                False,
                f"{code} {title}.pptx",
                eng,
            )
        )
    assets.append(
        AssetFacts(
            f"{code} engagement home", K.PAGE, C.INTERNAL, done, eng.start, True, engagement=eng
        )
    )
    if eng.status == E.CLOSED and eng.closed_on is not None:
        sector = eng.client.name.split()[1].lower()
        public = rng.random() < 0.6
        assets.append(
            AssetFacts(
                f"Case study: {eng.name} for a {REGION_WORDS[eng.region.code]} {sector} client",
                K.CASE_STUDY,
                C.PUBLIC if public else C.INTERNAL,
                A.PUBLISHED if public else A.DRAFT,
                min(eng.closed_on + timedelta(days=rng.randint(10, 40)), today),
                False,
                f"{code} Case study.pdf",
                eng,
            )
        )
    return assets


def _firm_assets(rng: random.Random) -> list[AssetFacts]:
    assets = []
    for line, projects in cat.SERVICE_LINES.items():
        status = A.PUBLISHED if rng.random() < 0.8 else A.ARCHIVED
        assets.append(
            AssetFacts(
                f"{line} methodology: {projects[0]}",
                K.METHODOLOGY,
                C.PUBLIC if rng.random() < 0.3 else C.INTERNAL,
                status,
                between(rng, date(2024, 3, 1), date(2025, 6, 30)),
                True,
                service_line=line,
            )
        )
    for title in TEMPLATES:
        status = A.PUBLISHED if rng.random() < 0.85 else A.DRAFT
        assets.append(
            AssetFacts(
                title,
                K.TEMPLATE,
                C.INTERNAL,
                status,
                between(rng, date(2024, 2, 1), date(2025, 12, 1)),
                False,
                f"{title}.docx",
            )
        )
    return assets


def _copy(asset: AssetFacts, suffix: str) -> AssetFacts:
    name, dot, ext = asset.file_name.rpartition(".")
    file_name = f"{name}{suffix}.{ext}" if dot else ""
    return AssetFacts(
        asset.title + suffix,
        asset.kind,
        asset.classification,
        asset.status,
        asset.on,
        asset.confluence,
        file_name,
        asset.engagement,
        asset.service_line,
    )


def _ref(rng: random.Random, tenants: Tenants, asset: AssetFacts, taken: set[str]) -> SourceRef:
    while True:
        ref = tenants.confluence_page(rng) if asset.confluence else tenants.drive_item(rng)
        if ref.id not in taken:
            taken.add(ref.id)
            return ref


def _uri(asset: AssetFacts, ref: SourceRef) -> str:
    if asset.confluence:
        space = asset.engagement.client.abbr if asset.engagement else "PRACTICE"
        slug = re.sub(r"[^A-Za-z0-9]+", "+", asset.title).strip("+")
        return f"https://alderfinch.atlassian.net/wiki/spaces/{space}/pages/{ref.id}/{slug}"
    folder = asset.engagement.code if asset.engagement else "Templates"
    site = "Engagements" if asset.engagement else "Practice"
    path = f"Shared Documents/{folder}/{asset.file_name}"
    return f"https://alderfinch.sharepoint.com/sites/{site}/{quote(path)}"
