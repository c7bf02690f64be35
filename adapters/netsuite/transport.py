"""NetSuite REST over HTTP: polling each record type on lastModifiedDate (a record collection
query, then a read of each record), and single-record reads. Retries are bounded
(config.extra `retries`, `backoff_seconds`, `timeout_seconds`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.fetching import get_json
from adapters.netsuite.errors import parse
from adapters.netsuite.mapping import (
    Context,
    account_of,
    entity_of,
    map_deleted,
    map_record,
    milestone_record,
)
from adapters.netsuite.payloads import Collection
from adapters.refusals import fetch_failed
from hub.contracts.adapters import AdapterConfig, AdapterError, FetchRequest, Mapped, PollResult

RECORD_PATH = "/services/rest/record/v1"
MAX_LIMIT = 1000  # the REST collection maximum
_MAX_PAGES = 100_000


class Session:
    """Requests to one NetSuite account's REST record API."""

    def __init__(self, client: httpx.Client, config: AdapterConfig) -> None:
        if not config.base_url:
            raise fetch_failed("no base_url is configured for netsuite")
        self.client = client
        self.config = config
        self.root = config.base_url.rstrip("/") + RECORD_PATH
        self.limit = max(1, min(config.page_size, MAX_LIMIT))

    def get(
        self, url: str, params: dict[str, Any] | None = None, *, allow_missing: bool = False
    ) -> Any:
        headers = {"Accept": "application/json"}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return get_json(
            self.client,
            url,
            config=self.config,
            headers=headers,
            params=params,
            allow_missing=allow_missing,
        )

    def ids(self, record_type: str, query: str | None) -> Iterator[str]:
        """The ids of a record collection, optionally filtered, page by page (offset/limit)."""
        offset = 0
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"limit": self.limit, "offset": offset}
            if query:
                params["q"] = query
            page = parse(
                Collection,
                self.get(f"{self.root}/{record_type}", params),
                f"{record_type} collection",
            )
            for item in page.items:
                if item.get("id") in (None, ""):
                    raise fetch_failed(f"a {record_type} collection item has no id")
                yield str(item["id"])
            if not page.hasMore or not page.items:
                return
            offset += len(page.items)

    def record(self, record_type: str, record_id: str) -> Any:
        return self.get(f"{self.root}/{record_type}/{record_id}", allow_missing=True)


def record_types(config: AdapterConfig) -> tuple[str, ...]:
    return ("customer", "job", milestone_record(config))


def _query(since: datetime, config: AdapterConfig) -> str:
    # Collection filtering takes dates in the N/query format and the account's time zone:
    # query from the day before, and compare the exact instants once the records are read.
    day = (since - timedelta(days=1)).date()
    text = day.strftime(config.extra.get("query_date_format", "%m/%d/%Y"))
    return f'lastModifiedDate ON_OR_AFTER "{text}"'


def _since(cursor: str | None, config: AdapterConfig) -> datetime | None:
    if not cursor:
        return None
    try:
        at = datetime.fromisoformat(cursor)
    except ValueError as exc:
        raise AdapterError("SCHEMA_VIOLATION", f"cursor {cursor!r} is not an instant") from exc
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at - timedelta(seconds=int(config.extra.get("overlap_seconds", "300")))


def poll(*, client: httpx.Client, config: AdapterConfig, cursor: str | None) -> PollResult:
    """Reads every customer, job and milestone record modified since the cursor (all of them
    without one); the cursor becomes the newest lastModifiedDate seen."""
    session = Session(client, config)
    since = _since(cursor, config)
    mapped = Mapped()
    newest = datetime.fromisoformat(cursor) if cursor else None
    newest = newest.replace(tzinfo=UTC) if newest and not newest.tzinfo else newest
    listings: dict[tuple[str, str], frozenset[str]] = {}
    for record_type in record_types(config):
        listed = []
        for record_id in session.ids(record_type, _query(since, config) if since else None):
            listed.append(record_id)
            raw = session.record(record_type, record_id)
            if raw is None:
                continue  # deleted between the listing and the read
            modified = _modified(raw)
            if since and modified is not None and modified < since:
                continue
            ctx = Context(tenant=_tenant(raw, config.tenant), config=config)
            one = map_record(raw, ctx, event=record_type)
            mapped.events.extend(one.events)
            if modified is not None and (newest is None or modified > newest):
                newest = modified
        entity = entity_of(record_type, config) or record_type
        if since is None:
            listings[(entity, record_type)] = frozenset(listed)
        elif config.extra.get("reconcile", "").lower() in ("1", "true", "yes"):
            listings[(entity, record_type)] = frozenset(session.ids(record_type, None))
    text = newest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None
    mapped.cursor = text
    return PollResult(mapped=mapped, cursor=text, complete_listings=listings)


def _modified(raw: Any) -> datetime | None:
    value = raw.get("lastModifiedDate") if isinstance(raw, dict) else None
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at and not at.tzinfo else at


def fetch(request: FetchRequest, *, client: httpx.Client, config: AdapterConfig) -> Mapped:
    """Reads one record (kind: its REST record type) and maps it; a 404 is a tombstone."""
    session = Session(client, config)
    record_type = request.kind.lower()
    if entity_of(record_type, config) is None or not request.id.isalnum():
        raise AdapterError("SCHEMA_VIOLATION", f"cannot fetch {request.kind} {request.id}")
    raw = session.record(record_type, request.id)
    if raw is None:
        ctx = Context(tenant=request.tenant or config.tenant, config=config)
        return map_deleted(record_type, request.id, ctx, seen_at=datetime.now(UTC))
    ctx = Context(tenant=_tenant(raw, request.tenant or config.tenant), config=config)
    return map_record(raw, ctx, event=record_type)


def _tenant(raw: Any, fallback: str) -> str:
    # The same rule as for a pushed record: the account its links name, else the setting.
    return (account_of(raw) if isinstance(raw, dict) else None) or fallback
