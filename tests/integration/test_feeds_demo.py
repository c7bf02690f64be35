"""What a newcomer sees after `pshub demo` and `pshub serve`: the demo firm's feeds published on
feed.* with no connector configured, and their state in GET /v1/projections and /metrics."""

from __future__ import annotations

import pytest

from hub.demo import DemoSpec, load_demo
from hub.settings import Settings
from tests.support.feeding import read_stream, until
from tests.support.hygiene import Databases
from tests.support.running import running_hub


def test_the_demo_firm_is_published_on_each_feed(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for target in ("NETSUITE", "HARVEST", "QUICKBOOKS", "XERO", "SHAREPOINT"):
        monkeypatch.delenv(f"PSHUB_FEED_{target}_BASE_URL", raising=False)
    with running_hub(settings, make_database, nats_url) as running:
        load_demo(running.hub.app, DemoSpec(seed=7, scale=0.05), progress=False)
        head = running.hub.app.hub_recorder.select_head()[0]
        reader = running.token("read")

        def feeds() -> dict[str, dict]:
            answer = running.api.get("/v1/projections", headers=reader)
            assert answer.status_code == 200, answer.text
            return {i["name"]: i for i in answer.json()["items"] if i["name"].startswith("feed.")}

        until(lambda: all(f["position"] == head for f in feeds().values()), timeout=120)
        states = feeds()
        assert {"feed.netsuite", "feed.harvest"} <= set(states)
        for state in states.values():
            assert state["running"] and not state["connector"] and state["lag"] == 0
            assert state["error"] is None
        netsuite = states["feed.netsuite"]["backlog"]
        until(lambda: all(f["backlog"]["unpublished"] == 0 for f in feeds().values()))

        prefix = running.hub.streams.prefix
        messages = read_stream(running.nats_url, running.hub.streams.feeds)
        subjects = [s.removeprefix(prefix) for s, _, _ in messages]
        # Every NetSuite item is published but the held ones (work no card prices in the
        # job's currency), which never go out as they stand.
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
