"""Retrying a FETCH_FAILED case: the fetch its request names runs again through the adapter,
and what it returns is published on the ingest stream as a webhook's fetches are."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.adapters import config_for
from hub.contracts.adapters import FetchRequest, Mapped
from hub.exception_retry import NothingToRetry, RetryResult
from hub.exceptions import ExceptionCase
from hub.intake import Intake, adapter_for, resolve_fetches
from hub.publish import note_pending, publish_changes


class NotPublished(Exception):
    """NATS is unavailable: nothing was published (answered 503)."""


async def refetch(hub: Any, case: ExceptionCase) -> RetryResult:
    wanted = getattr(case, "retry_with", None) or {}
    if not wanted.get("system") or not wanted.get("kind") or not wanted.get("id"):
        # Cases raised before they kept their request name no fetch to run again.
        raise NothingToRetry("this case does not keep the request of its fetch")
    system = wanted["system"]
    request = FetchRequest(
        kind=wanted["kind"],
        id=wanted["id"],
        tenant=wanted.get("tenant") or "",
        url=wanted.get("url"),
        hint=wanted.get("hint") or {},
    )
    result = Intake()
    await asyncio.to_thread(
        resolve_fetches, adapter_for(system), Mapped(fetches=[request]), config_for(system), result
    )
    if result.failures:
        _, error = result.failures[-1]
        return RetryResult("fetch_failed", False, error.reason, error.message)
    if hub.broker is None or not await hub.nats_ready():
        raise NotPublished("NATS is unavailable; nothing was published")
    ids = await publish_changes(hub.js, hub.streams, result.events)
    await asyncio.to_thread(note_pending, hub.app, result.events)
    return RetryResult(
        "published",
        True,
        detail=f"fetched; {len(ids)} change events published",
        message_ids=tuple(ids),
    )
