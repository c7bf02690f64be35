"""Microsoft Graph over HTTP: delta runs (nextLink pages to the deltaLink, 410 resync) and
the clientState of change notifications."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import httpx

from adapters.fetching import send
from adapters.refusals import (
    fetch_failed,
    forbidden,
    load_json,
    refusals,
    schema_violation,
    validate,
)
from adapters.sharepoint.mapping import (
    DELTA,
    SOURCE_TYPE,
    SYSTEM,
    last_occurrences,
    link_resource,
    map_items,
    map_notifications,
    resource_path,
)
from adapters.sharepoint.payloads import DeltaPage, DriveItem, NotificationBatch
from adapters.sharepoint.shapes import map_page, map_single, parse_body
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult

DEFAULT_BASE_URL = "https://graph.microsoft.com"
GONE = 410
MAX_PAGES = 10_000


def trusted(link: str, base: str, current: str | None = None) -> str:
    """A link to follow, only on the configured Graph origin (the token goes with it)."""
    absolute = urljoin(current or base + "/", link)
    target, origin = urlsplit(absolute), urlsplit(base)
    if (target.scheme, target.netloc) != (origin.scheme, origin.netloc):
        raise schema_violation(f"link {link!r} leaves the Graph origin {base}", "link")
    return absolute


class SharePointAdapter:
    """SharePoint / OneDrive files (Graph driveItem delta) as knowledge asset documents."""

    system = SYSTEM

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Checks each change notification's clientState against the configured secret.

        Graph signs nothing else: the validation handshake and delta pages pass.
        """
        secret = config.signing_secret
        if not secret or not body.strip():
            return True
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return True  # not a notification; map_payload refuses it as malformed
        values = data.get("value") if isinstance(data, dict) else None
        notes = [v for v in values or [] if isinstance(v, dict) and "subscriptionId" in v]
        return all(
            hmac.compare_digest(str(note.get("clientState") or ""), secret) for note in notes
        )

    def map_payload(
        self,
        body: bytes,
        *,
        config: AdapterConfig,
        headers: Mapping[str, str] | None = None,
        event: str | None = None,
        tenant: str | None = None,
    ) -> Mapped:
        """Maps a delta page (the whole page, last occurrence wins), one driveItem, or change
        notifications (a delta run to fetch); the validation handshake maps to nothing."""
        with refusals():
            if headers is not None and not self.verify_signature(body, headers, config):
                raise forbidden("a change notification's clientState does not match")
            if not body.strip():
                # Graph's subscription check: the route echoes ?validationToken= as text/plain.
                return Mapped(ignored="Graph validation handshake: echo the validationToken")
            parsed = parse_body(load_json(body))
            owner = config.tenant or tenant or ""
            if isinstance(parsed, NotificationBatch):
                return map_notifications(parsed, tenant=owner)
            if isinstance(parsed, DriveItem):
                return map_single(
                    parsed, tenant=owner, received_at=self._clock(), extra=config.extra
                )
            return map_page(parsed, tenant=owner, received_at=self._clock(), extra=config.extra)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Runs delta from the request's link (or the configured deltaLink, or a fresh
        enumeration of its drive) to the next deltaLink, which becomes the cursor."""
        with refusals():
            if request.kind != DELTA:
                raise schema_violation(f"sharepoint cannot fetch {request.kind!r}", "kind")
            saved = request.hint.get("cursor")
            if saved and link_resource(str(saved)) != request.id:
                saved = None  # another drive's deltaLink
            start = (
                request.url
                or saved
                or config.extra.get("delta_link")
                or self._first_url(config, request.id)
            )
            items, delta_link, _ = self._run(client, config, str(start))
            events = map_items(
                items,
                tenant=config.tenant or request.tenant,
                received_at=self._clock(),
                extra=config.extra,
            )
            return Mapped(events=events, cursor=delta_link)

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Runs delta from the cursor (a deltaLink); a fresh enumeration lists every file, which
        is offered for reconciliation when `complete_listing` is set (one drive per tenant)."""
        with refusals():
            start = cursor or config.extra.get("delta_link")
            items, delta_link, resynced = self._run(
                client, config, start or self._first_url(config, config.extra.get("drive_resource"))
            )
            events = map_items(
                items, tenant=config.tenant, received_at=self._clock(), extra=config.extra
            )
            listings: dict[tuple[str, str], frozenset[str]] = {}
            if (resynced or not start) and config.extra.get("complete_listing") == "true":
                listings[("knowledge_asset", SOURCE_TYPE)] = frozenset(
                    str(item.id)
                    for _, item in last_occurrences(items)
                    if item.file is not None and item.deleted is None
                )
            return PollResult(
                mapped=Mapped(events=events, cursor=delta_link),
                cursor=delta_link,
                complete_listings=listings,
            )

    def _first_url(self, config: AdapterConfig, resource: str | None) -> str:
        """A fresh enumeration of a drive: `{base}/v1.0/{resource}/delta`."""
        if not resource or resource == DELTA:
            drive = config.extra.get("drive_id")
            if not drive:
                raise schema_violation("no drive to read: set drive_id or notify one", "drive_id")
            resource = f"drives/{drive}/root"
        path = resource_path(resource, "resource")
        quoted = "/".join(quote(part, safe="!:~") for part in path.split("/"))
        return f"{self._base(config)}/v1.0/{quoted}/delta"

    @staticmethod
    def _base(config: AdapterConfig) -> str:
        return (config.base_url or DEFAULT_BASE_URL).rstrip("/")

    def _run(
        self, client: httpx.Client, config: AdapterConfig, start: str
    ) -> tuple[list[DriveItem], str, bool]:
        """Follows nextLinks to the deltaLink; a 410 Gone restarts once from its Location."""
        base = self._base(config)
        url = trusted(start, base)
        headers = {"Accept": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        items: list[DriveItem] = []
        resynced = False
        for _ in range(MAX_PAGES):
            response = send(client, url, config=config, headers=headers)
            if response.status_code == GONE:
                if resynced:
                    raise fetch_failed("delta answered 410 Gone again after a resync")
                # The token expired: enumerate afresh from where Graph says (else the same
                # delta without its token) and take every item's state from that listing.
                location = response.headers.get("Location")
                parts = urlsplit(url)
                fresh = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
                url = trusted(location, base, url) if location else fresh
                items, resynced = [], True
                continue
            if response.status_code >= 400:
                raise fetch_failed(f"GET {url} answered HTTP {response.status_code}")
            page = validate(DeltaPage, load_json(response.content), prefix="delta")
            items.extend(page.value)
            if page.delta_link:
                return items, page.delta_link, resynced
            if not page.next_link:
                raise schema_violation("a delta page has no nextLink or deltaLink", "delta")
            url = trusted(page.next_link, base, url)
        raise fetch_failed(f"delta had more than {MAX_PAGES} pages")
