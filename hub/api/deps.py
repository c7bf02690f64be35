"""Request dependencies: the hub, and the authenticated caller with its scopes."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.problems import Problem
from hub.auth import Principal, TokenStore, hash_token
from hub.bootstrap import Hub

_bearer = HTTPBearer(auto_error=False, description="A token from `pshub tokens create`.")

# A revoked token stops working within this many seconds.
_TOKEN_CACHE_SECONDS = 5.0


# Dependencies are `async`: FastAPI runs a sync one in the thread pool, a hop per request
# that costs more than the work itself. The one blocking step (a token not in the cache) is
# sent to a thread explicitly.


async def get_hub(request: Request) -> Hub:
    return request.app.state.hub


class Authenticator:
    """Looks tokens up in the store, remembering answers briefly to spare the database."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.tokens = TokenStore(hub.database_url)
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(found, principal) from the cache alone, without touching the store."""
        entry = self._cache.get(hash_token(token))
        if entry and time.monotonic() - entry[0] < _TOKEN_CACHE_SECONDS:
            return True, entry[1]
        return False, None

    def principal(self, token: str) -> Principal | None:
        key = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached and now - cached[0] < _TOKEN_CACHE_SECONDS:
            return cached[1]
        with self.hub.app.hub_recorder.datastore.get_connection() as conn:
            principal = self.tokens.authenticate(conn, token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, principal)
        return principal


class RateLimiter:
    """A token bucket per API token: `rate` requests a second, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, name: str) -> float:
        """Takes one request from the bucket; returns 0, or the seconds until one is free."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[name] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[name] = (tokens - 1, now)
            return 0.0


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Returns the caller, or answers 401 (no or unknown token) or 429 (over its rate)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "a bearer token is required", headers=challenge)
    authenticator = request.app.state.authenticator
    found, principal = authenticator.cached(credentials.credentials)
    if not found:
        principal = await asyncio.to_thread(authenticator.principal, credentials.credentials)
    if principal is None:
        raise Problem(401, "the token is unknown or revoked", headers=challenge)
    wait = request.app.state.rate_limiter.check(principal.name)
    if wait:
        raise Problem(
            429,
            f"token '{principal.name}' is over its rate limit",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return principal


def require(check: Callable[[Principal], bool], needed: str) -> Callable[..., Principal]:
    """A dependency that answers 403 unless the caller's scopes pass the check."""

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not check(principal):
            raise Problem(403, f"this route needs the scope {needed}")
        return principal

    return dependency


def scope(name: str) -> Callable[..., Principal]:
    return require(lambda p: p.has(name), name)


Reader = Annotated[Principal, Depends(scope("read"))]
Operator = Annotated[Principal, Depends(scope("operate"))]
Writer = Annotated[Principal, Depends(require(lambda p: p.may_write(), "write:<system>"))]
HubDep = Annotated[Hub, Depends(get_hub)]
