"""QuickBooks Online over HTTP: the webhook signature, and fetching a notified invoice."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from adapters.fetching import get_json
from adapters.quickbooks.mapping import (
    SOURCE_TYPE,
    SYSTEM,
    embedded_customer,
    map_cloud_events,
    map_invoice,
    map_legacy,
    parse_body,
)
from adapters.quickbooks.payloads import InvoiceResponse, LegacyBody
from adapters.refusals import (
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
MINOR_VERSION = "75"


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
                return Mapped(
                    events=[
                        self._map_invoice(parsed, realm=realm, config=config),
                        *embedded_customer(parsed, realm=realm),
                    ]
                )
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
                events=[
                    self._map_invoice(response, realm=realm, config=config, voided=voided),
                    *embedded_customer(response, realm=realm),
                ]
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
            home_currency=config.extra.get("home_currency"),
        )

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """QBO notifies by webhook; polling (CDC) is not offered yet."""
        raise NotImplementedError("quickbooks delivers by webhook")
