"""Xero over HTTP: the webhook signature, and fetching the document a notification names."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from adapters.fetching import get_json
from adapters.refusals import (
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
COLLECTIONS = {"Invoice": "Invoices", "CreditNote": "CreditNotes"}


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
                rate_direction=config.extra.get("currency_rate_direction", "unverified"),
                home_currency=config.extra.get("home_currency"),
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
                rate_direction=config.extra.get("currency_rate_direction", "unverified"),
                home_currency=config.extra.get("home_currency"),
            )

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Xero notifies by webhook; polling is not offered."""
        raise NotImplementedError("xero delivers by webhook")
