"""A reconciliation run: for each downstream target with a connector and a reader, what the
hub believes it holds (hub/reconciliation/expected.py) against what it reports (its reader,
through the target's API), compared in domain/reconciliation.py; drift opens DRIFT cases and
drift gone resolves them; the findings and totals go to PostgreSQL
(hub/reconciliation/store.py).

Idempotent: a pass over unchanged systems opens no case and changes no finding. A target that
cannot be read (down, throttled past the retries, refusing), or that lists nothing at all
where the hub expects records, is reported so, and nothing about it changes: its last findings
and cases stay as they were.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from domain.reconciliation import Held, compare
from hub.contracts.feeds import Target
from hub.contracts.reconcile import ReadFailed
from hub.feeds.registry import active_targets, connector
from hub.reconciliation.cases import open_drift, resolve_drift
from hub.reconciliation.expected import hub_side, settled
from hub.reconciliation.store import Busy, ReconciliationStore

log = logging.getLogger(__name__)

PROGRESS_EVERY = 200  # records read between two progress updates


def reconcilable(env: Mapping[str, str] | None = None) -> dict[str, Target]:
    """The targets a pass reads: fed (enabled), with a connector and a reader."""
    return {
        name: target
        for name, target in active_targets(env).items()
        if connector(name, env) is not None and hasattr(target, "reader")
    }


@dataclass
class Reconciler:
    app: Any
    database_url: str
    env: Mapping[str, str] | None = None
    timeout: float = 10.0
    store: ReconciliationStore = field(init=False)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.store = ReconciliationStore(self.app.hub_recorder.datastore)

    # Runs -----------------------------------------------------------------------------------

    def run(self, trigger: str, only: Sequence[str] | None = None) -> UUID:
        """Runs a pass over the targets (all, or `only`) and returns its id; raises Busy."""
        names = self._names(only)
        conn, run_id = self.store.begin(self.database_url, trigger, names)
        self._execute(conn, run_id, names)
        return run_id

    def start(self, trigger: str, only: Sequence[str] | None = None) -> UUID:
        """Begins a run and carries it on in a thread of its own; raises Busy at once."""
        names = self._names(only)
        conn, run_id = self.store.begin(self.database_url, trigger, names)
        thread = threading.Thread(
            target=self._execute, args=(conn, run_id, names), name="reconcile", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        return run_id

    def schedule(self, every_seconds: float) -> None:
        """Runs a pass every `every_seconds` (skipped while another process runs one)."""

        def loop() -> None:
            while not self._stop.wait(every_seconds):
                try:
                    self.run("schedule")
                except Busy:
                    log.info("reconciliation: a run is in progress elsewhere; skipped")
                except Exception:  # a process edge: say so, try again next time
                    log.exception("scheduled reconciliation failed")

        thread = threading.Thread(target=loop, name="reconcile-schedule", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self._threads = []

    def _names(self, only: Sequence[str] | None) -> list[str]:
        names = list(reconcilable(self.env))
        return [n for n in names if n in only] if only is not None else names

    def _execute(self, conn: Any, run_id: UUID, names: list[str]) -> None:
        progress: dict[str, Any] = {"targets": names, "done": [], "current": None, "read": 0}
        summary: dict[str, Any] = {}
        status = "finished"
        try:
            for name in names:
                progress["current"] = name
                self.store.progress(conn, run_id, progress)
                summary[name] = self.reconcile(
                    run_id, name, lambda n: self._read(conn, run_id, progress, n)
                )
                if summary[name]["status"] != "reconciled":
                    status = "incomplete"
                progress["done"].append(name)
            progress["current"] = None
            self.store.progress(conn, run_id, progress)
        except Exception as exc:
            log.exception("reconciliation run %s failed", run_id)
            status = "failed"
            summary["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            self.store.finish(conn, run_id, status, summary)

    def _read(self, conn: Any, run_id: UUID, progress: dict[str, Any], n: int) -> None:
        progress["read"] += n
        self.store.progress(conn, run_id, progress)

    # One target -------------------------------------------------------------------------

    def reconcile(self, run_id: UUID, name: str, read: Callable[[int], None]) -> dict[str, Any]:
        target = active_targets(self.env)[name]
        settings = connector(name, self.env)
        assert settings is not None  # reconcilable() holds only connected targets
        from hub.feeds.running import feed_view  # noqa: PLC0415 (it imports the feeds' world)

        with httpx.Client(timeout=self.timeout) as client:
            reader = target.reader(settings, client)  # type: ignore[attr-defined]
            before = hub_side(feed_view(self.app, name), reader, name, settings.tenant)
            try:
                held = self._held(reader, read)
            except ReadFailed as failed:
                self.store.failed(run_id, name, failed.kind, str(failed))
                log.warning("reconciliation of %s: %s", name, failed)
                return {"status": failed.kind, "error": str(failed)}
        side = settled(before, hub_side(feed_view(self.app, name), reader, name, settings.tenant))
        if not held and side.expected:
            # Nothing at all where the hub had records acknowledged: far likelier a token that
            # sees nothing or the wrong tenant than everything deleted. Not believed: no case
            # storm; a person looks (the last findings stay).
            said = f"{name} listed no records while the hub expects {len(side.expected)}"
            self.store.failed(run_id, name, "empty_listing", said)
            log.warning("reconciliation of %s: %s", name, said)
            return {"status": "empty_listing", "error": said}
        known = frozenset(
            (entity, target_id)
            for entity in reader.entities
            for type_, target_id in side.known
            if type_ in reader.xref_types(entity)
        )
        found = compare(side.expected, held, known=known, in_flight=frozenset(side.in_flight))
        previous = self.store.previous(name)
        drift = [
            (f, open_drift(self.app, name, f, reader.confidential, _case_of(previous, f.identity)))
            for f in found.drifts
        ]
        now = {f.identity for f, _ in drift}
        for identity, row in previous.items():
            if identity not in now and row["case_id"] is not None:
                resolve_drift(self.app, row["case_id"], f"no drift in reconciliation {run_id}")
        totals = found.totals()
        self.store.reconciled(run_id, name, totals, drift, frozenset(reader.confidential))
        return {"status": "reconciled", "drift": totals["drift"]}

    def _held(self, reader: Any, read: Callable[[int], None]) -> list[Held]:
        held: list[Held] = []
        for entity in reader.entities:
            for record in reader.held(entity):
                held.append(record)
                if len(held) % PROGRESS_EVERY == 0:
                    read(PROGRESS_EVERY)
        read(len(held) % PROGRESS_EVERY)
        return held


def _case_of(previous: Mapping[str, Any], identity: str) -> UUID | None:
    row = previous.get(identity)
    return None if row is None else row["case_id"]
