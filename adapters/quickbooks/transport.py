"""QuickBooks Online over HTTP: the webhook signature, and fetching a notified invoice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapters.quickbooks.mapping import (
    SOURCE_TYPE,
    SYSTEM,
    map_cloud_events,
    map_invoice,
    map_legacy,
    parse_body,
)
from adapters.quickbooks.payloads import InvoiceResponse, LegacyBody
from adapters.refusals import (
    fetch_failed,
    forbidden,
    header,
    load_json,
    refusals,
    schema_violation,
    validate,
)
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult
from hub.contracts.changes import ChangeEnvelope

DEFAULT_BASE_URL = "https://quickbooks.api.intuit.com"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
MINOR_VERSION = "75"


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


class QuickBooksAdapter:
    """QuickBooks Online: key-only invoice webhooks (CloudEvents or legacy), fetched by id."""

    system = SYSTEM

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Checks `intuit-signature`: base64 HMAC-SHA256 of the raw body, verifier token key."""
        secret = config.signing_secret
        if not secret:
            return True
        given = header(headers, "intuit-signature")
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
        """Maps webhook notifications (deletions now, fetches for the rest) or a posted
        `{"Invoice": ...}` response."""
        with refusals():
            if headers is not None and not self.verify_signature(body, headers, config):
                raise forbidden("intuit-signature is missing or does not match")
            parsed = parse_body(load_json(body))
            realm = config.tenant or tenant or ""
            if isinstance(parsed, LegacyBody):
                return map_legacy(parsed, tenant=realm)
            if isinstance(parsed, InvoiceResponse):
                return Mapped(events=[self._map_invoice(parsed, realm=realm, config=config)])
            return map_cloud_events(parsed, tenant=realm)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """GETs the invoice from the notification's realm and maps it."""
        with refusals():
            if request.kind != SOURCE_TYPE:
                raise schema_violation(f"quickbooks cannot fetch {request.kind!r}", "kind")
            realm = request.tenant or config.tenant
            if not realm:
                raise schema_violation("the realm (company id) of the invoice is unknown", "tenant")
            base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
            url = f"{base}/v3/company/{quote(realm, safe='')}/invoice/{quote(request.id, safe='')}"
            headers = {"Accept": "application/json"}
            if config.token:
                headers["Authorization"] = f"Bearer {config.token}"
            params = {"minorversion": config.extra.get("minor_version") or MINOR_VERSION}
            response = validate(
                InvoiceResponse,
                get_json(client, url, config=config, headers=headers, params=params),
            )
            voided = bool(request.hint.get("voided"))
            return Mapped(
                events=[self._map_invoice(response, realm=realm, config=config, voided=voided)]
            )

    def _map_invoice(
        self,
        response: InvoiceResponse,
        *,
        realm: str,
        config: AdapterConfig,
        voided: bool = False,
    ) -> ChangeEnvelope:
        return map_invoice(
            response,
            realm=realm,
            voided=voided,
            custom_field=config.extra.get("engagement_custom_field"),
            default_currency=config.default_currency,
        )

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """QBO notifies by webhook; polling (CDC) is not offered yet."""
        raise NotImplementedError("quickbooks delivers by webhook")
