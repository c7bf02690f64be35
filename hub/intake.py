"""From a source's native payload to canonical change events durably on the ingest stream.

The webhook route, `pshub adapter <system> publish` and the pollers all go through here:
map the payload, fetch what key-only notifications name, publish, and record what failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
from psycopg.sql import SQL, Identifier

from hub.adapters import config_for, poll_seconds, registry
from hub.application import HubApplication, like_literal
from hub.contracts.adapters import (
    RESUMES_FROM_CURSOR,
    AdapterConfig,
    AdapterError,
    FetchRequest,
    Mapped,
    RecordWanted,
    SourceAdapter,
    message_id,
)
from hub.contracts.changes import ChangeEnvelope, Deletion, change_type
from hub.exceptions import ExceptionCase
from hub.store.recorder import EventMeta

log = logging.getLogger(__name__)

# The canonical date that puts a record inside a reconciliation window.
WINDOW_DATES = {"time_entry": "work_date", "expense": "spent_date", "invoice": "issue_date"}


class UnknownAdapterError(LookupError):
    """No adapters/<system>/ package provides this system."""


@dataclass
class Intake:
    """What one native payload became: events to publish and fetches that failed."""

    events: list[ChangeEnvelope] = field(default_factory=list)
    failures: list[tuple[FetchRequest, AdapterError]] = field(default_factory=list)
    cursor: str | None = None
    ignored: str | None = None


def adapter_for(system: str) -> SourceAdapter:
    adapter = registry().get(system)
    if adapter is None:
        raise UnknownAdapterError(
            f"no adapter for system '{system}'; known: {', '.join(sorted(registry()))}"
        )
    return adapter


def take_in(
    system: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    event: str | None = None,
    tenant: str | None = None,
    config: AdapterConfig | None = None,
    validation_token: str | None = None,
) -> Mapped:
    """Maps one payload: events, fetches still to run, or the reason it asks for nothing (a
    handshake, an empty page); raises AdapterError for a body that is not the source's shape."""
    adapter = adapter_for(system)
    config = config or config_for(system)
    if not body.strip() and validation_token is None:
        # The one empty body a source sends is Graph's handshake, whose token is in the URL.
        raise AdapterError(
            "MALFORMED_PAYLOAD", "the body is empty", field="body", rule="required", status=400
        )
    mapped = adapter.map_payload(body, config=config, headers=headers, event=event, tenant=tenant)
    if not (mapped.events or mapped.fetches or mapped.ignored):
        # Each adapter states why a body of its source's shape asks for nothing; a mapping
        # that yields nothing without a reason read a body that was not that shape.
        raise AdapterError(
            "SCHEMA_VIOLATION",
            f"the body holds nothing a {system} payload carries",
            field="body",
            rule="shape",
        )
    return mapped


def owns_cursor(system: str) -> bool:
    """Whether webhooks and `publish` keep the system's cursor (else its poller does)."""
    return poll_seconds(system) is None


def fetch_in(
    app: HubApplication,
    system: str,
    tenant: str,
    mapped: Mapped,
    *,
    config: AdapterConfig | None = None,
    timeout: float = 10.0,
) -> Intake:
    """Runs the fetches a mapping asked for (those that ask continue from the saved cursor);
    what they return joins its events."""
    if owns_cursor(system) and any(f.hint.get(RESUMES_FROM_CURSOR) for f in mapped.fetches):
        mapped = _resume_from(mapped, load_cursor(app, system, tenant))
    result = Intake(list(mapped.events), cursor=mapped.cursor, ignored=mapped.ignored)
    resolve_fetches(
        adapter_for(system), mapped, config or config_for(system), result, timeout=timeout
    )
    return result


def resolve_fetches(
    adapter: SourceAdapter,
    mapped: Mapped,
    config: AdapterConfig,
    result: Intake,
    *,
    timeout: float = 10.0,
) -> None:
    """Runs every fetch a mapping asked for (each adapter retries its own, boundedly)."""
    if not mapped.fetches:
        return
    with httpx.Client(timeout=timeout) as client:
        queue = list(mapped.fetches)
        while queue:
            request = queue.pop(0)
            try:
                fetched = adapter.fetch(request, client=client, config=config)
            except AdapterError as error:
                result.failures.append((request, error))
                continue
            result.events.extend(fetched.events)
            queue.extend(fetched.fetches)  # a page that names more pages (Graph, Stripe lines)
            result.cursor = fetched.cursor or result.cursor


def refetch_in(wanted: Sequence[tuple[str, RecordWanted]]) -> Intake:
    """Reads whole the records partial changes named and the hub has never seen, from the
    sources whose adapters can (a configured base URL); (system, record) pairs."""
    result = Intake()
    for system, record in wanted:
        adapter = registry().get(system)
        refetch = getattr(adapter, "refetch", None)
        if adapter is None or refetch is None:
            continue
        config = config_for(system)
        request = refetch(record, config=config)
        if request is None:
            continue
        resolve_fetches(adapter, Mapped(fetches=[request]), config, result)
    return result


def _resume_from(mapped: Mapped, cursor: str | None) -> Mapped:
    """Gives the saved cursor to the fetches that ask for it and name no page of their own:
    a notified drive's delta run continues from the last deltaLink instead of listing the
    drive again (the adapter uses it only if it belongs to the same resource)."""
    if not cursor:
        return mapped
    fetches = [
        replace(f, hint={**f.hint, "cursor": cursor})
        if f.hint.get(RESUMES_FROM_CURSOR) and not f.url and "cursor" not in f.hint
        else f
        for f in mapped.fetches
    ]
    return replace(mapped, fetches=fetches)


def record_fetch_failures(
    app: HubApplication, system: str, failures: Sequence[tuple[FetchRequest, AdapterError]]
) -> list[UUID]:
    """Opens an exception case per failed fetch (FETCH_FAILED), so a person can retry it."""
    cases = []
    for request, error in failures:
        key = (
            f"fetch:{system}:{request.tenant}:{request.kind}:{request.id}:"
            f"{datetime.now(UTC).isoformat()}"
        )
        case = ExceptionCase.open(
            message_id=key,
            reason=error.reason,
            rule="fetch",
            system=system,
            detail=f"{request.kind} {request.id}: {error.message}",
            subject=f"{system}:{request.kind}:{request.id}",
            legal_entity=config_for(system).legal_entity or "",  # routes the case
            retry_with=fetch_to_retry(system, request),
        )
        cases.append(case)
    if cases:
        app.record(*cases, meta=EventMeta(system=system, actor=f"adapter:{system}"))  # type: ignore[arg-type]
    return [case.id for case in cases]


def fetch_to_retry(system: str, request: FetchRequest) -> dict[str, Any]:
    """The request a failed fetch's case keeps, so a retry runs it again (its hint only where
    it is plain JSON: the event log stores it)."""
    try:
        hint = json.loads(json.dumps(dict(request.hint)))
    except (TypeError, ValueError):
        hint = {}
    return {
        "system": system,
        "kind": request.kind,
        "id": request.id,
        "tenant": request.tenant,
        "url": request.url,
        "hint": hint,
    }


def save_cursor(app: HubApplication, system: str, tenant: str, cursor: str | None) -> None:
    if cursor is None:
        return
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        conn.execute(
            SQL(
                "INSERT INTO {} (system, tenant, cursor, updated_at) VALUES (%s, %s, %s, now()) "
                "ON CONFLICT (system, tenant) DO UPDATE SET cursor = EXCLUDED.cursor, "
                "updated_at = now()"
            ).format(Identifier(datastore.schema, "hub_adapter_state")),
            (system, tenant, cursor),
        )


def load_cursor(app: HubApplication, system: str, tenant: str) -> str | None:
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        row = conn.execute(
            SQL("SELECT cursor FROM {} WHERE system = %s AND tenant = %s").format(
                Identifier(datastore.schema, "hub_adapter_state")
            ),
            (system, tenant),
        ).fetchone()
    return None if row is None else row["cursor"]


def reconcile(
    app: HubApplication,
    system: str,
    tenant: str,
    listings: Mapping[tuple[str, str], frozenset[str]],
    window: tuple[date, date] | None,
) -> list[ChangeEnvelope]:
    """Deletions for records the hub holds but a complete source listing no longer has.

    Sources that never report deletes (Harvest) list a window completely; a record of the
    window missing from that listing was deleted at its source.
    """
    from domain.base import CanonicalAggregate  # noqa: PLC0415 (only reconciliation needs it)

    datastore = app.hub_recorder.datastore
    deletions = []
    now = datetime.now(UTC)
    for (entity, source_type), present in listings.items():
        prefix = f"xref:{system}|{tenant}|{source_type.lower()}|"
        with datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT key, owner_id FROM {} WHERE key LIKE %s").format(
                    Identifier(datastore.schema, "hub_claims")
                ),
                (like_literal(prefix) + "%",),
            ).fetchall()
        for row in rows:
            source_id = row["key"][len(prefix) :]
            if source_id in present:
                continue
            aggregate = app.find(row["owner_id"], CanonicalAggregate)
            if aggregate is None or aggregate.deleted:
                continue
            attribute = WINDOW_DATES.get(entity)
            if attribute and window is not None:
                day = getattr(aggregate, attribute, None)
                if day is None or not window[0] <= day <= window[1]:
                    continue
            deletions.append(
                ChangeEnvelope(
                    specversion="1.0",
                    id=message_id(
                        system,
                        "reconciliation",
                        tenant,
                        source_type,
                        source_id,
                        now.date().isoformat(),
                    ),
                    source=f"/{system}/{tenant or 'default'}",
                    type=change_type(entity, deleted=True),
                    subject=source_id,
                    time=now,
                    tenant=tenant,
                    sourcetype=source_type,
                    data=Deletion(id=source_id, reason="reconciliation").model_dump(),
                )
            )
    return deletions


def adapter_window(config: AdapterConfig) -> tuple[date, date] | None:
    """The reconciliation window an adapter's settings give (reconcile_from, reconcile_to)."""
    start = config.extra.get("reconcile_from")
    if not start:
        return None
    end = config.extra.get("reconcile_to")
    return date.fromisoformat(start), date.fromisoformat(end) if end else date.max


def describe(events: Sequence[ChangeEnvelope]) -> dict[str, Any]:
    return {"message_ids": [e.id for e in events]}
