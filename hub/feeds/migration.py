"""A system migration of a feed category, as `pshub feeds migrate billing --from quickbooks --to
xero` and POST /v1/feeds/migrate run it.

Under the category's lock (one migration of a category at a time, across processes):
1. the migration is recorded and the system migrated from retired (hub/feeds/assignments.py):
   from then on no process publishes or delivers its feed, so no item goes to both systems;
   in billing, each invoice the system migrated from holds open is carried over (an event on
   the invoice, `carry_over`): the target collects its open balance from now on;
2. the target's feed is rebuilt from position zero beside its live generation and switched to
   (`rebuild_feed`): its outbox is what the target must hold now, and it starts from the
   feed's ledger, so nothing the target already holds is delivered again;
3. where the target's connector is configured, what is pending is delivered at once, until
   nothing is due. When the target does not answer, the rest waits in its backlog (visible in
   GET /v1/projections) and drains as the feed's delivery worker, or the next run, delivers it.
Run again, step 1 records nothing (an invoice is carried once), step 2 is skipped where an
earlier run (or a rebuild) built the feed since the migration was recorded, and step 3 delivers
only what is still pending: the target ends up holding each record once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import psycopg
from eventsourcing.persistence import ProgrammingError
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from domain.errors import DomainError
from domain.invoice import Invoice
from hub.contracts.feeds import Target
from hub.errors import ConflictError
from hub.feeds import assignments
from hub.feeds.delivery import Acknowledge, Backoff, DeliveryWorker
from hub.feeds.registry import connector, enabled, known_targets
from hub.feeds.running import feed_name, feed_view, rebuild_feed
from hub.projecting import GOLDEN, Progress, RebuildRunning, active_generation, new_view
from hub.store.recorder import EventMeta
from projections.feeds.view import PENDING

# The longest wait for an item that is due again soon (one waiting for another it names);
# anything due later is left to the backlog.
PATIENCE = 30.0


class MigrationRefused(ValueError):
    """The migration cannot be made as asked: `field` and `rule` say why. `usage` is True
    where the request itself is wrong (exit 2 on the command line) rather than the hub's
    configuration (exit 1)."""

    def __init__(self, field: str, rule: str, message: str, *, usage: bool = True) -> None:
        super().__init__(message)
        self.field, self.rule, self.usage = field, rule, usage


class MigrationRunning(Exception):
    """Another migration of the category is running (in this process or another)."""


@dataclass
class Outcome:
    category: str
    source: str
    target: str
    changed: bool  # False: the migration was recorded already (a second run)
    migration: assignments.Migration
    generation: int = 0
    position: int = 0
    connector: bool = False
    delivered: int = 0
    backlog: dict[str, Any] = field(default_factory=dict)
    waiting_on: str | None = None  # why the backlog waits: the target's last error
    # Items the system migrated from holds too, under the same key (a billable line that
    # QuickBooks holds as an unsent invoice): to void there, where nothing is ever deleted.
    held_by_both: int = 0
    # The numbers of the open invoices this run carried to the target (none on a second run).
    carried: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "from": self.source,
            "to": self.target,
            "changed": self.changed,
            "migration": self.migration.as_json(),
            "feed": {
                "name": feed_name(self.target),
                "generation": self.generation,
                "position": self.position,
                "connector": self.connector,
            },
            "delivered": self.delivered,
            "backlog": self.backlog,
            "waiting_on": self.waiting_on,
            "held_by_both": self.held_by_both,
            "carried": self.carried,
        }


def systems(category: str) -> list[str]:
    """The systems of a category: its targets, then the source systems without a feed."""
    feeds = [n for n, t in known_targets().items() if t.category == category]
    return feeds + [s for s in assignments.SOURCES.get(category, ()) if s not in feeds]


def check(category: str, source: str, target: str, env: Any = None) -> Target:
    """The target's connector module, or MigrationRefused naming the field and the rule."""
    if category not in assignments.CATEGORIES:
        raise MigrationRefused(
            "category",
            "known_category",
            f"no category {category!r}; categories: {', '.join(assignments.CATEGORIES)}",
        )
    known = systems(category)
    if source not in known:
        raise MigrationRefused(
            "from",
            "system_of_category",
            f"{source!r} is not a system of the {category} category; its systems: "
            + ", ".join(known),
        )
    if target == source:
        raise MigrationRefused(
            "to", "differs_from_from", f"--from and --to are both {source}: nothing to migrate"
        )
    feeds = {n: t for n, t in known_targets().items() if t.category == category}
    if target not in feeds:
        raise MigrationRefused(
            "to",
            "feed_of_category",
            f"{target!r} has no {category} feed; {category} feeds: {', '.join(feeds) or 'none'}",
        )
    if not enabled(target, env):
        raise MigrationRefused(
            "to",
            "feed_enabled",
            f"the {target} feed is disabled: set PSHUB_FEED_{target.upper()}_ENABLED=true "
            "(and its connector) first",
            usage=False,
        )
    return feeds[target]


def migrate(
    app: Any,
    category: str,
    source: str,
    target_name: str,
    *,
    actor: str,
    database_url: str,
    acknowledge: Acknowledge,
    backoff: Backoff,
    env: Any = None,
    progress: Callable[[Progress], None] | None = None,
    grace: float = 3.0,
    await_provisioning: bool = False,
) -> Outcome:
    """Migrates the category (see the module's description); idempotent.
    `await_provisioning` is what the live feeds do (Settings.feeds_await)."""
    target = check(category, source, target_name, env)
    datastore = app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        key = assignments.lock_key(category)
        if not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (key,)).fetchone()["ok"]:
            raise MigrationRunning(f"a migration of {category} is running already")
        try:
            head = app.hub_recorder.select_head()[0]
            migration, changed = assignments.record(
                conn,
                datastore.schema,
                category,
                source,
                target.name,
                head,
                actor,
                _open_invoices(app, source) if category == "billing" else (),
            )
            outcome = Outcome(category, source, target.name, changed, migration)
            # Before the feed is built, so that its rebuild maps the carry-overs too.
            outcome.carried = carry_over(app, migration, actor)
            if changed or not _built_since(conn, datastore.schema, target.name, migration):
                try:
                    built = rebuild_feed(
                        app,
                        feed_name(target.name),
                        progress,
                        await_provisioning=await_provisioning,
                    )
                except RebuildRunning as exc:  # an operator's rebuild switched it meanwhile
                    raise MigrationRunning(f"{exc}: run the migration again") from exc
                outcome.generation, outcome.position = built["generation"], built["position"]
                # Processes running the feed follow the switch within a second; then the old
                # generation goes (as `pshub projections rebuild` does).
                time.sleep(grace)
                feed_view(app, target.name, built["generation"] - 1).drop()
            else:  # an earlier run built it: the feed follows the log from there
                live = feed_view(app, target.name)
                outcome.generation, outcome.position = live.generation, live.position(app.name)
            settings = connector(target.name, env)
            if settings is not None:
                outcome.connector = True
                worker = DeliveryWorker(
                    app,
                    target,
                    settings,
                    lambda: feed_view(app, target.name),
                    database_url=database_url,
                    acknowledge=acknowledge,
                    backoff=backoff,
                )
                outcome.delivered, outcome.waiting_on = _deliver(worker, progress)
            outcome.backlog = feed_view(app, target.name).backlog()
            if source in known_targets():
                outcome.held_by_both = _held_by_both(app, source, target.name)
            return outcome
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def carry_over(app: Any, migration: assignments.Migration, actor: str) -> list[str]:
    """Records on each invoice the system migrated from held open (as the migration kept
    them) that the target collects it from now on (Invoice.carry_over): the target's feed
    gives it the open balance as an invoice under the same number. One paid, voided or
    deleted since is left where it is. Returns the numbers carried now."""
    carried = []
    meta = EventMeta(system="hub", actor=actor, correlation_id=str(migration.id))
    for kept in migration.open_invoices:
        for attempt in range(3):  # ingest may change the invoice meanwhile
            invoice = app.find(UUID(str(kept["id"])), Invoice)
            try:
                if invoice is None or not invoice.carry_over(
                    to_system=migration.target, from_system=migration.source
                ):
                    break
                app.record(invoice, meta=meta)
            except DomainError:
                break  # no longer open: there is nothing to carry
            except ConflictError:
                if attempt == 2:
                    raise
                continue
            carried.append(str(kept["number"]))
            break
    return carried


def _built_since(conn: Any, schema: str, target: str, migration: assignments.Migration) -> bool:
    """Whether the target's feed was rebuilt from the log since the migration was recorded
    (by its first run, or an operator's rebuild): a run that stopped before leaves it not."""
    row = conn.execute(
        SQL("SELECT generation, switched_at FROM {} WHERE name = %s").format(
            Identifier(schema, "hub_projections")
        ),
        (feed_name(target),),
    ).fetchone()
    # (Generation 1 is never a rebuild's: its pointer is made when the feed first runs.)
    return row is not None and row["generation"] > 1 and row["switched_at"] >= migration.migrated_at


def _deliver(
    worker: DeliveryWorker, progress: Callable[[Progress], None] | None
) -> tuple[int, str | None]:
    """Delivers the feed's due items until none is due, or until the target fails to answer
    (one retryable failure: the rest would fail alike, and waits in the backlog)."""
    state = Progress(f"deliver {worker.target.name}", 0, head=_pending(worker), state="delivering")
    with (
        psycopg.connect(worker.database_url, row_factory=dict_row) as conn,
        httpx.Client(timeout=worker.timeout) as client,
    ):
        writer = worker.target.writer(worker.settings, client)
        while True:
            if worker.deliver_one(conn, writer):
                state.events = state.position = worker.outcomes["delivered"]
                if progress is not None:
                    progress(state)
                if worker.outcomes["retry"]:
                    return worker.outcomes["delivered"], _last_error(worker)
                continue
            due_in = _next_due(worker)
            if due_in is None or due_in > PATIENCE:
                break
            time.sleep(max(due_in, 0.01))
    state.state = "delivered"
    if progress is not None:
        progress(state)
    return worker.outcomes["delivered"], None


def _pending(worker: DeliveryWorker) -> int:
    return int(worker.view().backlog()[PENDING])


def _next_due(worker: DeliveryWorker) -> float | None:
    """Seconds until the next pending item is due, or None when nothing is pending."""
    view = worker.view()
    with view.datastore.get_connection() as conn:
        row = conn.execute(
            SQL(
                "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8 AS due "
                "FROM {} WHERE state = 'pending'"
            ).format(view.outbox)
        ).fetchone()
    return None if row["due"] is None else float(row["due"])


def _last_error(worker: DeliveryWorker) -> str | None:
    view = worker.view()
    with view.datastore.get_connection() as conn:
        row = conn.execute(
            SQL(
                "SELECT last_error FROM {} WHERE state = 'pending' AND last_error IS NOT NULL "
                "ORDER BY updated_at DESC LIMIT 1"
            ).format(view.outbox)
        ).fetchone()
    return None if row is None else row["last_error"]


def _held_by_both(app: Any, source: str, target: str) -> int:
    """Items both systems were delivered under the same key (each feed's ledger)."""
    old, new = feed_view(app, source), feed_view(app, target)
    try:
        with new.datastore.get_connection() as conn:
            row = conn.execute(
                SQL(
                    "SELECT count(*) AS n FROM {} o JOIN {} n USING (canonical_id, key) "
                    "WHERE o.delivered_hash IS NOT NULL AND n.delivered_hash IS NOT NULL"
                ).format(old.ledger, new.ledger)
            ).fetchone()
    except (ProgrammingError, psycopg.errors.UndefinedTable):  # never fed from this store
        return 0
    return int(row["n"])


def _open_invoices(app: Any, source: str) -> list[dict[str, Any]]:
    """The invoices the system holds open (issued, not paid nor void), as golden records say:
    their canonical id, number, open balance and the system's own id for them."""
    view = new_view(app, GOLDEN, active_generation(app, GOLDEN))
    try:
        with view.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT DISTINCT ON (g.number, g.id) g.id, g.number, "
                    "g.record -> 'open_balance' AS open_balance, x.tenant, x.source_id "
                    "FROM {} g JOIN {} x ON x.id = g.id AND x.system = %s "
                    "AND x.entity = 'invoice' WHERE g.status = 'issued' AND NOT g.deleted "
                    "ORDER BY g.number, g.id, x.tenant, x.source_id"
                ).format(view.table("invoice"), view.xref_table),
                (source,),
            ).fetchall()
    except (ProgrammingError, psycopg.errors.UndefinedTable):  # no golden records here yet
        return []
    return [
        {
            "id": str(r["id"]),
            "number": r["number"],
            "open_balance": r["open_balance"],
            "xref": {"system": source, "tenant": r["tenant"], "id": r["source_id"]},
        }
        for r in rows
    ]
