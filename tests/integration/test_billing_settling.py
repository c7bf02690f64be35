"""Corrections to drafted work settled without a run command, over NATS ingest and
PostgreSQL (hub/billing/settling.py): the process running the projections re-drafts a run's
draft soon after Harvest re-approves its work; a pass is idempotent, and two processes (two
applications, each its own cache) settling at once with a run command record one re-draft.

Every figure is worked out here by hand (billing_run_scenario.value), never by the product.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from domain.billing_run import BillingRun
from hub.billing.settling import LOCK, CorrectionSettler
from hub.bootstrap import build_application
from hub.readiness import entities
from hub.settings import Settings
from projections.metrics.view import MetricsView
from tests.integration import billing_run_scenario as S
from tests.integration.test_billing_corrections import canonical, head, publish, run
from tests.support.feeding import until
from tests.support.running import Running, running_hub

MARCH = {"period_start": "2026-03-01", "period_end": "2026-04-01"}


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Any, nats_url: str) -> Iterator[Running]:
    with running_hub(
        settings,
        make_database,
        nats_url,
        ingest_max_deliveries=3,
        legal_entities=S.LEGAL_ENTITIES,
        billing_settle_interval=timedelta(seconds=0.2),
    ) as running:
        publish(running, *S.parties(), S.engagement("P7"), S.engagement("P8"))
        publish(
            running,
            S.time("T71", "P7", "2026-03-09", "8"),
            S.time("T81", "P8", "2026-03-09", "4"),
        )
        yield running
    entities.configure(None)


def events(running: Running, run_id: str) -> list[Any]:
    return list(running.hub.app.events.get(UUID(run_id)))


def redrafts(running: Running, run_id: str) -> list[Any]:
    return [e for e in events(running, run_id) if type(e).__name__ == "Redrafted"]


def test_a_correction_is_settled_soon_without_a_run_command(firm: Running) -> None:
    first = run(firm, "P7", MARCH)
    [draft] = first["drafts"]
    assert Decimal(draft["total"]) == S.value("8", "100.00")

    publish(firm, S.time("T71", "P7", "2026-03-09", "5", seq=2))
    until(lambda: len(redrafts(firm, first["run_id"])) == 1, what="the draft re-drafted")
    invoice = firm.api.get(
        f"/v1/invoices/{draft['invoice_id']}",
        params={"min_position": str(head(firm))},
        headers=firm.token("read"),
    ).json()
    assert Decimal(invoice["subtotal"]["amount"]) == S.value("5", "100.00")
    recorded = firm.hub.app.find(UUID(first["run_id"]), BillingRun)
    assert recorded is not None
    assert [Decimal(x["amount"]) for x in recorded.drafts[0]["lines"]] == [S.value("5", "100.00")]
    [item] = redrafts(firm, first["run_id"])[0].because
    assert item["id"] == canonical(firm, "TimeEntry", "T71")
    # The run command then has nothing left to settle, and passes after it record nothing.
    again = run(firm, "P7", MARCH, status=200)
    assert again["redrafted"] == [] and again["drafts"] == recorded.drafts
    before = head(firm)
    settler = firm.hub.settler
    assert settler is not None
    until(lambda: settler.run_once() == [], what="a pass with nothing to settle")
    assert head(firm) == before


def test_two_processes_and_a_run_command_settling_at_once_record_one_redraft(
    firm: Running,
) -> None:
    first = run(firm, "P8", MARCH)
    # A second process: its own application (and cache) over the same database.
    other_app = build_application(firm.hub.settings, firm.hub.database_url)
    view = MetricsView(other_app.hub_recorder.datastore, generation=firm.hub.metrics.generation)
    other = CorrectionSettler(other_app, lambda: view, firm.hub.database_url)
    try:
        publish(firm, S.time("T81", "P8", "2026-03-09", "3", seq=2))
        errors: list[BaseException] = []

        def attempt(work: Any) -> None:
            try:
                work()
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=attempt, args=(other.run_once,)),
            threading.Thread(target=attempt, args=(lambda: run(firm, "P8", MARCH, 200),)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        until(lambda: len(redrafts(firm, first["run_id"])) == 1, what="one re-draft")
        assert other.run_once() in ([], None)  # idempotent: nothing more to settle
        assert len(redrafts(firm, first["run_id"])) == 1
        recorded = firm.hub.app.find(UUID(first["run_id"]), BillingRun)
        assert recorded is not None
        assert Decimal(recorded.drafts[0]["total"]) == S.value("3", "100.00")
    finally:
        other_app.close()


def test_a_pass_skips_its_turn_while_another_process_holds_it(firm: Running) -> None:
    settler = firm.hub.settler
    assert settler is not None
    with psycopg.connect(firm.hub.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
        try:
            assert settler.run_once() is None
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
