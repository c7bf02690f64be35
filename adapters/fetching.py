"""GETs against a source's API with bounded retries, shared by the adapters that fetch:
timeouts, transport errors, throttling and 5xx are retried with exponential backoff (a
Retry-After the source sends is honoured up to `max_backoff`), then refused as FETCH_FAILED."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from adapters.refusals import fetch_failed, load_json, schema_violation
from hub.contracts.adapters import AdapterConfig

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def setting(config: AdapterConfig, name: str, default: float) -> float:
    """A number from config.extra (retries, backoff, timeout, ...), else the default."""
    raw = config.extra.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise schema_violation(f"setting {name}={raw!r} is not a number", name) from exc


def send(
    client: httpx.Client,
    url: str,
    *,
    config: AdapterConfig,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """GETs, retrying a bounded number of times; returns the final response, whatever its
    status (the caller decides what a 4xx means)."""
    attempts = 1 + max(0, int(setting(config, "retries", 3)))
    backoff = setting(config, "backoff", 0.5)
    cap = setting(config, "max_backoff", 30.0)
    timeout = setting(config, "timeout", 10.0)
    problem, wait = "", 0.0
    for attempt in range(attempts):
        if attempt:
            sleep(min(cap, max(wait, backoff * 2 ** (attempt - 1))))
        wait = 0.0
        try:
            response = client.get(url, headers=dict(headers), params=params, timeout=timeout)
        except httpx.TimeoutException as exc:
            problem = f"timed out ({type(exc).__name__})"
            continue
        except httpx.TransportError as exc:
            problem = f"transport error: {exc}"
            continue
        if response.status_code in RETRYABLE:
            problem = f"HTTP {response.status_code}"
            retry_after = response.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.isascii() and retry_after.isdigit() else 0.0
            continue
        return response
    raise fetch_failed(f"GET {url} failed after {attempts} attempts: {problem}")


def get_json(
    client: httpx.Client,
    url: str,
    *,
    config: AdapterConfig,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GETs JSON (see send); any other 4xx is FETCH_FAILED at once."""
    response = send(client, url, config=config, headers=headers, params=params, sleep=sleep)
    if response.status_code >= 400:
        raise fetch_failed(f"GET {url} answered HTTP {response.status_code}")
    return load_json(response.content)
