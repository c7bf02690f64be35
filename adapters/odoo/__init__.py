"""Odoo (ERP): JSON-RPC search_read results for res.partner (client), project.project
(engagement) and project.milestone (milestone); pull-only (automation rules may push)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters.odoo import mapping, shapes, transport
from adapters.refusals import load_json
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult


class OdooAdapter:
    """Maps JSON-RPC results and automation-rule webhooks; polls on write_date."""

    system = "odoo"

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """Odoo signs nothing it sends: a configured secret refuses everything."""
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
        """Maps a JSON-RPC search_read or read response, its result list, or one record (as
        those lists hold it, or an automation webhook's); `event` may name the model."""
        ctx = mapping.Context(tenant=config.tenant or tenant or "", config=config)
        return shapes.map_body(load_json(body), ctx, event=event)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Reads one record of a model by id; a record no longer there becomes a tombstone."""
        return transport.fetch(request, client=client, config=config)

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Reads the records written after the cursor, per model, in (write_date, id) order."""
        return transport.poll(client=client, config=config, cursor=cursor)


ADAPTER = OdooAdapter()
