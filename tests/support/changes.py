"""Canonical change events for tests, as an adapter would publish them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.ingest.decode import Incoming

BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def envelope(
    system: str,
    entity: str,
    data: dict[str, Any],
    *,
    seq: int | None = 1,
    message_id: str | None = None,
    tenant: str = "t1",
    source_type: str | None = None,
    deleted: bool = False,
    time: datetime | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": message_id or str(uuid.uuid4()),
        "source": f"/{system}/{tenant}",
        "type": f"pshub.{entity}.{'deleted' if deleted else 'changed'}.v1",
        "subject": data["id"],
        "time": (time or BASE_TIME + timedelta(minutes=seq or 0)).isoformat(),
        "datacontenttype": "application/json",
        "tenant": tenant,
        "data": data,
    }
    if seq is not None:
        body["sequence"] = f"{seq:012d}"
    if source_type:
        body["sourcetype"] = source_type
    return body


def incoming(system: str, entity: str, data: dict[str, Any], **kwargs: Any) -> Incoming:
    body = envelope(system, entity, data, **kwargs)
    return Incoming(
        f"ingest.{system}.{entity}",
        json.dumps(body).encode(),
        {"Nats-Msg-Id": body["id"], "Content-Type": "application/cloudevents+json"},
    )


def raw(
    system: str,
    entity: str,
    payload: bytes,
    headers: dict[str, str] | None = None,
) -> Incoming:
    return Incoming(f"ingest.{system}.{entity}", payload, headers or {})


def money(amount: str, currency: str = "GBP") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def ref(type_: str, id_: str, **extra: str) -> dict[str, str]:
    return {"type": type_, "id": id_, **extra}
