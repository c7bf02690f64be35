"""Salesforce CRM: Change Data Capture events (CometD JSON) for Account, Opportunity, Contact."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters.refusals import load_json
from adapters.salesforce import mapping, transport
from hub.contracts.adapters import AdapterConfig, FetchRequest, Mapped, PollResult, RecordWanted


class SalesforceAdapter:
    """Maps CDC events; refetches records for gap events and resyncs on overflow."""

    system = "salesforce"

    def verify_signature(
        self, body: bytes, headers: Mapping[str, str], config: AdapterConfig
    ) -> bool:
        """CDC events are not signed: a configured secret can never match, so it refuses all."""
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
        """Maps one CometD change event (or a Bayeux batch of them)."""
        return mapping.map_message(load_json(body), config=config, tenant=tenant)

    def fetch(
        self, request: FetchRequest, *, client: httpx.Client, config: AdapterConfig
    ) -> Mapped:
        """Refetches a record (gap, incomplete change, deleted Contact) or resyncs a type."""
        return transport.fetch(request, client=client, config=config)

    def refetch(self, record: RecordWanted, *, config: AdapterConfig) -> FetchRequest | None:
        """The read of a whole record a partial change named (None without a base URL)."""
        return mapping.refetch_request(record, config)

    def poll(
        self, *, client: httpx.Client, config: AdapterConfig, cursor: str | None
    ) -> PollResult:
        """Salesforce pushes its changes (CDC): there is nothing to poll."""
        raise NotImplementedError("salesforce pushes Change Data Capture events")


ADAPTER = SalesforceAdapter()
