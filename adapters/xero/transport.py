"""Xero over HTTP: the webhook signature, and fetching the document a notification names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapters.refusals import (
    fetch_failed,
    forbidden,
    header,
    load_json,
    refusals,
    schema_violation,
    validate,
)
from adapters.xero.mapping import SYSTEM, map_notification, map_resources, parse_body
from adapters.xero.payloads import Notification, Resources
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult

DEFAULT_BASE_URL = "https://api.xero.com"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
COLLECTIONS = {"Invoice": "Invoices", "CreditNote": "CreditNotes"}


def setting(config: AdapterConfig, name: str, default: float) -> float:
    """A number from config.extra (retries, backoff, timeout, ...), else the default."""
    raw = config.extra.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise schema_violation(f"setting {name}={raw!r} is not a number", name) from exc


def get_json(
    client: httpx.Client,
    url: str,
    *,
    config: AdapterConfig,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GETs JSON, retrying timeouts, transport errors, 429 and 5xx a bounded number of times."""
    attempts = 1 + max(0, int(setting(config, "retries", 3)))
    backoff = setting(config, "backoff", 0.5)
    cap = setting(config, "max_backoff", 30.0)
    timeout = setting(config, "timeout", 10.0)
    problem = ""
    for attempt in range(attempts):
        if attempt:
            sleep(min(cap, backoff * 2 ** (attempt - 1)))
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
            continue
        if response.status_code >= 400:
            raise fetch_failed(f"GET {url} answered HTTP {response.status_code}")
        return load_json(response.content)
    raise fetch_failed(f"GET {url} failed after {attempts} attempts: {problem}")


class XeroAdapter:
    """Xero accounting: key-only invoice and credit note webhooks, fetched by id."""

    system = SYSTEM

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Checks `x-xero-signature`: base64 HMAC-SHA256 of the raw body with the webhook key."""
        secret = config.signing_secret
        if not secret:
            return True
        given = header(headers, "x-xero-signature")
        if not given:
            return False
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), given.strip())

    def map_payload(
        self,
        body: bytes,
        *,
        config: AdapterConfig,
        headers: Mapping[str, str] | None = None,
        event: str | None = None,
        tenant: str | None = None,
    ) -> Mapped:
        """Maps a webhook body (to fetches) or a posted Invoices/CreditNotes response."""
        with refusals():
            # Xero's intent-to-receive check sends badly signed bodies that must be refused (401).
            if headers is not None and not self.verify_signature(body, headers, config):
                raise forbidden("x-xero-signature is missing or does not match")
            parsed = parse_body(load_json(body))
            fallback = config.tenant or tenant or ""
            if isinstance(parsed, Notification):
                return map_notification(parsed, tenant=fallback)
            return map_resources(
                parsed,
                tenant=header(headers, "xero-tenant-id") or fallback,
                engagement_category=config.extra.get("engagement_tracking_category"),
            )

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """GETs the invoice or credit note for the notification's tenant and maps it."""
        with refusals():
            collection = COLLECTIONS.get(request.kind)
            if collection is None:
                raise schema_violation(f"xero cannot fetch {request.kind!r}", "kind")
            base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
            url = f"{base}/api.xro/2.0/{collection}/{quote(request.id, safe='')}"
            headers = {"Accept": "application/json", "Xero-tenant-id": request.tenant}
            if config.token:
                headers["Authorization"] = f"Bearer {config.token}"
            resources = validate(Resources, get_json(client, url, config=config, headers=headers))
            return map_resources(
                resources,
                tenant=request.tenant or config.tenant,
                engagement_category=config.extra.get("engagement_tracking_category"),
            )

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Xero notifies by webhook; polling is not offered."""
        raise NotImplementedError("xero delivers by webhook")
