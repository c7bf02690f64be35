"""Odoo's external API over JSON-RPC (POST /jsonrpc): polling each model on write_date with
keyset paging, and single-record reads. Retries are bounded (config.extra `retries`,
`backoff_seconds`, `timeout_seconds`). Settings: config.extra `database`, `uid` (or `login`),
config.token (the password or API key)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from typing import Any

import httpx

from adapters.fetching import send
from adapters.odoo.errors import parse
from adapters.odoo.mapping import (
    ENTITIES,
    FIELDS,
    MILESTONE,
    PARTNER,
    PROJECT,
    TIMESHEET,
    Context,
    fields_of,
    map_deleted,
    map_records,
)
from adapters.odoo.payloads import RpcResponse
from adapters.refusals import fetch_failed, load_json
from hub.contracts.adapters import AdapterConfig, AdapterError, FetchRequest, Mapped, PollResult

POLL_ORDER = (PARTNER, PROJECT, MILESTONE, TIMESHEET)
# Customers and the people at them; vendors and employees are partners too.
PARTNER_DOMAIN: list[Any] = ["|", ["customer_rank", ">", 0], ["parent_id.customer_rank", ">", 0]]
_MAX_PAGES = 100_000


def _odoo_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Session:
    """JSON-RPC calls to one Odoo database."""

    def __init__(self, client: httpx.Client, config: AdapterConfig) -> None:
        if not config.base_url:
            raise fetch_failed("no base_url is configured for odoo")
        database = config.extra.get("database")
        if not database:
            raise fetch_failed("no database is configured for odoo (config.extra['database'])")
        self.client = client
        self.config = config
        self.url = config.base_url.rstrip("/") + "/jsonrpc"
        self.database = database
        self.password = config.token or ""
        self.limit = max(1, config.page_size)
        self.ids = count(1)
        self._uid: int | None = int(config.extra["uid"]) if config.extra.get("uid") else None

    def call(self, service: str, method: str, *args: Any) -> Any:
        """One JSON-RPC call; transport failures and 5xx are retried, an RPC error is not."""
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(self.ids),
            "params": {"service": service, "method": method, "args": list(args)},
        }
        response = send(
            self.client,
            self.url,
            config=self.config,
            headers={"Accept": "application/json"},
            method="POST",
            json=payload,
        )
        if response.status_code >= 400:
            raise fetch_failed(f"{method} answered HTTP {response.status_code}")
        return self._result(response.content, method)

    def _result(self, content: bytes, method: str) -> Any:
        try:
            response = parse(RpcResponse, load_json(content), "JSON-RPC response")
        except AdapterError as exc:
            raise fetch_failed(f"{method} answered something that is not JSON-RPC") from exc
        if response.error is not None:
            # The message only: the error's data holds a server traceback.
            error = response.error
            text = (error.get("data") or {}).get("message") or error.get("message") or "error"
            raise fetch_failed(f"{method} failed in Odoo: {text}")
        return response.result

    def uid(self) -> int:
        if self._uid is None:
            login = self.config.extra.get("login", "")
            uid = self.call("common", "login", self.database, login, self.password)
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise fetch_failed(f"Odoo refused the login {login!r} to {self.database}")
            self._uid = uid
        return self._uid

    def execute(
        self, model: str, method: str, positional: list[Any], keywords: dict[str, Any]
    ) -> Any:
        return self.call(
            "object",
            "execute_kw",
            self.database,
            self.uid(),
            self.password,
            model,
            method,
            positional,
            keywords,
        )

    def search_read(self, model: str, domain: list[Any], *, limit: int | None = None) -> list[Any]:
        # active_test off: archived records must be seen to be mapped as archived.
        result = self.execute(
            model,
            "search_read",
            [domain],
            {
                "fields": fields_of(model, self.config),
                "order": "write_date asc, id asc",
                "limit": limit or self.limit,
                "context": {"active_test": False},
            },
        )
        if not isinstance(result, list):
            raise fetch_failed(f"search_read on {model} did not answer a list")
        return result

    def search(self, model: str, domain: list[Any]) -> frozenset[str]:
        result = self.execute(model, "search", [domain], {"context": {"active_test": False}})
        if not isinstance(result, list):
            raise fetch_failed(f"search on {model} did not answer a list")
        return frozenset(str(i) for i in result)


def base_domain(model: str, config: AdapterConfig) -> list[Any]:
    if model == PARTNER:
        configured = config.extra.get("partner_domain")
        return json.loads(configured) if configured else list(PARTNER_DOMAIN)
    if model == TIMESHEET:
        # Analytic lines without a project are accounting entries, not timesheets.
        return [["project_id", "!=", False]]
    return []


def _cursors(cursor: str | None) -> dict[str, tuple[str, int]]:
    """The keyset per model: {"res.partner": ["2024-05-02 09:15:11", 42], ...}. A plain
    instant is accepted as a start for every model."""
    if not cursor:
        return {}
    try:
        parsed = json.loads(cursor)
    except ValueError:
        try:
            start = _odoo_time(datetime.fromisoformat(cursor).replace(tzinfo=UTC))
        except ValueError as exc:
            raise AdapterError("SCHEMA_VIOLATION", f"bad cursor {cursor!r}") from exc
        return {model: (start, 0) for model in POLL_ORDER}
    if not isinstance(parsed, dict):
        raise AdapterError("SCHEMA_VIOLATION", f"bad cursor {cursor!r}")
    return {str(m): (str(v[0]), int(v[1])) for m, v in parsed.items()}


def _after(keyset: tuple[str, int]) -> list[Any]:
    # Keyset on (write_date, id): records written in one second (an import) are neither
    # skipped nor read again, however many there are.
    written, last_id = keyset
    return [
        "|",
        ["write_date", ">", written],
        "&",
        ["write_date", "=", written],
        ["id", ">", last_id],
    ]


def poll(*, client: httpx.Client, config: AdapterConfig, cursor: str | None) -> PollResult:
    """Reads the records of each model written after the cursor's (write_date, id)."""
    session = Session(client, config)
    ctx = Context(tenant=config.tenant, config=config)
    keysets = _cursors(cursor)
    mapped = Mapped()
    listings: dict[tuple[str, str], frozenset[str]] = {}
    reconcile = config.extra.get("reconcile", "").lower() in ("1", "true", "yes")
    for model in POLL_ORDER:
        domain = base_domain(model, config)
        keyset = keysets.get(model)
        for _ in range(_MAX_PAGES):
            page_domain = [
                *(["&"] if keyset and domain else []),
                *domain,
                *(_after(keyset) if keyset else []),
            ]
            records = session.search_read(model, page_domain)
            mapped.extend(map_records(records, ctx, event=model))
            if records:
                last = records[-1]
                keyset = (str(last.get("write_date")), int(last["id"]))
            if len(records) < session.limit:
                break
        if keyset:
            keysets[model] = keyset
        if cursor is None or reconcile:
            listings[(ENTITIES[model], model)] = session.search(model, domain)
    text = json.dumps({m: list(k) for m, k in keysets.items()}, sort_keys=True) if keysets else None
    mapped.cursor = text
    mapped.ignored = None
    return PollResult(mapped=mapped, cursor=text, complete_listings=listings)


def fetch(request: FetchRequest, *, client: httpx.Client, config: AdapterConfig) -> Mapped:
    """Reads one record (kind: its model); one that is gone, archived or not, is a tombstone."""
    if request.kind not in FIELDS or not (request.id.isascii() and request.id.isdigit()):
        raise AdapterError("SCHEMA_VIOLATION", f"cannot fetch {request.kind} {request.id}")
    session = Session(client, config)
    ctx = Context(tenant=request.tenant or config.tenant, config=config)
    records = session.search_read(request.kind, [["id", "=", int(request.id)]], limit=1)
    if not records:
        return map_deleted(request.kind, int(request.id), ctx, seen_at=datetime.now(UTC))
    return map_records(records, ctx, event=request.kind)
