"""The demo's drift: once the feeds have delivered the demo firm to the sandbox, someone
renames a customer in NetSuite by hand, and a reconciliation pass finds it, so that
GET /v1/reconciliation shows the drift and a DRIFT case waits in the queue for a newcomer to
`retry` (the hub re-feeds the customer; the next pass finds it gone).

Once per sandbox (its state keeps that it was done): a restart does not rename again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from psycopg.sql import SQL

from hub.sandbox.running import Sandbox

log = logging.getLogger(__name__)

TRIGGER = "sandbox"  # the reconciliation run's trigger, as GET /v1/reconciliation shows it
SUFFIX = " (renamed in NetSuite)"


def delivered(hub: Any, sandbox: Sandbox) -> bool:
    """Whether NetSuite has its customers and jobs: it holds customers, and the NetSuite feed
    has caught up with the log and has no customer or job waiting to be delivered. (Not the
    whole backlog: at the demo's scale the cost lines take minutes more; a pass takes what
    arrives meanwhile as in flight, never as drift.)"""
    line = hub.feeds.lines.get("netsuite") if hub.feeds is not None else None
    if line is None or not sandbox.netsuite.records["customer"]:
        return False
    head = hub.app.hub_recorder.select_head()[0]
    [state] = [s for s in hub.feeds.status(head) if s["target"] == "netsuite"]
    if state["lag"] > 0:
        return False
    view = line.current()
    with view.datastore.get_connection() as conn:
        waiting = conn.execute(
            SQL(
                "SELECT count(*) AS n FROM {} WHERE state = 'pending' "
                "AND entity IN ('customer', 'job')"
            ).format(view.outbox)
        ).fetchone()
    return int(waiting["n"] if isinstance(waiting, dict) else waiting[0]) == 0


def rename_a_customer(sandbox: Sandbox) -> str:
    """Renames NetSuite's first customer as a person in NetSuite would; its internal id."""
    netsuite = sandbox.netsuite
    with netsuite.server._lock:  # the server's handlers change the same dicts
        internal = min(netsuite.records["customer"], key=int)
        record = netsuite.records["customer"][internal]
        name = str(record.get("companyName") or "")
        if not name.endswith(SUFFIX):  # (a pass that failed after the rename is tried again)
            record["companyName"] = f"{name}{SUFFIX}"
    return internal


def seed(hub: Any, sandbox: Sandbox, stop: threading.Event, every: float = 1.0) -> None:
    """Waits for the deliveries, makes the drift and runs a pass (a thread's body)."""
    while not stop.wait(every):
        try:
            if not delivered(hub, sandbox):
                continue
            internal = rename_a_customer(sandbox)
            run_id = hub.reconciliation().run(TRIGGER)
            sandbox.drift_seeded = True
            log.info("sandbox: NetSuite customer %s renamed; run %s", internal, run_id)
            return
        except Exception:  # the store busy or another pass running: try again
            log.warning("sandbox drift not made yet; retrying", exc_info=True)


def start_seeding(hub: Any, sandbox: Sandbox) -> threading.Event | None:
    """Starts `seed` in a thread where the sandbox never had its drift; the event stops it."""
    if sandbox.drift_seeded:
        return None
    stop = threading.Event()
    threading.Thread(
        target=seed, args=(hub, sandbox, stop), name="sandbox-drift", daemon=True
    ).start()
    return stop
