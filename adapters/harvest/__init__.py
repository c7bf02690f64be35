"""Harvest v2 (PSA / time): pull-only; clients, projects, users and their billable rates,
time entries, expenses and invoices."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters.harvest import mapping, shapes, transport
from adapters.refusals import load_json
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult


class HarvestAdapter:
    """Maps Harvest list pages; polls with updated_since and lists windows to reconcile."""

    system = "harvest"

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Harvest has no webhooks and signs nothing: a configured secret refuses everything."""
        return not config.signing_secret

    def map_payload(
        self,
        body: bytes,
        *,
        config: AdapterConfig,
        headers: Mapping[str, str] | None = None,
        event: str | None = None,
        tenant: str | None = None,
    ) -> Mapped:
        """Maps one list page as Harvest returns it (the collection from its key), or one
        record as GET /v2/<collection>/{id} returns it (from `event`, else its fields)."""
        ctx = mapping.Context(tenant=config.tenant or tenant or "", config=config)
        return shapes.map_body(load_json(body), ctx, event=event)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Reads one record (or one user's billable rates) and maps it."""
        return transport.fetch(request, client=client, config=config)

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Pages through every collection updated since the cursor (the newest updated_at)."""
        return transport.poll(client=client, config=config, cursor=cursor)


ADAPTER = HarvestAdapter()
