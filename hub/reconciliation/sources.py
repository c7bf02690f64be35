"""Reconciliation with the pull-only source systems (Harvest, NetSuite, Odoo, SharePoint):
what a poll's complete listing of a window shows against what the hub holds from that source.

The poller (hub/poller.py) lists a window completely where an adapter is configured to
(`PSHUB_ADAPTER_<SYSTEM>_RECONCILE_FROM`), and a record the hub holds from the source that the
listing no longer has was deleted there: its tombstone is published (hub/intake.py,
`reconcile`). This module records what that pass found, per source type, beside the targets'
passes, so GET /v1/reconciliation shows both: records listed, listed and known to the hub,
listed but not known yet (the same poll brings them in), and deleted at the source.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from psycopg.sql import SQL, Identifier

from hub.application import like_literal
from hub.reconciliation.store import ReconciliationStore


def record_source_pass(
    app: Any,
    system: str,
    tenant: str,
    listings: Mapping[tuple[str, str], frozenset[str]],
    deletions: Sequence[Any],
    window: tuple[date, date] | None,
) -> dict[str, Any]:
    """Stores what one source pass found; returns its totals by source type."""
    store = ReconciliationStore(app.hub_recorder.datastore)
    deleted = Counter(str(d.sourcetype or "").lower() for d in deletions)
    totals: dict[str, Any] = {}
    for (entity, source_type), listed in sorted(listings.items()):
        known = _claimed(store, system, tenant, source_type)
        totals[source_type] = {
            "entity": entity,
            "listed": len(listed),
            "matching": len(listed & known),
            "missing_in_hub": len(listed - known),
            "deleted_at_source": deleted[source_type.lower()],
        }
    spanned = None if window is None else {"from": str(window[0]), "to": str(window[1])}
    with store.datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL(
                "INSERT INTO {} (system, tenant, checked_at, time_window, totals) "
                "VALUES (%s, %s, now(), %s, %s) ON CONFLICT (system, tenant) DO UPDATE SET "
                "checked_at = now(), time_window = EXCLUDED.time_window, "
                "totals = EXCLUDED.totals"
            ).format(store.sources),
            (system, tenant, json.dumps(spanned), json.dumps(totals)),
        )
    return totals


def source_passes(store: ReconciliationStore, system: str | None = None) -> list[dict[str, Any]]:
    with store.datastore.get_connection() as conn:
        rows = conn.execute(
            SQL(
                "SELECT * FROM {} WHERE %s::text IS NULL OR system = %s ORDER BY system, tenant"
            ).format(store.sources),
            (system, system),
        ).fetchall()
    return [
        {
            "system": row["system"],
            "tenant": row["tenant"],
            "checked_at": row["checked_at"],
            "window": row["time_window"],
            "totals": row["totals"],
        }
        for row in rows
    ]


def _claimed(store: ReconciliationStore, system: str, tenant: str, source_type: str) -> set[str]:
    prefix = f"xref:{system}|{tenant}|{source_type.lower()}|"
    with store.datastore.get_connection() as conn:
        rows = conn.execute(
            SQL("SELECT key FROM {} WHERE key LIKE %s").format(
                Identifier(store.datastore.schema, "hub_claims")
            ),
            (like_literal(prefix) + "%",),
        ).fetchall()
    return {row["key"][len(prefix) :] for row in rows}
