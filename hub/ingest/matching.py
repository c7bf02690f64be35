"""Matching and survivorship: which golden record a change is about, and which fields it wins.

A change for a source record the hub has not seen may still be about a record it knows: a
client by its external refs, tax id or legal name and country (a near miss of the name opens a
probable-match case), an engagement by its external refs. Once a record has more than one
source, each field keeps the value of the source the rules rank first (its lineage). The
natural keys a record is matched by are claimed here too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.sql import SQL

from domain.base import CanonicalAggregate
from hub.application import client_claims, like_literal
from hub.exceptions import ExceptionCase
from hub.ingest.batch import add_claim, ref_key
from hub.ingest.decode import Change
from hub.ingest.rules import FieldSource, Rules, legal_name_key, similar, tax_id_key

if TYPE_CHECKING:
    from hub.ingest.batch import _Batch, _Context
    from hub.ingest.tables import IngestTables


def match(
    ctx: _Context, change: Change, fields: dict[str, Any], batch: _Batch, tables: IngestTables
) -> UUID | None:
    """The known record a change for a source record not seen yet is about, if any."""
    rules = ctx.rules.matches_by(change.entity)
    if change.entity == "client":
        country = fields.get("country")
        keys = []
        if "external_ref" in rules:
            keys.extend(ctx.ref_key(ref) for ref in fields.get("external_refs") or [])
        if "tax_id" in rules and fields.get("tax_id"):
            keys.append(f"client_tax:{tax_id_key(fields['tax_id'])}")
        if "legal_name_country" in rules and fields.get("legal_name") and country:
            keys.append(f"client_name:{country}|{legal_name_key(fields['legal_name'])}")
        for key in keys:
            owner = batch.claims.get(key) or tables.lookup_claim(key, batch)
            if owner is not None:
                return owner
        if fields.get("legal_name") and country:
            flag_probable_client(change, fields, batch, ctx.rules, tables)
    elif change.entity == "engagement" and "external_ref" in rules:
        for ref in fields.get("external_refs") or []:
            owner = batch.claims.get(ctx.ref_key(ref)) or tables.lookup_claim(
                ctx.ref_key(ref), batch
            )
            if owner is not None:
                return owner
    return None


def flag_probable_client(
    change: Change, fields: dict[str, Any], batch: _Batch, rules: Rules, tables: IngestTables
) -> None:
    """Opens a probable-match case when a new client's name resembles a known one's."""
    country, name = fields["country"], legal_name_key(fields["legal_name"])
    # Candidates share the first four letters (a blocking key: an index range, not a scan).
    prefix = f"client_name:{country}|{name[:4]}"
    rows = tables.query(
        SQL("SELECT key, owner_id FROM {} WHERE key LIKE %s LIMIT 500").format(
            tables.table("hub_claims")
        ),
        (like_literal(prefix) + "%",),
    )
    start = len(f"client_name:{country}|")
    candidates = {r["key"][start:]: r["owner_id"] for r in rows}
    candidates.update({k[start:]: v for k, v in batch.claims.items() if k.startswith(prefix)})
    best, score = None, 0.0
    for other, owner in candidates.items():
        # Names that differ in a number ("Fund II", "Office 12") are different parties.
        if owner == batch.claims.get(change.record_key) or _digits(other) != _digits(name):
            continue
        ratio = similar(name, other)
        if ratio > score:
            best, score = other, ratio
    if best is not None and score >= rules.probable_ratio:
        batch.cases.append(
            ExceptionCase.open(
                message_id=change.message_id,
                reason="PROBABLE_MATCH",
                rule="probable_match",
                detail=f"'{fields['legal_name']}' resembles '{best}' ({country}); recorded as "
                "a new client: merge them if they are the same",
                entity="client",
                system=change.system,
                subject=change.subject,
                canonical_ids=[candidates[best]],
            )
        )


def surviving(
    ctx: _Context,
    change: Change,
    aggregate: CanonicalAggregate,
    fields: dict[str, Any],
    batch: _Batch,
    tables: IngestTables,
) -> dict[str, Any]:
    """The fields of a change that win over what the record holds (per the rules)."""
    systems = {x.system for x in aggregate.xrefs}
    if len(systems) < 2:
        return fields
    lineage = tables.load_lineage(aggregate.id, batch)
    ctx.lineage_before.setdefault(aggregate.id, dict(lineage))
    if not lineage:
        # Newly multi-source: what it holds so far came from its first system.
        # The first system's values carry no source time we kept: rank decides against
        # them, and among equals the newcomer's change is the more recent.
        first = aggregate.xrefs[0].system
        since = datetime.min.replace(tzinfo=UTC)
        lineage.update({name: FieldSource(first, since) for name in fields})
    kept = {}
    for name, value in fields.items():
        if ctx.rules.survives(
            change.entity, name, change.system, change.occurred_at, lineage.get(name)
        ):
            kept[name] = value
            lineage[name] = FieldSource(change.system, change.occurred_at)
    batch.lineage_dirty.add(aggregate.id)
    return kept


def claim_natural_keys(
    batch: _Batch, change: Change, aggregate: Any, fields: dict[str, Any]
) -> None:
    """Claims the keys a record is matched by (a client's tax id and name, a code, ...)."""
    if change.entity == "client":
        for claim in client_claims(aggregate):
            add_claim(batch, claim.key, claim.owner_id, "client", strict=False)
        for ref in fields.get("external_refs") or []:
            add_claim(batch, ref_key(ref, change), aggregate.id, "client", strict=False)
    elif change.entity == "engagement":
        add_claim(
            batch, f"engagement_code:{aggregate.code}", aggregate.id, "engagement", strict=False
        )
        for ref in fields.get("external_refs") or []:
            add_claim(batch, ref_key(ref, change), aggregate.id, "engagement", strict=False)
    elif change.entity == "contract":
        add_claim(
            batch,
            f"contract_of:{aggregate.engagement_id}",
            aggregate.id,
            "contract",
            strict=False,
        )


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
