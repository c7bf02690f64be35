"""The one place that builds the application, its store and the API from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from hub import exception_routing
from hub.application import HubApplication
from hub.billing.settling import CorrectionSettler
from hub.demo.catalog import demo_legal_entities
from hub.embedded import EmbeddedNats, EmbeddedPostgres
from hub.feeds.delivery import Backoff
from hub.feeds.running import Feeds, is_feed
from hub.generations import Generations
from hub.ingest.consumer import IngestConsumer, sweep_overdue
from hub.ingest.engine import IngestEngine
from hub.ingest.rules import Rules
from hub.nats_headers import use_fast_headers
from hub.projecting import (
    EXCEPTIONS,
    GOLDEN,
    KINDS,
    METRICS,
    Progress,
    active_generation,
    new_view,
    rebuild,
    runner_of,
    view_of,
)
from hub.queries import Cursors
from hub.quote_to_cash.store import ProvisioningStore
from hub.readiness import entities as readiness_entities
from hub.readiness import retry as readiness_retry
from hub.reconciliation.passes import Reconciler
from hub.reconciliation.store import ReconciliationStore
from hub.relay.relay import EventRelay
from hub.settings import Settings
from hub.store import schema
from hub.streams import Streams, ensure_streams
from projections.exceptions.view import ExceptionsView
from projections.golden_records.view import GoldenRecordsView
from projections.metrics.view import MetricsView
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)


def store_env(database_url: str, settings: Settings) -> dict[str, str]:
    """Translates a PostgreSQL URL into the eventsourcing library's environment."""
    info: dict[str, Any] = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "hub.store.recorder:HubRecorder",
        "POSTGRES_DBNAME": str(info.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "n",
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        # No read per cached hit: a stale copy shows up as a version conflict on save, and
        # the conflict evicts it.
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }


@dataclass
class Hub:
    """What bootstrap builds: the settings, the servers' URLs, the application and broker."""

    settings: Settings
    database_url: str
    nats_url: str
    app: HubApplication
    broker: NatsBroker | None = None
    embedded: list[Any] = field(default_factory=list)
    engine: IngestEngine | None = None
    consumer: IngestConsumer | None = None
    sweeper: asyncio.Task[None] | None = None
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    cursors: Cursors | None = None
    rebuilds: dict[str, Any] = field(default_factory=dict)
    # Where this process's rebuilds stand (GET /v1/projections shows their rate and ETA).
    rebuild_progress: dict[str, Progress] = field(default_factory=dict)
    # The live generation of each projection, followed from the database (a switch made by
    # any process is seen here without a restart).
    generations: Generations | None = None
    _views: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)
    relay: EventRelay | None = None
    feeds: Feeds | None = None
    provisioner: Any = None  # hub.quote_to_cash.service.Provisioner, where it runs here
    # What this process runs (`pshub worker --run`); None: PSHUB_RUN.
    components: frozenset[str] | None = None
    reconciler: Reconciler | None = None
    # Settles corrections to drafted work between run commands (where projections run).
    settler: CorrectionSettler | None = None
    # Reads of golden records on the event loop, with no thread hop (the API's hot path).
    read_pool: AsyncConnectionPool | None = None
    # The downstream systems' stand-ins of the embedded demo (hub/sandbox/), where they run.
    sandbox: Any = None
    _sandbox_drift: Any = None

    async def open_read_pool(self) -> None:
        self.read_pool = AsyncConnectionPool(
            self.database_url,
            min_size=2,
            max_size=self.settings.db_pool_size,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
        )
        await self.read_pool.open()

    async def close_read_pool(self) -> None:
        if self.read_pool is not None:
            await self.read_pool.close()
            self.read_pool = None

    @property
    def runner(self) -> ProjectionRunner | None:
        """The golden records' runner (reads wait on it for min_position)."""
        return self.runners.get(GOLDEN)

    def view(self, name: str) -> Any:
        """The view reads use now: the live generation's, as the database says."""
        generation = (
            self.generations.current(name)
            if self.generations is not None
            else active_generation(self.app, name)
        )
        view = self._views.get((name, generation))
        if view is None:
            view = self._views[(name, generation)] = new_view(self.app, name, generation)
            for key in [k for k in self._views if k[0] == name and k[1] < generation]:
                del self._views[key]
        return view

    @property
    def golden(self) -> GoldenRecordsView:
        return self.view(GOLDEN)  # type: ignore[no-any-return]

    @property
    def exceptions(self) -> ExceptionsView:
        return self.view(EXCEPTIONS)  # type: ignore[no-any-return]

    @property
    def metrics(self) -> MetricsView:
        return self.view(METRICS)  # type: ignore[no-any-return]

    def start_projections(self) -> None:
        """Starts following the log into every projection (a thread each); each runner
        follows a switch to a rebuilt generation on its own."""
        self.runners = {
            name: runner_of(
                self.app, name, view_of(self.app, name), self.database_url, self.generations
            )
            for name in KINDS
        }
        for runner in self.runners.values():
            runner.start()
        every = self.settings.billing_settle_interval.total_seconds()
        if every > 0 and self.settler is None:  # it waits on the metrics these runners fill
            self.settler = CorrectionSettler(self.app, lambda: self.metrics, self.database_url)
            self.settler.schedule(every)

    def ingest_engine(self) -> IngestEngine:
        """The ingest engine (made on first use where this process does not run ingest)."""
        if self.engine is None:
            self.engine = IngestEngine(
                self.app,
                rules=Rules.from_json(self.settings.rules),
                max_bytes=self.settings.max_body_bytes,
            )
        return self.engine

    def rebuild_projection(self, name: str) -> dict[str, Any]:
        """Rebuilds a projection beside the live one, then switches reads to it (in every
        process: the runners and readers follow the pointer in the database)."""
        if is_feed(name):
            return self.feeds_of().rebuild(name)
        done = rebuild(
            self.app,
            name,
            progress=lambda p: self.rebuild_progress.__setitem__(name, p),
            generations=self.generations,
        )
        self.rebuild_progress.pop(name, None)
        return {"name": name, "generation": done.generation, "position": done.position}

    def stop_projections(self) -> None:
        if self.settler is not None:
            self.settler.stop()
            self.settler = None
        for runner in self.runners.values():
            runner.stop()
        self.runners = {}

    def start_relay(self) -> EventRelay:
        """Starts publishing the log on events.* (a thread of its own; it waits for the lease
        while another process relays)."""
        if self.relay is None:
            self.relay = build_relay(self)
            self.relay.start()
        return self.relay

    def feeds_of(self) -> Feeds:
        """The feeds of this hub (not started: `start_feeds` runs them here)."""
        if self.feeds is None:
            self.feeds = Feeds(
                self.app,
                self.database_url,
                self.nats_url,
                self.streams,
                source=relay_source(self.settings.nats_prefix),
                await_provisioning=self.settings.feeds_await(self.components),
                backoff=Backoff(
                    self.settings.feed_max_attempts,
                    self.settings.feed_backoff,
                    self.settings.feed_backoff_cap,
                ),
                # An engine of their own for acknowledgements: ingest's is not shared
                # across threads.
                make_engine=lambda: IngestEngine(
                    self.app,
                    rules=Rules.from_json(self.settings.rules),
                    max_bytes=self.settings.max_body_bytes,
                ),
            )
        return self.feeds

    def start_feeds(self) -> Feeds:
        """Starts each downstream target's feed: its projection, publisher on feed.* and,
        where a connector is configured, its delivery worker (threads of their own)."""
        feeds = self.feeds_of()
        if not feeds.lines:
            feeds.start()
            every = self.settings.reconcile_interval.total_seconds()
            if every > 0:  # the schedule runs beside the feeds it reconciles
                self.reconciliation().schedule(every)
            self._seed_sandbox_drift()
        return feeds

    def _seed_sandbox_drift(self) -> None:
        if self.sandbox is not None:
            from hub.sandbox.drift import start_seeding  # noqa: PLC0415

            self._sandbox_drift = start_seeding(self, self.sandbox)

    def reconciliation(self) -> Reconciler:
        """Reconciliation with the downstream targets (runs on demand, or on a schedule)."""
        if self.reconciler is None:
            self.reconciler = Reconciler(self.app, self.database_url)
        return self.reconciler

    def provisioning(self) -> Any:
        """Quote-to-cash in this hub (not started: `start_provisioning` runs it here)."""
        from hub.quote_to_cash.service import Provisioner, provisioning_targets  # noqa: PLC0415

        if self.provisioner is None:
            self.provisioner = Provisioner(
                self.app,
                database_url=self.database_url,
                targets=provisioning_targets(self.settings.provisioning_targets),
                timeout_seconds=self.settings.provisioning_timeout.total_seconds(),
            )
        return self.provisioner

    def start_provisioning(self) -> Any:
        provisioner = self.provisioning()
        provisioner.start()
        return provisioner

    def stop_provisioning(self) -> None:
        if self.provisioner is not None:
            self.provisioner.stop()
            self.provisioner = None

    def stop_feeds(self) -> None:
        if self.reconciler is not None:
            self.reconciler.stop()
            self.reconciler = None
        if self.feeds is not None:
            self.feeds.stop()

    def stop_relay(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay = None

    @property
    def streams(self) -> Streams:
        return Streams(self.settings.nats_prefix)

    @property
    def js(self) -> JetStreamContext:
        assert self.broker is not None, "connect() first"
        return self.broker.config.connection_state.stream

    async def connect(self, *, ingest: bool = True) -> None:
        """Connects to NATS, creates the streams and starts ingest (the API works without
        NATS; /ready says so)."""
        settings = self.settings
        # Access logs per batch at DEBUG: at INFO they cost the ingest loop real time.
        self.broker = NatsBroker(
            self.nats_url, connect_timeout=3, max_reconnect_attempts=-1, log_level=logging.DEBUG
        )
        try:
            await self.broker.connect()
            use_fast_headers(self.broker.config.connection_state.connection)
            await ensure_streams(self.js, self.streams)
        except Exception:  # a process edge: report, and keep serving reads
            log.warning("NATS at %s is unreachable; /ready will say so", self.nats_url)
            return
        self.engine = self.ingest_engine()
        if ingest:
            self.consumer = IngestConsumer(
                self.engine,
                self.streams,
                batch_size=settings.ingest_batch_size,
                max_wait=settings.ingest_max_wait,
                max_deliveries=settings.ingest_max_deliveries,
                ack_wait=settings.ingest_ack_wait,
            )
            self.consumer.js = self.js
            self.consumer.subscribe(self.broker)
            self.sweeper = asyncio.create_task(
                sweep_overdue(self.engine, settings.unresolved_grace), name="pshub-overdue"
            )
        await self.broker.start()

    async def disconnect(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sweeper
            self.sweeper = None
        if self.consumer is not None:
            await self.consumer.close()
        if self.broker is not None:
            await self.broker.stop()

    async def store_ready(self) -> bool:
        def probe() -> bool:
            with self.app.hub_recorder.datastore.get_connection() as conn:
                conn.execute("SELECT 1")
            return True

        try:
            return await asyncio.wait_for(asyncio.to_thread(probe), timeout=3)
        except Exception:
            return False

    async def nats_ready(self) -> bool:
        if self.broker is None:
            return False
        try:
            return bool(await self.broker.ping(timeout=1))
        except Exception:
            return False

    def close(self) -> None:
        if self._sandbox_drift is not None:
            self._sandbox_drift.set()
        self.stop_provisioning()
        self.stop_feeds()
        self.stop_relay()
        self.stop_projections()
        if self.generations is not None:
            self.generations.stop()
        self.app.close()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        for server in reversed(self.embedded):
            server.stop()
        self.embedded.clear()


def relay_source(prefix: str) -> str:
    """The CloudEvents source of this hub's events: /pshub, or /pshub/<prefix> where several
    hubs share one NATS server."""
    instance = prefix.strip("_.-")
    return f"/pshub/{instance}" if instance else "/pshub"


def build_relay(hub: Hub) -> EventRelay:
    """The relay of this hub's log to its events stream."""
    recorder = hub.app.hub_recorder
    mapper = hub.app.mapper
    if mapper.cipher is not None or mapper.compressor is not None:
        # The relay reads the stored JSON directly (hub/relay/envelope.py).
        raise ValueError("the event relay needs events stored as plain JSON")
    return EventRelay(
        hub.database_url,
        hub.nats_url,
        hub.streams,
        source=relay_source(hub.settings.nats_prefix),
        events_table=recorder.events_table_name,
        channel=recorder.channel_name,
        schema=recorder.datastore.schema,
    )


def resolve_servers(settings: Settings, *, nats: bool = True) -> tuple[str, str, list[Any]]:
    """Returns the database and NATS URLs, starting embedded servers for the unset ones
    (NATS only when asked for: the store-only commands don't need it)."""
    started: list[Any] = []
    database_url, nats_url = settings.database_url, settings.nats_url or ""
    try:
        if not database_url:
            postgres = EmbeddedPostgres(settings.data_dir)
            database_url = postgres.start()
            started.append(postgres)
        if nats and not nats_url:
            nats = EmbeddedNats(settings.data_dir)
            nats_url = nats.start()
            started.append(nats)
    except Exception:
        for server in reversed(started):
            server.stop()
        raise
    return database_url, nats_url, started


def build_hub(settings: Settings) -> Hub:
    """Builds the hub from settings, starting embedded servers where no URL is configured."""
    database_url, nats_url, started = resolve_servers(settings)
    sandbox = start_sandbox(settings)  # before anything reads a connector
    try:
        app = build_application(settings, database_url)
    except Exception:
        if sandbox is not None:
            sandbox.stop()
        for server in reversed(started):
            server.stop()
        raise
    if not settings.database_url and settings.legal_entities is None:
        # The embedded store holds the demo firm (`make run`): where its legal entities are
        # established, for the billing-readiness tax check.
        readiness_entities.configure(demo_legal_entities())
    hub = Hub(settings, database_url, nats_url, app, embedded=started, sandbox=sandbox)
    for name in KINDS:
        view_of(app, name)  # the live generations' tables, made on first use
    hub.generations = Generations(app.hub_recorder.datastore, database_url)
    hub.generations.start()
    return hub


def start_sandbox(settings: Settings) -> Any:
    """The demo's stand-ins for the downstream systems, started and configured as each feed's
    connector, where this hub runs them (hub/sandbox/running.py `wanted`); else None."""
    from hub.sandbox.running import Sandbox, sandboxed, wanted  # noqa: PLC0415

    if not wanted(settings):
        return None
    return Sandbox(settings.data_dir / "sandbox" / "targets.pickle").start(
        sandboxed(settings.demo_sandbox_targets)
    )


def build_application(settings: Settings, database_url: str) -> HubApplication:
    """Builds the application, creating and migrating its tables on first use."""
    # The owners of the cases this process opens (deep inside ingest, which has no settings at
    # hand); a bad table stops the hub before anything starts.
    exception_routing.configure(settings.exception_routing)
    readiness_entities.configure(settings.legal_entities)
    readiness_retry.register()
    app = HubApplication(
        store_env(database_url, settings), snapshot_interval=settings.snapshot_interval
    )
    recorder = app.hub_recorder
    datastore = recorder.datastore
    with datastore.get_connection() as conn:
        schema.apply(
            conn,
            schema=datastore.schema,
            events_table=recorder.events_table_name,
            append_role=settings.database_role or None,
            other_tables=(f"{app.name.lower()}_snapshots",),
        )
    recorder.append_role = settings.database_role or None
    # The provisioning route reads this table wherever quote-to-cash runs (or never ran).
    ProvisioningStore(datastore).create_tables(recorder.append_role)
    ReconciliationStore(datastore).create_tables(recorder.append_role)
    return app
