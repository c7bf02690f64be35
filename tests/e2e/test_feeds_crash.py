"""kill -9 of the process delivering the feeds, twice, in the middle of its backlog: the next
process delivers the rest, and each target holds every record exactly once (counted)."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

from domain.engagement import EngagementStatus
from hub.bootstrap import build_application
from hub.sandbox.harvest import Harvest
from hub.sandbox.netsuite import NetSuite
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.feeding import HARVEST_ACCOUNT, NETSUITE_ACCOUNT, until
from tests.support.processes import hub_env, stop, worker

META = EventMeta(system="api", actor="tester", occurred_at=datetime(2026, 3, 2, tzinfo=UTC))
FIRMS = 24


def test_kill_9_of_the_feeds_mid_backlog_creates_nothing_twice(
    settings: Settings, scratch_database: str, stream_prefix: str, nats_url: str
) -> None:
    netsuite, harvest = NetSuite(), Harvest(HARVEST_ACCOUNT)
    netsuite.server.delay = harvest.server.delay = 0.05  # a backlog to be killed in
    netsuite.server.start()
    harvest.server.start()
    env = hub_env(
        scratch_database, nats_url, stream_prefix, run="feeds", feed_backoff="0.05",
        feed_backoff_cap="0.5", feed_netsuite_base_url=netsuite.server.base_url,
        feed_netsuite_token="t", feed_netsuite_tenant=NETSUITE_ACCOUNT,
        feed_harvest_base_url=harvest.server.base_url, feed_harvest_token="t",
        feed_harvest_tenant=HARVEST_ACCOUNT, feed_quickbooks_enabled="false",
        feed_xero_enabled="false", feed_sharepoint_enabled="false",
    )  # fmt: skip
    app = build_application(settings.model_copy(update={"database_url": scratch_database}),
                            scratch_database)  # fmt: skip
    procs, clients = [], []
    try:
        for n in range(FIRMS):
            client, _ = app.register_client(
                legal_name=f"Firm {n:02d} AS", country="NO", billing_currency="NOK", meta=META
            )
            clients.append(client.id)
            app.create_engagement(
                client_id=client.id, code=f"F-{n:03d}", name=f"Firm {n:02d} project",
                currency="NOK", status=EngagementStatus.WON, meta=META,
            )  # fmt: skip
        for kill_after in (10, 30):
            procs.append(worker(env, "feeds"))
            until(lambda n=kill_after: _total(netsuite, harvest) >= n, timeout=60)
            os.kill(procs[-1].pid, signal.SIGKILL)  # mid-delivery: no shutdown at all
            procs[-1].wait(30)
        assert _total(netsuite, harvest) < 4 * FIRMS, "killed before the end of the backlog"
        procs.append(worker(env, "feeds"))
        until(lambda: _total(netsuite, harvest) >= 4 * FIRMS, timeout=120, what="all delivered")
        time.sleep(1.0)  # anything delivered twice would show now
        assert dict(netsuite.created) == {"customer": FIRMS, "job": FIRMS}
        assert dict(harvest.created) == {"clients": FIRMS, "projects": FIRMS}
        names = [c["name"] for c in harvest.records["clients"].values()]
        assert len(set(names)) == FIRMS
        # Every delivery acknowledged once into the log, whichever process delivered it.
        until(lambda: all(_acknowledged(app, c) for c in clients), timeout=60)
    finally:
        stop(*procs)
        app.close()
        netsuite.server.stop()
        harvest.server.stop()


def _total(netsuite: NetSuite, harvest: Harvest) -> int:
    return sum(netsuite.created.values()) + sum(harvest.created.values())


def _acknowledged(app: object, client_id: object) -> bool:
    app.evict(client_id)  # type: ignore[attr-defined]  # written by the worker process
    refs = [(x.system, x.type) for x in app.find_any(client_id).xrefs]  # type: ignore[attr-defined]
    return sorted(refs) == [("harvest", "Client"), ("netsuite", "customer")]
