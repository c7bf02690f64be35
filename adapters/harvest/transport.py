"""Harvest v2 over HTTP: paged polling with updated_since (following links.next), windowed
listings for reconciliation, and single-record reads. Retries are bounded (config.extra
`retries`, `backoff_seconds`, `timeout_seconds`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.fetching import get_json
from adapters.harvest.errors import parse
from adapters.harvest.mapping import (
    COLLECTIONS,
    RATES,
    SINGULAR,
    Context,
    instant,
    items_of,
    map_page,
)
from adapters.harvest.payloads import Page
from adapters.refusals import fetch_failed
from hub.contracts.adapters import AdapterConfig, AdapterError, FetchRequest, Mapped, PollResult

MAX_PER_PAGE = 2000
POLL_ORDER = ("clients", "projects", "users", "time_entries", "expenses", "invoices")
# Collections whose listing can be bounded by a date window (spent_date / issue_date).
WINDOWED = ("time_entries", "expenses", "invoices")
_MAX_PAGES = 100_000


class Session:
    """One round of requests to one Harvest account, with the client currencies it learned."""

    def __init__(self, client: httpx.Client, config: AdapterConfig, tenant: str) -> None:
        if not config.base_url:
            raise fetch_failed("no base_url is configured for harvest")
        self.client = client
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.origin = urlsplit(self.base)[:2]
        self.ctx = Context(tenant=tenant, config=config)
        self.per_page = max(1, min(config.page_size, MAX_PER_PAGE))

    def headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": self.config.extra.get("user_agent", "pshub (harvest adapter)"),
            "Harvest-Account-Id": self.config.extra.get("account_id", self.config.tenant),
        }
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return headers

    def get(
        self, url: str, params: Mapping[str, Any] | None = None, *, allow_missing: bool = False
    ) -> Any:
        """GETs JSON with bounded retries (adapters/fetching.py)."""
        return get_json(
            self.client,
            url,
            config=self.config,
            headers=self.headers(),
            params=params,
            allow_missing=allow_missing,
        )

    def follow(self, url: str) -> str:
        # links.next is absolute; the token is only ever sent to the configured origin.
        if urlsplit(url)[:2] != self.origin:
            raise fetch_failed(f"links.next {url} leaves {self.base}")
        return url

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a list, following links.next until it is null."""
        url: str | None = f"{self.base}{path}"
        query: Mapping[str, Any] | None = {"per_page": self.per_page, **params}
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            if url is None:
                return
            page = self.get(url, query)
            if not isinstance(page, dict):
                raise fetch_failed(f"GET {url} did not answer a list page")
            yield page
            links = parse(Page, page, "page").links
            url = self.follow(links.next) if links and links.next else None
            if url in seen:
                raise fetch_failed(f"links.next repeats {url}")
            if url:
                seen.add(url)
            query = None  # links.next carries the whole query

    def learn_currencies(self, page: Mapping[str, Any], collection: str) -> None:
        """Reads the currency of each client a time-entry page names but the session lacks."""
        if collection != "time_entries":
            return
        wanted = {
            item["client"]["id"]
            for item in items_of(page, collection)
            if isinstance(item, dict)
            and isinstance(item.get("client"), dict)
            and isinstance(item["client"].get("id"), int)
            and not item["client"].get("currency")
        } - set(self.ctx.currencies)
        for client_id in sorted(wanted):
            client = self.get(f"{self.base}/v2/clients/{client_id}", allow_missing=True)
            if isinstance(client, dict) and isinstance(client.get("currency"), str):
                self.ctx.learn(client_id, client["currency"])

    def rate_card(self, user_id: int) -> Mapped:
        mapped = Mapped()
        rates: list[Any] = []
        for page in self.pages(f"/v2/users/{user_id}/{RATES}", {}):
            rates.extend(items_of(page, RATES))
        mapped.extend(map_page({RATES: rates}, self.ctx, user_id=user_id))
        return mapped


def _since(cursor: str | None, config: AdapterConfig) -> datetime | None:
    if not cursor:
        return None
    try:
        at = datetime.fromisoformat(cursor)
    except ValueError as exc:
        raise AdapterError("SCHEMA_VIOLATION", f"cursor {cursor!r} is not an instant") from exc
    # Records updated while a poll pages through earlier collections can carry an updated_at
    # below the newest one seen: re-list an overlap (their ids are stable: duplicates only).
    return at - timedelta(seconds=int(config.extra.get("overlap_seconds", "300")))


def poll(*, client: httpx.Client, config: AdapterConfig, cursor: str | None) -> PollResult:
    """Lists every collection updated since the cursor (all of them without one)."""
    session = Session(client, config, config.tenant)
    since = _since(cursor, config)
    params = {"updated_since": instant(since)} if since else {}
    mapped = Mapped()
    newest = cursor
    changed_users: list[int] = []
    for collection in POLL_ORDER:
        for page in session.pages(f"/v2/{collection}", params):
            session.learn_currencies(page, collection)
            one = map_page(page, session.ctx, event=collection)
            mapped.events.extend(one.events)
            if one.cursor and (newest is None or one.cursor > newest):
                newest = one.cursor
            if collection == "users":
                changed_users.extend(int(e.subject) for e in one.events)
    listings: dict[tuple[str, str], frozenset[str]] = {}
    window = _window(config)
    if window:
        listings = _reconcile(session, window)
        changed_users = sorted({*changed_users, *(int(u) for u in listings[("resource", "User")])})
    if config.default_currency:
        # Creating a billable rate does not touch the user: rates are read for changed users
        # and, during a reconciliation, for every user.
        for user_id in changed_users:
            mapped.events.extend(session.rate_card(user_id).events)
    mapped.cursor = newest
    return PollResult(mapped=mapped, cursor=newest, complete_listings=listings)


def _window(config: AdapterConfig) -> tuple[date, date] | None:
    start = config.extra.get("reconcile_from")
    if not start:
        return None
    try:
        end = config.extra.get("reconcile_to")
        return date.fromisoformat(start), date.fromisoformat(end) if end else date.max
    except ValueError as exc:
        raise AdapterError("SCHEMA_VIOLATION", f"bad reconciliation window: {exc}") from exc


def _reconcile(
    session: Session, window: tuple[date, date]
) -> dict[tuple[str, str], frozenset[str]]:
    """Complete id listings: every client, project and user, and the time entries, expenses
    and invoices whose spent_date / issue_date lies in the window (both ends inclusive)."""
    listings: dict[tuple[str, str], frozenset[str]] = {}
    for collection in POLL_ORDER:
        params: dict[str, Any] = {}
        if collection in WINDOWED:
            params["from"] = window[0].isoformat()
            if window[1] != date.max:
                params["to"] = window[1].isoformat()
        ids: set[str] = set()
        for page in session.pages(f"/v2/{collection}", params):
            for item in items_of(page, collection):
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise AdapterError(
                        "MISSING_REQUIRED_ID", f"a listed {collection} item has no id", field="id"
                    )
                ids.add(str(item["id"]))
        _, _, entity, source_type = COLLECTIONS[collection]
        listings[(entity, source_type)] = frozenset(ids)
    return listings


def fetch(request: FetchRequest, *, client: httpx.Client, config: AdapterConfig) -> Mapped:
    """Reads one record (kind: its collection, singular or plural) and maps it; a record that
    is gone becomes nothing here, since only a complete listing may tombstone (Harvest)."""
    session = Session(client, config, request.tenant or config.tenant)
    collection = SINGULAR.get(request.kind, request.kind)
    if collection not in (*COLLECTIONS, RATES) or not (
        request.id.isascii() and request.id.isdigit()
    ):
        raise AdapterError("SCHEMA_VIOLATION", f"cannot fetch {request.kind} {request.id}")
    if collection == RATES:
        return session.rate_card(int(request.id))
    record = session.get(f"{session.base}/v2/{collection}/{request.id}", allow_missing=True)
    if record is None:
        return Mapped(ignored=f"{collection} {request.id} no longer exists")
    page = {collection: [record]}
    session.learn_currencies(page, collection)
    return map_page(page, session.ctx)
