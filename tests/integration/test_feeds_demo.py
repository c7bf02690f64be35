"""What a newcomer sees after `pshub demo` and `pshub serve`: the demo firm's feeds published on
feed.* with no connector configured, and their state in GET /v1/projections and /metrics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from psycopg.sql import SQL

from domain.billing_run import BillingRun, run_id
from hub.demo import DemoSpec, load_demo
from hub.demo.billing_runs import PERIOD
from hub.settings import Settings
from projections.feeds.view import FeedView
from tests.support.feeding import read_stream, until
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub


def test_the_demo_firm_is_published_on_each_feed(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for target in ("NETSUITE", "HARVEST", "QUICKBOOKS", "XERO", "SHAREPOINT"):
        monkeypatch.delenv(f"PSHUB_FEED_{target}_BASE_URL", raising=False)
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")  # as `make run` serves it
    with running_hub(settings, make_database, nats_url) as running:
        summary = load_demo(running.hub.app, DemoSpec(seed=7, scale=0.05), progress=False)
        head = running.hub.app.hub_recorder.select_head()[0]
        reader = running.token("read")

        def feeds() -> dict[str, dict]:
            answer = running.api.get("/v1/projections", headers=reader)
            assert answer.status_code == 200, answer.text
            return {i["name"]: i for i in answer.json()["items"] if i["name"].startswith("feed.")}

        states: dict[str, dict] = {}

        def settled() -> bool:  # the processes beside the feeds may still record events
            states.update(feeds())
            return all(f["position"] >= head and f["lag"] == 0 for f in states.values())

        until(settled, timeout=120)
        assert {"feed.netsuite", "feed.harvest"} <= set(states)
        for state in states.values():
            assert state["running"] and not state["connector"]
            assert state["error"] is None
        netsuite = states["feed.netsuite"]["backlog"]
        until(lambda: all(f["backlog"]["unpublished"] == 0 for f in feeds().values()))

        prefix = running.hub.streams.prefix
        messages = read_stream(running.nats_url, running.hub.streams.feeds)
        subjects = [s.removeprefix(prefix) for s, _, _ in messages]
        # Every NetSuite item is published but the held ones (work no card prices), which
        # never go out as they stand.
        published = [s for s in subjects if s.startswith("feed.netsuite.")]
        assert len(published) == netsuite["pending"]
        for entity in ("customer", "job", "employee", "timebill", "expenseReport"):
            assert f"feed.netsuite.{entity}" in published, entity
        for subject, event, headers in messages:
            assert event["type"] == f"pshub.{subject.removeprefix(prefix)}.v1"
            assert headers["Nats-Msg-Id"] == event["id"]
        assert len({e["id"] for _, e, _ in messages}) == len(messages), "each item once"
        metrics = running.api.get("/metrics").text
        assert 'pshub_feed_backlog{target="netsuite"}' in metrics
        _work_is_priced_in_its_engagements_currency(running, states)
        _billing_runs_are_visible(running, summary.billed, messages, head)


def _work_is_priced_in_its_engagements_currency(running: Running, states: dict) -> None:
    """The demo firm keeps a rate card per currency: every job's time finds a line in its own
    currency, so no feed holds demo work as priced in another one (RATE_MISMATCH)."""
    for target in ("netsuite", "harvest"):
        generation = states[f"feed.{target}"]["generation"]
        view = FeedView(running.hub.app.hub_recorder.datastore, target, generation=generation)
        with view.datastore.get_connection() as conn:
            held = conn.execute(
                SQL("SELECT entity, last_error FROM {} WHERE state = 'held'").format(view.outbox)
            ).fetchall()
        mismatched = [r for r in held if str(r["last_error"]).startswith("RATE_MISMATCH")]
        assert mismatched == [], (target, len(mismatched), mismatched[:2])


def _billing_runs_are_visible(
    running: Running, billed: dict[str, UUID], messages: list[Any], head: int
) -> None:
    """March's demo runs: in each engagement's financials, and their drafts on the billing
    feeds (PSHUB_BILLING_INVOICES=runs)."""
    assert {"fixed_fee", "retainer"} <= set(billed)
    confidential = running.token("read", "read:confidential")
    drafts_on_feed = {
        event["subject"] for subject, event, _ in messages if subject.endswith(".invoice_draft")
    }
    for engagement_id in billed.values():
        runs = running.hub.app.get(run_id(engagement_id, PERIOD), BillingRun)
        answer = running.api.get(
            f"/v1/engagements/{engagement_id}/financials",
            params={"min_position": str(head)},
            headers=confidential,
        )
        assert answer.status_code == 200, answer.text
        by_currency = {c["currency"]: c["billing_runs"] for c in answer.json()["currencies"]}
        for draft in runs.drafts:
            drafted = Decimal(by_currency[draft["currency"]]["drafted"]["amount"])
            assert drafted == Decimal(draft["total"])
            assert draft["invoice_id"] in drafts_on_feed


def test_the_demo_firm_goes_through_quote_to_cash_where_provisioning_runs(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `make run` serves it (the embedded store runs provisioning): the won engagements are
    provisioned, the showcase won deal awaiting its legal entity is blocked with its case in
    the queue, and its project is held back by the feeds."""
    for target in ("NETSUITE", "HARVEST", "QUICKBOOKS", "XERO", "SHAREPOINT"):
        monkeypatch.delenv(f"PSHUB_FEED_{target}_BASE_URL", raising=False)
    run = "ingest,projections,relay,pollers,feeds,provisioning"
    with running_hub(settings, make_database, nats_url, run=run) as running:
        summary = load_demo(running.hub.app, DemoSpec(seed=7, scale=0.05), progress=False)
        blocked, ready = (
            summary.examples[k] for k in ("blocked_engagement", "provisioned_engagement")
        )
        head = running.hub.app.hub_recorder.select_head()[0]
        reader = running.token("read")

        def status() -> dict[str, dict]:
            answer = running.api.get("/v1/projections", headers=reader)
            assert answer.status_code == 200, answer.text
            return {i["name"]: i for i in answer.json()["items"]}

        # The process's own events move the head: wait for every part to settle past it.
        until(lambda: status()["quote_to_cash"]["position"] >= head, timeout=120)
        settled = running.hub.app.hub_recorder.select_head()[0]
        until(lambda: all(i["position"] >= settled for i in status().values()), timeout=120)

        def provisioning(engagement_id: object) -> dict:
            answer = running.api.get(
                f"/v1/engagements/{engagement_id}/provisioning", headers=reader
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        stuck = provisioning(blocked)
        assert stuck["state"] == "blocked"
        assert [(f["field"], f["reason"]) for f in stuck["failed_checks"]] == [
            ("legal_entity", "INCOMPLETE_RECORD")
        ]
        done = provisioning(ready)
        # No connector configured: no target to wait for, ready when the checks pass.
        assert (done["state"], done["targets"], done["lead_time_seconds"]) == ("ready", [], 0.0)
        counts = status()["quote_to_cash"]["provisioning"]
        assert counts["blocked"] == 1 and counts["ready"] >= 1, counts
        cases = running.api.get(
            "/v1/exceptions", params={"reason": "INCOMPLETE_RECORD", "limit": 500}, headers=reader
        ).json()["items"]
        [case] = [c for c in cases if c["message_id"] == f"provisioning:{blocked}"]
        assert (case["subject"], case["status"]) == ("legal_entity", "open")

        # The feeds: the blocked engagement's job is held (beside any work no card prices),
        # the provisioned ones published.
        generation = status()["feed.netsuite"]["generation"]
        view = FeedView(running.hub.app.hub_recorder.datastore, "netsuite", generation=generation)
        with view.datastore.get_connection() as conn:
            held = conn.execute(
                SQL("SELECT entity, canonical_id, last_error FROM {} WHERE state = 'held'").format(
                    view.outbox
                )
            ).fetchall()
        assert [str(r["canonical_id"]) for r in held if r["entity"] == "job"] == [str(blocked)]
        assert all(r["last_error"] for r in held if r["entity"] != "job")
        until(lambda: status()["feed.netsuite"]["backlog"]["unpublished"] == 0)
        jobs = [
            e for s, e, _ in read_stream(running.nats_url, running.hub.streams.feeds)
            if s.endswith("feed.netsuite.job")
        ]  # fmt: skip
        assert jobs and not [e for e in jobs if str(blocked) in str(e)]
        assert [e for e in jobs if str(ready) in str(e)]
