"""Requests to a source's API with bounded retries, shared by every adapter that fetches or
polls: timeouts, transport errors, throttling and 5xx are retried with exponential backoff (a
Retry-After the source sends is honoured up to `max_backoff`), then refused as FETCH_FAILED.

Settings (config.extra, i.e. PSHUB_ADAPTER_<SYSTEM>_<NAME>): `retries` (3), `backoff`
seconds (0.5, doubling), `max_backoff` seconds (30), `timeout` seconds (the HTTP client's:
10 for fetches on notification, 30 for polls). The names
`backoff_seconds`, `timeout_seconds` and `max_retry_after_seconds`, which Harvest, NetSuite,
Odoo and Salesforce were first configured with, are still read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from adapters.refusals import fetch_failed, load_json, schema_violation
from hub.contracts.adapters import AdapterConfig, AdapterError

RETRYABLE = frozenset({408, 425, 429})  # and every 5xx

_ALIASES = {
    "backoff": ("backoff_seconds",),
    "timeout": ("timeout_seconds",),
    "max_backoff": ("max_retry_after_seconds",),
}


def setting(config: AdapterConfig, name: str, default: float | None) -> float | None:
    """A non-negative number from config.extra (or an older name of it), else the default."""
    for key in (name, *_ALIASES.get(name, ())):
        raw = config.extra.get(key)
        if raw is None or raw == "":
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise schema_violation(f"setting {key}={raw!r} is not a non-negative number", key)
        return value
    return default


def send(
    client: httpx.Client,
    url: str,
    *,
    config: AdapterConfig,
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    method: str = "GET",
    json: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Sends, retrying a bounded number of times; returns the final response, whatever its
    status (the caller decides what a 4xx means)."""
    attempts = 1 + int(setting(config, "retries", 3) or 0)
    backoff = setting(config, "backoff", 0.5) or 0.0
    cap = setting(config, "max_backoff", 30.0) or 0.0
    configured = setting(config, "timeout", None)
    timeout: Any = httpx.USE_CLIENT_DEFAULT if configured is None else configured
    problem, wait = "", 0.0
    for attempt in range(attempts):
        if attempt:
            sleep(min(cap, max(wait, backoff * 2 ** (attempt - 1))))
        wait = 0.0
        try:
            response = client.request(
                method, url, headers=dict(headers), params=params, json=json, timeout=timeout
            )
        except httpx.TimeoutException as exc:
            problem = f"timed out ({type(exc).__name__})"
            continue
        except httpx.TransportError as exc:
            problem = f"transport error: {exc}"
            continue
        if response.status_code in RETRYABLE or response.status_code >= 500:
            problem = f"HTTP {response.status_code}"
            retry_after = response.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.isascii() and retry_after.isdigit() else 0.0
            continue
        return response
    raise fetch_failed(f"{method} {url} failed after {attempts} attempts: {problem}")


def get_json(
    client: httpx.Client,
    url: str,
    *,
    config: AdapterConfig,
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    allow_missing: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GETs JSON (see send): None for a 404 when `allow_missing`, any other 4xx, or a body
    that is not JSON, is FETCH_FAILED at once."""
    response = send(client, url, config=config, headers=headers, params=params, sleep=sleep)
    if response.status_code == 404 and allow_missing:
        return None
    if response.status_code >= 400:
        raise fetch_failed(f"GET {url} answered HTTP {response.status_code}")
    return json_of(response, f"GET {url}")


def json_of(response: httpx.Response, what: str) -> Any:
    """The response's JSON; a source answering something else is FETCH_FAILED."""
    try:
        return load_json(response.content)
    except AdapterError as exc:
        raise fetch_failed(f"{what} answered something that is not JSON") from exc
