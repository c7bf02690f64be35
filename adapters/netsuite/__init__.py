"""NetSuite (ERP): REST records for customer (client), job (engagement) and project
milestones; pull-only (no native webhooks)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters.netsuite import mapping, transport
from adapters.refusals import load_json
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult


class NetSuiteAdapter:
    """Maps REST record JSON; polls on lastModifiedDate."""

    system = "netsuite"

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """NetSuite signs nothing it sends: a configured secret refuses everything."""
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
        """Maps one REST record (or {"items": [records]}); `event` may name the record type."""
        return mapping.map_payload(load_json(body), config=config, tenant=tenant, event=event)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Reads one record by REST record type and id; a 404 becomes a tombstone."""
        return transport.fetch(request, client=client, config=config)

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Reads the records modified since the cursor (the newest lastModifiedDate seen)."""
        return transport.poll(client=client, config=config, cursor=cursor)


ADAPTER = NetSuiteAdapter()
