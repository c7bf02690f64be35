"""Golden records as GET /v1/<entity>/{id} serves them, built through the record models, so a
mapping test reads exactly the fields (and JSON types) the feeds pass to a target."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from hub.contracts.records import RECORD_MODELS

UPDATED = "2026-03-02T10:00:00Z"


def xref(system: str, type_: str, id_: str, tenant: str = "") -> dict[str, str]:
    return {"system": system, "tenant": tenant, "type": type_, "id": id_}


def golden(entity: str, **fields: Any) -> dict[str, Any]:
    """A validated golden record of the entity, with an id, version 1 and no xrefs unless
    given."""
    base = {"id": str(uuid4()), "version": 1, "updated_at": UPDATED, "xrefs": []}
    model = RECORD_MODELS[entity].model_validate({**base, **fields})
    return model.model_dump(mode="json")


def client(**fields: Any) -> dict[str, Any]:
    return golden(
        "client",
        **{
            "legal_name": "Acme Holdings Ltd",
            "country": "GB",
            "billing_currency": "GBP",
            "status": "active",
            **fields,
        },
    )


def engagement(client_id: str | UUID | None, **fields: Any) -> dict[str, Any]:
    return golden(
        "engagement",
        **{
            "client_id": None if client_id is None else str(client_id),
            "code": "ACME-2026-01",
            "name": "Finance transformation",
            "status": "active",
            "currency": "GBP",
            **fields,
        },
    )


def time_entry(engagement_id: str | UUID, **fields: Any) -> dict[str, Any]:
    return golden(
        "time_entry",
        **{
            "engagement_id": str(engagement_id),
            "resource_id": str(uuid4()),
            "work_date": "2026-03-02",
            "hours": "7.50",
            "billable": True,
            "status": "approved",
            "task": "Design",
            "source_rate": {"amount": "150.00", "currency": "GBP"},
            **fields,
        },
    )


def expense(engagement_id: str | UUID, **fields: Any) -> dict[str, Any]:
    return golden(
        "expense",
        **{
            "engagement_id": str(engagement_id),
            "resource_id": str(uuid4()),
            "spent_date": "2026-03-03",
            "amount": {"amount": "84.20", "currency": "GBP"},
            "category": "Travel",
            "billable": True,
            "reimbursable": True,
            "status": "approved",
            **fields,
        },
    )


def milestone(engagement_id: str | UUID, **fields: Any) -> dict[str, Any]:
    return golden(
        "milestone",
        **{
            "contract_id": str(uuid4()),
            "engagement_id": str(engagement_id),
            "name": "Blueprint signed off",
            "amount": {"amount": "12000.00", "currency": "GBP"},
            "status": "billing_ready",
            "accepted_on": "2026-03-10",
            **fields,
        },
    )


def payment(amount: str, currency: str, system: str, reference: str = "") -> dict[str, Any]:
    """A payment on an invoice record, as the system that reported it recorded it."""
    return {
        "amount": {"amount": amount, "currency": currency},
        "paid_on": "2026-03-10",
        "reference": reference,
        "system": system,
    }


def resolved(item: Any, ids: dict[str, str]) -> Any:
    """The item as the feed's delivery hands it to a writer: each placeholder for another
    record's target id replaced by that id (ids: canonical id -> target id)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if "$target_id" in value:
                return ids[value["$target_id"]]
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return replace(item, payload=walk(dict(item.payload)))
