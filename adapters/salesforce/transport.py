"""Salesforce REST reads: a gap or an incomplete change refetches its record, an overflow
resyncs the whole object type. Retries are bounded (config.extra retries/backoff_seconds)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from adapters.fetching import get_json as fetch_json
from adapters.refusals import fetch_failed
from adapters.salesforce.errors import parse
from adapters.salesforce.mapping import (
    ENTITIES,
    Context,
    api_version,
    map_deleted,
    map_fetched,
)
from adapters.salesforce.payloads import QueryResult, to_18
from hub.contracts.adapters import AdapterConfig, AdapterError, FetchRequest, Mapped

_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MAX_PAGES = 10_000


def _base(config: AdapterConfig) -> str:
    if not config.base_url:
        raise fetch_failed("no base_url is configured for salesforce")
    return config.base_url.rstrip("/")


def _headers(config: AdapterConfig) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    return headers


def get_json(
    client: httpx.Client,
    url: str,
    *,
    config: AdapterConfig,
    params: dict[str, Any] | None = None,
    allow_missing: bool = False,
) -> Any:
    """GETs JSON with bounded retries (adapters/fetching.py); None for a 404 when allowed."""
    return fetch_json(
        client,
        url,
        config=config,
        headers=_headers(config),
        params=params,
        allow_missing=allow_missing,
    )


def fetch(request: FetchRequest, *, client: httpx.Client, config: AdapterConfig) -> Mapped:
    """Reads what a gap, overflow or incomplete change names, and maps it."""
    ctx = Context.from_hint(request.hint, request.tenant or config.tenant)
    if ctx.entity not in ENTITIES:
        raise AdapterError("SCHEMA_VIOLATION", f"{ctx.entity} is not a mapped object type")
    root = f"{_base(config)}/services/data/{api_version(config)}"
    if request.kind == "resync":
        return _resync(ctx, root, client=client, config=config)
    record_id = to_18(request.id)
    if request.kind == "record":
        record = get_json(
            client, f"{root}/sobjects/{ctx.entity}/{record_id}", config=config, allow_missing=True
        )
        if record is not None:
            if not isinstance(record, dict):
                raise fetch_failed(f"{ctx.entity} {record_id} is not a JSON object")
            return map_fetched(ctx, record, config=config)
        if ctx.entity != "Contact":
            return map_deleted(ctx, record_id, config=config)
    elif request.kind != "deleted_contact":
        raise AdapterError("SCHEMA_VIOLATION", f"unknown fetch kind {request.kind!r}")
    return _deleted_contact(ctx, record_id, root, client=client, config=config)


def _deleted_contact(
    ctx: Context, record_id: str, root: str, *, client: httpx.Client, config: AdapterConfig
) -> Mapped:
    # queryAll also sees the recycle bin, where a deleted Contact keeps its AccountId. The id
    # went through to_18 (alphanumeric only), so it cannot break out of the literal.
    soql = f"SELECT Id, AccountId FROM Contact WHERE Id = '{record_id}'"  # noqa: S608
    page = parse(
        QueryResult,
        get_json(client, f"{root}/queryAll", config=config, params={"q": soql}),
        "queryAll result",
    )
    account = next((r.get("AccountId") for r in page.records if r.get("AccountId")), None)
    if not account:
        return Mapped(ignored=f"deleted Contact {record_id} belonged to no Account")
    return map_deleted(ctx, record_id, config=config, account_id=str(account))


def _resync(ctx: Context, root: str, *, client: httpx.Client, config: AdapterConfig) -> Mapped:
    extra = [
        config.extra.get(k, "")
        for k in ("account_tax_id_field", "opportunity_start_field", "opportunity_end_field")
    ]
    custom = sorted({f for f in extra if f.endswith("__c") and _FIELD.match(f)})
    # The object is one of ENTITIES and custom field names match _FIELD: nothing else goes in.
    soql = f"SELECT {', '.join(['FIELDS(STANDARD)', *custom])} FROM {ctx.entity}"  # noqa: S608
    mapped = Mapped()
    url = f"{root}/query"
    params: dict[str, Any] | None = {"q": soql}
    for _ in range(_MAX_PAGES):
        page = parse(
            QueryResult, get_json(client, url, config=config, params=params), "query result"
        )
        for record in page.records:
            mapped.extend(map_fetched(ctx, record, config=config))
        if page.done or not page.nextRecordsUrl:
            break
        # nextRecordsUrl is a path on the same instance ("/services/data/v60.0/query/01g...");
        # anything else is not followed, so the token never leaves the configured host.
        if not page.nextRecordsUrl.startswith("/services/"):
            raise fetch_failed(f"unexpected nextRecordsUrl {page.nextRecordsUrl!r}")
        url, params = f"{_base(config)}{page.nextRecordsUrl}", None
    return mapped
