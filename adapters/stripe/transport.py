"""Stripe over HTTP: the webhook signature, and the paged invoice lines a webhook leaves out."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from adapters.fetching import get_json, setting
from adapters.refusals import (
    fetch_failed,
    forbidden,
    header,
    load_json,
    not_the_shape,
    refusals,
    schema_violation,
    validate,
)
from adapters.stripe.mapping import SYSTEM, complete_lines, map_event
from adapters.stripe.payloads import Event, LineList
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult

DEFAULT_BASE_URL = "https://api.stripe.com"
LINE_COLLECTIONS = {"invoice_lines": "invoices", "credit_note_lines": "credit_notes"}
MAX_PAGES = 1000


def time_zone(config: AdapterConfig) -> ZoneInfo:
    # Stripe has instants only; an invoice's calendar dates are taken in the account's zone.
    name = config.extra.get("time_zone") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise schema_violation(f"unknown time zone {name!r}", "time_zone") from exc


class StripeAdapter:
    """Stripe Billing: invoice and credit note events, full objects in the webhook."""

    system = SYSTEM

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Checks `Stripe-Signature` (t=..., v1=HMAC-SHA256 of "t.body") within a tolerance."""
        secret = config.signing_secret
        if not secret:
            return True
        value = header(headers, "Stripe-Signature")
        if not value:
            return False
        pairs = [item.split("=", 1) for item in value.split(",") if "=" in item]
        stamps = [v.strip() for k, v in pairs if k.strip() == "t"]
        signatures = [v.strip() for k, v in pairs if k.strip() == "v1"]
        if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()) or not signatures:
            return False
        # Stripe's default tolerance: an old signed body is a replay.
        if abs(self._clock() - int(stamps[0])) > setting(config, "signature_tolerance", 300):
            return False
        signed = stamps[0].encode() + b"." + body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected, signature) for signature in signatures)

    def map_payload(
        self,
        body: bytes,
        *,
        config: AdapterConfig,
        headers: Mapping[str, str] | None = None,
        event: str | None = None,
        tenant: str | None = None,
    ) -> Mapped:
        """Maps one Stripe webhook event (the signature is checked when headers are given)."""
        with refusals():
            if headers is not None and not self.verify_signature(body, headers, config):
                raise forbidden("Stripe-Signature is missing or does not match")
            data = load_json(body)
            if not isinstance(data, dict):
                raise not_the_shape('a Stripe event (an object with "object": "event")', data)
            parsed = validate(Event, data)
            return map_event(
                parsed,
                tenant=config.tenant or tenant or "",
                zone=time_zone(config),
                engagement_key=config.extra.get("engagement_metadata_key") or "engagement_code",
            )

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Fetches the rest of a paged line list and reports the invoice with every line."""
        with refusals():
            collection = LINE_COLLECTIONS.get(request.kind)
            if collection is None:
                raise schema_violation(f"stripe cannot fetch {request.kind!r}", "kind")
            base = (config.base_url or DEFAULT_BASE_URL).rstrip("/")
            url = f"{base}/v1/{collection}/{quote(request.id, safe='')}/lines"
            headers = {"Accept": "application/json"}
            if config.token:
                headers["Authorization"] = f"Bearer {config.token}"
            if request.hint.get("api_version"):
                # Lines rendered in the event's own API version, as the first page was.
                headers["Stripe-Version"] = str(request.hint["api_version"])
            starting_after = request.hint.get("starting_after")
            pages: list[LineList] = []
            for _ in range(MAX_PAGES):
                params = {"limit": "100"}
                if starting_after:
                    params["starting_after"] = str(starting_after)
                page = validate(
                    LineList, get_json(client, url, config=config, headers=headers, params=params)
                )
                pages.append(page)
                if not page.has_more or not page.data:
                    break
                starting_after = page.data[-1].id
            else:
                raise fetch_failed(f"{url} had more than {MAX_PAGES} pages")
            return Mapped(events=[complete_lines(request, pages, time_zone(config))])

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Stripe pushes full objects; polling is not offered."""
        raise NotImplementedError("stripe delivers by webhook")
