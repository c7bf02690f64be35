"""The hub's configuration: environment variables prefixed PSHUB_, read once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the hub; built once in bootstrap and injected where it is needed."""

    model_config = SettingsConfigDict(env_prefix="PSHUB_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the event store; unset: start an embedded server.",
    )
    nats_url: str | None = Field(
        default=None, description="NATS URL (JetStream enabled); unset: start an embedded server."
    )
    nats_prefix: str = Field(default="", description="Prepended to every stream name and subject.")
    data_dir: Path = Field(
        default=Path("var"), description="Where embedded servers keep their data."
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    port: int = Field(default=8000, description="Port the HTTP API listens on.")
    database_role: str = Field(
        default="pshub_app",
        description="Role the hub appends events through (INSERT and SELECT only); "
        "empty to disable.",
    )
    db_pool_size: int = Field(default=8, description="Connections in the store's pool.")
    aggregate_cache_size: int = Field(
        default=20000, description="Aggregates kept in memory by the write side."
    )
    snapshot_interval: int = Field(
        default=100, description="A snapshot is stored every this many events of an aggregate."
    )
    max_body_bytes: int = Field(
        default=1_048_576, description="Largest request body accepted, in bytes."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    ingest_batch_size: int = Field(
        default=500, description="Most messages applied in one ingest transaction."
    )
    ingest_max_wait: float = Field(
        default=0.05, description="Seconds ingest waits to fill a batch before applying it."
    )
    ingest_ack_wait: float = Field(
        default=30.0,
        description="Seconds before JetStream redelivers a message ingest took but never "
        "acknowledged (after a crash); longer than any batch takes.",
    )
    ingest_max_deliveries: int = Field(
        default=5, description="Deliveries after which a failing message is dead-lettered."
    )
    run: str = Field(
        default="ingest,projections,relay,pollers,feeds",
        description="What `pshub serve` runs beside the API: ingest, projections, relay (the "
        "event log published on events.*), pollers, feeds (each downstream target's feed on "
        "feed.* and its delivery), provisioning (quote-to-cash: won engagements checked, "
        "provisioned on the targets, ready; not run unless named, except with the embedded "
        "store when this is unset) (comma-separated; e.g. one "
        "process for ingest, "
        "another for projections, the relay, the feeds and provisioning).",
    )
    rate_limit: float = Field(
        default=500.0, description="Requests per second each token may make (a token bucket)."
    )
    rate_burst: int = Field(
        default=1000, description="Requests a token may make at once before the rate applies."
    )
    unresolved_grace: timedelta = Field(
        default=timedelta(hours=24),
        description="How long a parked change or an unresolved link may wait for the record "
        "it names before an exception case says so (seconds, or ISO 8601 like PT24H).",
    )
    feed_max_attempts: int = Field(
        default=8,
        description="Deliveries of a feed item a target refuses with a retryable answer (429, "
        "5xx, a timeout) before it becomes an exception case (DOWNSTREAM_TIMEOUT).",
    )
    feed_backoff: float = Field(
        default=1.0,
        description="Seconds before a feed item's second delivery; doubled each time, at most "
        "feed_backoff_cap, never sooner than the target's Retry-After.",
    )
    feed_backoff_cap: float = Field(
        default=300.0, description="Most seconds between two deliveries of a feed item."
    )
    provisioning_timeout: timedelta = Field(
        default=timedelta(hours=1),
        description="How long a target may take to acknowledge a won engagement's provisioning "
        "before a DOWNSTREAM_TIMEOUT case says so (seconds, or ISO 8601 like PT1H).",
    )
    provisioning_targets: str = Field(
        default="",
        description="The targets that must hold a won engagement before it is ready, as "
        "`name` or `name:category` (erp, psa, knowledge), comma-separated; empty: every "
        "enabled feed target that follows engagements and has a connector (a base URL).",
    )
    feeds_await_provisioning: bool | None = Field(
        default=None,
        description="Whether the feeds hold a won engagement's project back until "
        "quote-to-cash has requested its provisioning (every check passed). Unset: where "
        "this process runs provisioning. Set it to true where the feeds run (or are rebuilt) "
        "in a process other than provisioning's.",
    )
    billing_settle_interval: timedelta = Field(
        default=timedelta(seconds=10),
        description="How often the process running the projections settles corrections to "
        "work that billing runs drafted (re-draft, withdraw, or a case where it was issued), "
        "without waiting for the engagement's next run command (seconds, or ISO 8601); 0: "
        "only at run commands.",
    )
    reconcile_interval: timedelta = Field(
        default=timedelta(0),
        description="How often the process running the feeds reconciles every downstream "
        "target with a connector (seconds, or ISO 8601 like PT6H); 0: only on demand "
        "(POST /v1/reconciliation/run).",
    )
    demo_sandbox: bool | None = Field(
        default=None,
        description="Whether `pshub serve` starts the sandbox (hub/sandbox/): in-process "
        "stand-ins for NetSuite, Harvest, QuickBooks, Xero and SharePoint on loopback, with "
        "each feed's connector pointed at them. Unset: only with the embedded store and no "
        "PSHUB_FEED_<TARGET>_BASE_URL (`make run`); false: never (the feeds only publish).",
    )
    demo_sandbox_targets: str = Field(
        default="",
        description="The targets the sandbox stands in for (comma-separated, of netsuite, "
        "harvest, quickbooks, xero, sharepoint); the others' feeds only publish. Empty: the "
        "ERP, PSA and knowledge base a won engagement is provisioned to (netsuite, harvest, "
        "sharepoint), and the billing engines (quickbooks, xero) where they invoice billing "
        "runs (PSHUB_BILLING_INVOICES=runs, as `make run` sets): each billable item of the demo "
        "firm, thousands, would keep them busy for long.",
    )
    rules: str | None = Field(
        default=None,
        description="JSON overriding the matching and survivorship rules (hub/ingest/rules.py).",
    )
    exception_routing: str | None = Field(
        default=None,
        description="JSON routing table giving each exception case its owner by reason and "
        "region or legal entity, tried before the built-in table (hub/exception_routing.py).",
    )
    legal_entities: str | None = Field(
        default=None,
        description='JSON mapping each legal entity to its ISO country, e.g. {"PS-UK-LTD": "GB"}:'
        " the billing-readiness tax check (hub/readiness/entities.py).",
    )
    billing_sync_sla_hours: float = Field(
        default=48.0,
        gt=0,
        description="Hours within which approved billable time should reach the billing engine"
        " (on a billing run's draft the engine acknowledged): the billing-sync SLA metric.",
    )

    @property
    def components(self) -> frozenset[str]:
        parts = frozenset(part.strip() for part in self.run.split(",") if part.strip())
        if not self.database_url and "run" not in self.model_fields_set:
            # The embedded store (`make run`, the demo firm) runs quote-to-cash too: with no
            # connector configured every won engagement is ready at once, and a failed check
            # is a case in the queue. PSHUB_RUN, when set, says exactly what runs.
            parts |= {"provisioning"}
        return parts

    def feeds_await(self, components: frozenset[str] | None = None) -> bool:
        """Whether the feeds wait for provisioning (feeds_await_provisioning), given what
        this process runs (PSHUB_RUN by default)."""
        if self.feeds_await_provisioning is not None:
            return self.feeds_await_provisioning
        return "provisioning" in (self.components if components is None else components)
