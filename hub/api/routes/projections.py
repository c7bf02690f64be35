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
from hub.projecting import KINDS, relay_status, status

router = APIRouter(prefix="/v1/projections", tags=["projections"])

Operator = Annotated[Principal, Depends(scope("operate"))]


@router.get("")
def list_projections(hub: HubDep, _: Reader) -> dict[str, Any]:
    """Each projection's generation, position, the log's head and the lag; rebuilds running;
    and the relay of the log to the events stream."""
    items = status(hub.app, hub.runners)
    for item in items:
        task = hub.rebuilds.get(item["name"])
        item["rebuilding"] = task is not None and not task.done()
    head = items[0]["head"] if items else None
    items.append(
        {**relay_status(hub.app, hub.relay, hub.streams.events, head), "rebuilding": False}
    )
    for feed in hub.feeds_of().status(head if head is not None else 0):
        task = hub.rebuilds.get(feed["name"])
        items.append({**feed, "rebuilding": task is not None and not task.done()})
    if hub.provisioner is not None:  # quote-to-cash, where this process runs it
        items.append(hub.provisioner.status(head if head is not None else 0))
    return {"items": items}


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
    if running is not None and not running.done():
        raise Problem(409, f"{name} is being rebuilt already", reason="DUPLICATE")
    hub.rebuilds[name] = asyncio.get_running_loop().run_in_executor(
        None, hub.rebuild_projection, name
    )
    return {"name": name, "state": "rebuilding"}
