"""Confluence over HTTP: the Data Center webhook signature; the body carries the page (a
webhook body, or a page as REST v2 returns it)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import httpx

from adapters.confluence.mapping import SYSTEM, map_page_event
from adapters.confluence.payloads import PageEvent, RestPage
from adapters.confluence.rest import map_rest_page
from adapters.confluence.shapes import webhook_body
from adapters.refusals import (
    forbidden,
    header,
    load_json,
    refusals,
    schema_violation,
    validate,
)
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult


class ConfluenceAdapter:
    """Confluence pages (Cloud Connect webhooks, Data Center webhooks) as knowledge assets."""

    system = SYSTEM

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Checks Data Center's `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`."""
        secret = config.signing_secret
        if not secret:
            return True
        given = (header(headers, "X-Hub-Signature") or "").strip()
        algorithm, _, digest = given.partition("=")
        if algorithm.lower() != "sha256" or not digest:
            return False
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, digest.lower())

    def map_payload(
        self,
        body: bytes,
        *,
        config: AdapterConfig,
        headers: Mapping[str, str] | None = None,
        event: str | None = None,
        tenant: str | None = None,
    ) -> Mapped:
        """Maps one page webhook body; `event` names it (`?event=page_updated`)."""
        with refusals():
            if headers is not None and not self.verify_signature(body, headers, config):
                raise forbidden("X-Hub-Signature is missing or does not match")
            data = load_json(body)
            # The body names no site or instance: the tenant comes from the settings or the call.
            site = config.tenant or tenant or ""
            if (
                isinstance(data, dict)
                and "page" not in data
                and isinstance(data.get("version"), dict)
            ):
                # A page as REST v2 returns it: its status says what happened.
                page = validate(RestPage, data)
                return map_rest_page(page, tenant=site, base_url=config.base_url)
            parsed = validate(PageEvent, webhook_body(data))
            return map_page_event(parsed, event=event, tenant=site, extra=config.extra)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Confluence webhooks carry the page: this adapter never asks for a fetch."""
        raise schema_violation(f"confluence cannot fetch {request.kind!r}", "kind")

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Confluence notifies by webhook; polling is not offered."""
        raise NotImplementedError("confluence delivers by webhook")
