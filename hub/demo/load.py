"""Recording the demo plan: batches of whole aggregates, one transaction each, with progress."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from psycopg.sql import SQL, Identifier
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from domain.base import CanonicalAggregate
from domain.registry import COLLECTIONS
from hub.application import HubApplication
from hub.demo.billing_runs import run_demo_billing
from hub.demo.catalog import AS_OF, FIRM
from hub.demo.plan import DemoPlan, first_record_id, plan_demo
from hub.demo.script import ENTITY_ORDER, DemoSpec
from hub.demo.stewardship import run_stewardship
from hub.settings import Settings
from hub.store.recorder import EventMeta

# Aggregates per transaction: a few thousand events, well under a second each.
BATCH_SIZE = 400
SYSTEM = "demo"
ACTOR = "pshub demo"
EXAMPLES = {
    "client": "the client of that engagement (contacts are PII)",
    "engagement": "an engagement with monthly T&M invoices",
    "time_entry": "a billed time entry, corrected afterwards (reversal + new fact)",
    "invoice": "the invoice a credit note was raised against for that correction",
}


class DemoError(Exception):
    """The demo cannot be loaded into this store (another demo firm is there)."""


@dataclass(frozen=True)
class DemoSummary:
    """What a `pshub demo` run found and recorded, and where to look next."""

    spec: DemoSpec
    counts: dict[str, int]
    events: int
    already_loaded: bool
    seconds: float
    examples: dict[str, UUID] = field(default_factory=dict)
    # Contract type -> the engagement the demo ran March's billing for.
    billed: dict[str, UUID] = field(default_factory=dict)

    def describe(self, settings: Settings) -> str:
        """Returns the counts and the next steps, for the terminal."""
        what = f"{FIRM} (seed {self.spec.seed}, scale {self.spec.scale:g})"
        if self.already_loaded:
            head = f"The demo firm {what} is already in this store: nothing was recorded."
        else:
            records = sum(self.counts.values())
            head = (
                f"Loaded the demo firm {what}: {records:,} records, {self.events:,} events "
                f"in {self.seconds:.1f} s."
            )
        width = max(len(e) for e in self.counts) + 2 if self.counts else 0
        rows = [
            f"  {COLLECTIONS[entity].replace('-', ' '):<{width}}{count:>7,}"
            for entity, count in self.counts.items()
        ]
        base = f"http://{settings.host}:{settings.port}"
        if settings.database_url:
            how = "pshub tokens create --name demo --scopes read,read:pii,read:confidential"
        else:
            how = "pshub serve prints one (embedded store)"
        lines = [head, "", *rows, "", "Next:"]
        lines += [
            "  pshub serve                 (make run: demo, then serve)",
            f"  {base}/docs",
            f"  a token: {how}",
        ]
        lines.append("  links to customers no system feeds (one mapped by a steward):")
        lines.append(f'    curl -H "Authorization: Bearer $TOKEN" {base}/v1/unresolved-links')
        for entity, label in EXAMPLES.items():
            if entity in self.examples:
                url = f"{base}/v1/{COLLECTIONS[entity]}/{self.examples[entity]}"
                lines.append(f"  {label}:")
                lines.append(f'    curl -H "Authorization: Bearer $TOKEN" {url}')
        curl = 'curl -H "Authorization: Bearer $TOKEN"'
        if "engagement" in self.examples:
            lines.append("  its financials (WIP, billed, paid, written down, margin):")
            engagement = self.examples["engagement"]
            lines.append(f"    {curl} {base}/v1/engagements/{engagement}/financials")
        if self.billed:
            lines.append("  March's billing runs (drafted, written down, overage) per contract:")
            for kind, engagement in self.billed.items():
                lines.append(f"    {kind}: {curl} {base}/v1/engagements/{engagement}/financials")
        lines.append("  the firm's WIP, and utilization and realization per person and team:")
        for route in ("wip", f"utilization?period={AS_OF:%Y-%m}", "realization"):
            lines.append(f'    {curl} "{base}/v1/metrics/{route}"')
        return "\n".join(lines)


def load_demo(app: HubApplication, spec: DemoSpec, *, progress: bool = True) -> DemoSummary:
    """Records the demo firm of `spec` once; a second load records nothing and says so.

    A load that was interrupted resumes: each batch is one transaction, so the batches whose
    first record is missing are exactly the ones still to record.
    """
    started = time.perf_counter()
    console = Console(stderr=True, quiet=not progress)
    # Before anything else: is this demo (or another) already in the store?
    found = _recorded_spec(app, first_record_id(spec), spec)
    if found is None:
        other = _any_demo(app)
        if other is not None:
            raise DemoError(
                f"this store already holds another demo firm ({other}); load into an empty store"
            )
    elif found != spec:
        return _already_loaded(app, plan_demo(found), started)
    with console.status("Planning the demo firm"):
        plan = plan_demo(spec)
        order = plan.order
        batches = [order[i : i + BATCH_SIZE] for i in range(0, len(order), BATCH_SIZE)]
        if found is not None:
            batches = [b for b in batches if app.find(b[0], CanonicalAggregate) is None]
        if not batches:
            return _already_loaded(app, plan, started)
        built = plan.run()
    events = 0
    with _progress(console, sum(len(b) for b in batches)) as advance:
        for k, batch in enumerate(batches):
            aggregates = [built[i] for i in batch]
            events += sum(len(a.pending_events) for a in aggregates)
            meta = EventMeta(
                system=SYSTEM,
                actor=ACTOR,
                message_id=f"{spec.correlation_id}/batch={k}",
                correlation_id=spec.correlation_id,
            )
            claims = [claim for i in batch for claim in plan.claims[i]]
            app.record(*aggregates, meta=meta, claims=claims)
            advance(plan.entities[batch[-1]], len(batch))
    with console.status("Ingesting invoices of customers never fed, and mapping one"):
        run_stewardship(app, plan.stripe_tenant, plan.steward_client or plan.examples["client"])
    with console.status("Running March's billing: one engagement of each contract type"):
        billed = run_demo_billing(app, built, spec.correlation_id)
    return DemoSummary(
        spec,
        _stored_counts(app, spec),
        events,
        False,
        time.perf_counter() - started,
        plan.examples,
        billed,
    )


@contextlib.contextmanager
def _progress(console: Console, total: int) -> Iterator[Callable[[str, int], None]]:
    columns = (
        TextColumn("recording {task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("", total=total)

        def advance(entity: str, n: int) -> None:
            bar.update(task, advance=n, description=COLLECTIONS[entity].replace("-", " "))

        yield advance


def _already_loaded(app: HubApplication, plan: DemoPlan, started: float) -> DemoSummary:
    # Idempotent: a store loaded before the story existed gets it now, and nothing twice.
    run_stewardship(app, plan.stripe_tenant, plan.steward_client or plan.examples["client"])
    return DemoSummary(
        plan.spec,
        _stored_counts(app, plan.spec),
        0,
        True,
        time.perf_counter() - started,
        plan.examples,
    )


def _events_table(app: HubApplication) -> Identifier:
    recorder = app.hub_recorder
    return Identifier(recorder.datastore.schema, recorder.events_table_name)


def _recorded_spec(app: HubApplication, first: UUID, spec: DemoSpec) -> DemoSpec | None:
    """The spec the demo's first record was recorded under, or None when it is absent."""
    statement = SQL(
        "SELECT correlation_id FROM {} WHERE originator_id = %s AND system = %s "
        "ORDER BY originator_version LIMIT 1"
    ).format(_events_table(app))
    with app.hub_recorder.datastore.get_connection() as conn:
        row = conn.execute(statement, (first, SYSTEM)).fetchone()
    if row is None:
        return None
    # A record of this seed without a readable spec: take it for this very demo.
    return DemoSpec.from_correlation_id(row["correlation_id"] or "") or spec


def _any_demo(app: HubApplication) -> str | None:
    statement = SQL("SELECT correlation_id FROM {} WHERE system = %s LIMIT 1").format(
        _events_table(app)
    )
    with app.hub_recorder.datastore.get_connection() as conn:
        row = conn.execute(statement, (SYSTEM,)).fetchone()
    return None if row is None else str(row["correlation_id"])


def _stored_counts(app: HubApplication, spec: DemoSpec) -> dict[str, int]:
    """Records per entity that this demo's events created, as the store has them."""
    statement = SQL(
        "SELECT entity, count(DISTINCT originator_id) AS n FROM {} "
        "WHERE system = %s AND correlation_id = %s GROUP BY entity"
    ).format(_events_table(app))
    with app.hub_recorder.datastore.get_connection() as conn:
        rows = conn.execute(statement, (SYSTEM, spec.correlation_id)).fetchall()
    counted = {row["entity"]: int(row["n"]) for row in rows}
    return {entity: counted[entity] for entity in ENTITY_ORDER if entity in counted}
