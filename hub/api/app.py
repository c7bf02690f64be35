"""The HTTP API: FastAPI app with problem+json errors, bearer tokens and a body-size limit."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api import problems
from hub.api.deps import Authenticator, RateLimiter
from hub.api.routes import (
    adapters,
    audit,
    commands,
    docs,
    exceptions,
    health,
    ingest,
    links,
    metrics,
    projections,
    provisioning,
    reconciliation,
    records,
)
from hub.bootstrap import Hub
from hub.poller import run_pollers


class BodyLimit:
    """Refuses bodies over the limit from their byte count, before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            # No pshub input may contain NUL: PostgreSQL text cannot hold it.
            response = problems.problem_response(
                problems.Problem(
                    400,
                    "the URL contains a NUL character",
                    reason="MALFORMED_PAYLOAD",
                    errors=_nul_fields(scope),
                ),
                scope["path"].replace("\x00", ""),
            )
            await response(scope, _drain, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return
        received = 0
        tail = b""

        async def counting_receive() -> Message:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > self.max_bytes:
                    raise _TooLarge
                # NUL (raw, or escaped in JSON) may straddle two chunks: keep the last bytes.
                window = tail + body
                if b"\x00" in window or b"\\u0000" in window:
                    raise _HasNul
                tail = window[-5:]
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, send)
        except _HasNul:
            response = problems.problem_response(
                problems.Problem(
                    400, "the body contains a NUL character", reason="MALFORMED_PAYLOAD"
                ),
                scope["path"],
            )
            await response(scope, _drain, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = problems.problem_response(
            problems.Problem(413, f"the body exceeds {self.max_bytes} bytes"), scope["path"]
        )
        await response(scope, _drain, send)


def _nul_fields(scope: Scope) -> list[dict[str, str]]:
    """The query parameters (or the path) that hold a NUL, as problem errors."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    names = [name.replace("\x00", "") for name, value in query if "\x00" in name + value]
    if "\x00" in scope.get("path", ""):
        names.append("path")
    return [{"field": name, "rule": "no_nul", "message": "contains a NUL"} for name in names]


class _TooLarge(Exception):
    pass


class _HasNul(Exception):
    pass


async def _drain() -> Message:
    return {"type": "http.disconnect"}


def create_app(hub: Hub) -> FastAPI:
    """Builds the API around a bootstrapped hub."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        parts = hub.settings.components
        await hub.open_read_pool()
        if "projections" in parts:
            hub.start_projections()
        if "relay" in parts:
            hub.start_relay()
        if "feeds" in parts:
            hub.start_feeds()
        if "provisioning" in parts:
            hub.start_provisioning()
        await hub.connect(ingest="ingest" in parts)
        pollers = (
            asyncio.create_task(run_pollers(hub))
            if hub.broker is not None and "pollers" in parts
            else None
        )
        # Everything loaded so far lives as long as the process: keep the collector off it,
        # so that its full passes (pauses on the request path) stay short.
        gc.freeze()
        try:
            yield
        finally:
            if pollers is not None:
                pollers.cancel()
            await hub.disconnect()
            hub.stop_provisioning()
            hub.stop_feeds()
            hub.stop_relay()
            hub.stop_projections()
            await hub.close_read_pool()

    app = FastAPI(
        title="pshub",
        version="1",
        summary="The canonical data hub of a professional-services firm.",
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.authenticator = Authenticator(hub)
    app.state.rate_limiter = RateLimiter(hub.settings.rate_limit, hub.settings.rate_burst)
    app.state.metrics = docs.hub_metrics(hub)
    problems.install(app)
    for module in (
        health,
        docs,
        commands,
        records,
        ingest,
        exceptions,
        links,
        metrics,
        projections,
        adapters,
        audit,
        provisioning,
        reconciliation,
    ):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=hub.settings.max_body_bytes)
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()
