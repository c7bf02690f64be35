"""Open probes: liveness and readiness (store and NATS reachable)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hub.api.deps import HubDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Store or NATS unreachable"}})
async def ready(hub: HubDep) -> Any:
    """The store answers and NATS is connected; 503 naming what is not."""
    checks = {"store": await hub.store_ready(), "nats": await hub.nats_ready()}
    ok = all(checks.values())
    body = {
        "status": "ready" if ok else "unavailable",
        "checks": {k: "ok" if v else "unreachable" for k, v in checks.items()},
    }
    return JSONResponse(body, status_code=200 if ok else 503)
