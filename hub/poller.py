"""Polling pull-only sources (Harvest, NetSuite, Odoo): changes since the saved cursor,
published like webhook payloads, and deletions found by reconciling complete listings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from hub.adapters import config_for, poll_seconds, registry
from hub.bootstrap import Hub
from hub.contracts.adapters import AdapterError
from hub.intake import (
    Intake,
    adapter_window,
    load_cursor,
    reconcile,
    record_fetch_failures,
    resolve_fetches,
    save_cursor,
)
from hub.publish import note_pending, publish_changes
from hub.reconciliation.sources import record_source_pass

log = logging.getLogger(__name__)


@dataclass
class PollRound:
    """What one round of polling published."""

    system: str
    published: list[str]
    deletions: int
    cursor: str | None


async def poll_once(hub: Hub, system: str) -> PollRound:
    """Polls one source once: pull, publish, reconcile, then move the cursor."""
    adapter = registry()[system]
    config = config_for(system)
    tenant = config.tenant or ""
    cursor = await asyncio.to_thread(load_cursor, hub.app, system, tenant)

    def pull() -> Intake:
        with httpx.Client(timeout=30) as client:
            result = adapter.poll(client=client, config=config, cursor=cursor)
        intake = Intake(list(result.mapped.events), cursor=result.cursor)
        resolve_fetches(adapter, result.mapped, config, intake)
        if result.complete_listings:
            window = adapter_window(config)
            deletions = reconcile(hub.app, system, tenant, result.complete_listings, window)
            intake.events.extend(deletions)
            record_source_pass(hub.app, system, tenant, result.complete_listings, deletions, window)
        return intake

    intake = await asyncio.to_thread(pull)
    ids = await publish_changes(hub.js, hub.streams, intake.events)
    await asyncio.to_thread(note_pending, hub.app, intake.events)
    if intake.failures:
        await asyncio.to_thread(record_fetch_failures, hub.app, system, intake.failures)
    # The cursor moves only once everything before it is durably published.
    await asyncio.to_thread(save_cursor, hub.app, system, tenant, intake.cursor)
    deletions = sum(1 for e in intake.events if e.is_deletion)
    return PollRound(system, ids, deletions, intake.cursor)


async def run_pollers(hub: Hub) -> None:
    """Polls every adapter that has PSHUB_ADAPTER_<SYSTEM>_POLL_SECONDS and a base URL."""
    tasks = []
    for system in registry():
        seconds = poll_seconds(system)
        if seconds and config_for(system).base_url:
            tasks.append(asyncio.create_task(_every(hub, system, seconds)))
    if tasks:
        await asyncio.gather(*tasks)


async def _every(hub: Hub, system: str, seconds: float) -> None:
    while True:
        try:
            round_ = await poll_once(hub, system)
            if round_.published:
                log.info(
                    "poll %s: published %d changes (%d deletions)",
                    system,
                    len(round_.published),
                    round_.deletions,
                )
        except NotImplementedError:
            log.warning("poll %s: this adapter does not poll; stopping", system)
            return
        except AdapterError as error:
            log.warning("poll %s failed: %s %s", system, error.reason, error.message)
        except Exception:  # the process edge: a poller never takes the hub down
            log.exception("poll %s failed", system)
        await asyncio.sleep(seconds)
