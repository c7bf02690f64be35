"""Project setup lead time (issue 10: won -> ready), per engagement, as the metrics know it.

Where quote-to-cash ran, it is the process's own measure: from the win to the last target's
acknowledgement (the engagement ready), read from its events in the log like everything else
here, so a rebuild gives the same figures; an engagement it is still provisioning is not set up
yet. Where it never ran for an engagement, the measure is the one the hub can see: from the win
to the engagement's first link to a delivery system (its first new xref after the win).
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.provisioning import Provisioning
from projections.metrics.view import MetricsView

PROVISIONING = "provisioning"


def provisioning_ref(provisioning: Any) -> dict[str, Any]:
    """What the metrics keep of a provisioning (its ref row, keyed by the provisioning id)."""
    ready_at = provisioning.ready_at
    return {
        "engagement_id": str(provisioning.engagement_id),
        "state": str(provisioning.state),
        "won_at": provisioning.won_at.isoformat(),
        "ready_at": ready_at.isoformat() if ready_at else None,
        "lead_time_seconds": provisioning.lead_time_seconds,
    }


def setup_of(known: dict[str, Any], provisioning: dict[str, Any] | None) -> dict[str, Any]:
    """An engagement's setup: won_at, set_up_at, lead_time_seconds, and how it was measured
    (`provisioning`: won to ready; `first_link`: won to its first link to another system)."""
    if provisioning is not None:
        return {
            "won_at": provisioning["won_at"],
            "set_up_at": provisioning["ready_at"],
            "lead_time_seconds": provisioning["lead_time_seconds"],
            "measured": PROVISIONING,
            "state": provisioning["state"],
        }
    won, set_up = known.get("won_at"), known.get("set_up_at")
    seconds = (
        max(0.0, (datetime.fromisoformat(set_up) - datetime.fromisoformat(won)).total_seconds())
        if won and set_up
        else None
    )
    return {
        "won_at": won,
        "set_up_at": set_up,
        "lead_time_seconds": seconds,
        "measured": "first_link",
        "state": None,
    }


def engagement_setup(view: MetricsView, engagement_id: UUID, known: dict[str, Any]) -> Any:
    rows = view.query(
        SQL("SELECT data FROM {refs} WHERE entity = %s AND id = %s"),
        [PROVISIONING, Provisioning.id_for(engagement_id)],
    )
    return setup_of(known, rows[0]["data"] if rows else None)


def setups(view: MetricsView) -> list[dict[str, Any]]:
    """Every live engagement that was won, with its setup (set up or not yet)."""
    rows = view.query(
        SQL("SELECT entity, id, data FROM {refs} WHERE entity = ANY(%s)"),
        [["engagement", PROVISIONING]],
    )
    provisionings = {
        r["data"]["engagement_id"]: r["data"] for r in rows if r["entity"] == PROVISIONING
    }
    found = []
    for row in rows:
        data, key = row["data"], str(row["id"])
        if row["entity"] != "engagement" or data.get("deleted"):
            continue
        if data.get("won_at") is None and key not in provisionings:
            continue
        setup = setup_of(data, provisionings.get(key))
        found.append({"engagement_id": key, "code": data.get("code"), **setup})
    return sorted(found, key=lambda s: (s["won_at"] or "", s["engagement_id"]))


def lead_times(view: MetricsView) -> list[float]:
    """Seconds from won to set up, per engagement set up (the histogram's observations)."""
    return [s["lead_time_seconds"] for s in setups(view) if s["lead_time_seconds"] is not None]


def report(view: MetricsView, engagement_id: UUID | None = None) -> dict[str, Any]:
    """GET /v1/metrics/setup: each won engagement's setup, and the lead time's distribution
    over those set up (count, mean, median, 90th percentile, longest; seconds)."""
    found = setups(view)
    if engagement_id is not None:
        found = [s for s in found if s["engagement_id"] == str(engagement_id)]
    seconds = sorted(s["lead_time_seconds"] for s in found if s["lead_time_seconds"] is not None)
    return {
        "engagements": found,
        "set_up": len(seconds),
        # Still being provisioned (closed before it was ready: neither).
        "waiting": sum(
            1 for s in found if s["lead_time_seconds"] is None and s["state"] != "closed"
        ),
        "mean_seconds": statistics.fmean(seconds) if seconds else None,
        "median_seconds": statistics.median(seconds) if seconds else None,
        "p90_seconds": _percentile(seconds, 0.9),
        "max_seconds": seconds[-1] if seconds else None,
        "position": view.position_now(),
    }


def _percentile(ordered: list[float], share: float) -> float | None:
    """Nearest-rank percentile (a value that was observed)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share)
    return ordered[int(rank) - 1]
