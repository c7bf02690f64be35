"""Projections: where each stands in the log, and rebuilding one beside the live one."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from hub.api.deps import HubDep, Reader, scope
from hub.api.problems import Problem
from hub.auth import Principal
from hub.feeds.registry import known_targets
from hub.feeds.running import feed_name, is_feed
from hub.projecting import KINDS, rebuild_running, relay_status, status

router = APIRouter(prefix="/v1/projections", tags=["projections"])

Operator = Annotated[Principal, Depends(scope("operate"))]


@router.get("")
async def list_projections(hub: HubDep, _: Reader) -> dict[str, Any]:
    """Each projection's live generation, position, the log's head, the lag in events and
    seconds (the age of the oldest event not processed yet) and its state: live, rebuilding
    or caught up (a rebuild run by any process: its generation, position, lag, and where this
    process runs it, rate and ETA); and the relay of the log to the events stream."""
    items = await asyncio.to_thread(status, hub.app, hub.runners, hub.rebuild_progress)
    for item in items:
        item["rebuilding"] = item["state"] != "live"
    head = items[0]["head"] if items else None
    relay = await asyncio.to_thread(relay_status, hub.app, hub.relay, hub.streams.events, head)
    items.append({**relay, "rebuilding": False})
    feeds = await asyncio.to_thread(hub.feeds_of().status, head if head is not None else 0)
    for feed in feeds:
        task = hub.rebuilds.get(feed["name"])
        items.append({**feed, "rebuilding": task is not None and not task.done()})
    if hub.provisioner is not None:  # quote-to-cash, where this process runs it
        items.append(hub.provisioner.status(head if head is not None else 0))
    return {"items": _one_head(items)}


def _one_head(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The head was read before the later positions: one that moved past it since (a feed
    caught up meanwhile) would show a negative lag. Every item gets the newest head seen."""
    positions = [i["position"] for i in items if isinstance(i.get("position"), int)]
    heads = [i["head"] for i in items if isinstance(i.get("head"), int)]
    if not heads:
        return items
    top = max(heads + positions)
    for item in items:
        if isinstance(item.get("head"), int) and isinstance(item.get("position"), int):
            item["head"], item["lag"] = top, top - item["position"]
    return items


@router.post("/{name}/rebuild", status_code=202)
async def rebuild_projection(
    name: Annotated[str, Path(max_length=64)], hub: HubDep, _: Operator
) -> dict[str, Any]:
    """Starts rebuilding a projection from position zero beside the live one; reads switch to
    it when it has caught up. Progress shows at GET /v1/projections."""
    if name not in KINDS and not is_feed(name):
        names = [*KINDS, *(feed_name(t) for t in known_targets())]
        raise Problem(404, f"no projection {name}; projections: {', '.join(names)}")
    running = hub.rebuilds.get(name)
    if (running is not None and not running.done()) or await asyncio.to_thread(
        rebuild_running, hub.app, name
    ):
        raise Problem(409, f"{name} is being rebuilt already", reason="DUPLICATE")
    hub.rebuilds[name] = asyncio.get_running_loop().run_in_executor(
        None, hub.rebuild_projection, name
    )
    return {"name": name, "state": "rebuilding"}
