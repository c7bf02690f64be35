"""The NetSuite and Harvest feeds on real PostgreSQL and NATS, delivering to loopback servers
that serve each target's API: what the targets end up holding is counted (created once, after
rate limiting, a rebuild and a restart), acknowledgements become xrefs, the target's echo of the
hub's write changes nothing, one target down holds back only its own backlog, and a refused
item becomes an exception case whose retry delivers it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat

from domain.engagement import EngagementStatus
from hub.bootstrap import build_hub
from hub.cli import main
from hub.feeds.publisher import FEED_ENVELOPE_SCHEMA
from hub.sandbox.netsuite import error
from hub.sandbox.server import Answer, Request
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.support.feeding import (
    HARVEST_ACCOUNT,
    NETSUITE_ACCOUNT,
    Fed,
    fed_hub,
    outbox,
    until,
    writes,
)
from tests.support.hygiene import Databases

META = EventMeta(system="api", actor="tester", occurred_at=datetime(2026, 3, 2, tzinfo=UTC))


def firm(fed: Fed, name: str, code: str) -> tuple[Any, Any]:
    """A client and a won engagement of it, recorded as the commands record them."""
    client, _ = fed.app.register_client(
        legal_name=name, country="NO", billing_currency="NOK", meta=META
    )
    engagement, _ = fed.app.create_engagement(
        client_id=client.id,
        code=code,
        name=f"{name} data platform",
        currency="NOK",
        legal_entity="Nordic Consulting AS",
        start_date=date(2026, 1, 5),
        end_date=date(2026, 12, 18),
        status=EngagementStatus.WON,
        meta=META,
    )
    return client, engagement


def xrefs(fed: Fed, collection: str, record_id: Any) -> set[tuple[str, str, str]]:
    record = fed.running.api.get(
        f"/v1/{collection}/{record_id}", headers=fed.running.token("read")
    ).json()
    return {(x["system"], x["tenant"], x["type"]) for x in record["xrefs"]}


def delivered(fed: Fed, n_clients: int, n_projects: int) -> bool:
    ns, hv = fed.netsuite.created, fed.harvest.created
    return (ns["customer"], ns["job"], hv["clients"], hv["projects"]) == (
        n_clients,
        n_projects,
        n_clients,
        n_projects,
    )


def acknowledged(fed: Fed, client: Any, engagement: Any) -> bool:
    return {("netsuite", NETSUITE_ACCOUNT, "customer"), ("harvest", HARVEST_ACCOUNT, "Client")} <= (
        xrefs(fed, "clients", client.id)
    ) and {("netsuite", NETSUITE_ACCOUNT, "job"), ("harvest", HARVEST_ACCOUNT, "Project")} <= (
        xrefs(fed, "engagements", engagement.id)
    )


def test_feeds_deliver_once_acknowledge_and_recognise_the_echo(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        # Each target rate-limits the first request: Retry-After is honoured, nothing is lost.
        fed.netsuite.server.injected.append(
            Answer(
                429, {"o:errorDetails": [{"detail": "Concurrency limit"}]}, {"Retry-After": "0.3"}
            )
        )
        fed.harvest.server.injected.append(
            Answer(429, {"message": "slow down"}, {"Retry-After": "0.3"})
        )
        client, engagement = firm(fed, "Fjord Analytics AS", "FJ-001")
        until(lambda: delivered(fed, 1, 1), what="a customer, a job, a client and a project")
        until(lambda: acknowledged(fed, client, engagement), what="the acknowledgements as xrefs")

        [customer] = fed.netsuite.records["customer"].values()
        [job] = fed.netsuite.records["job"].values()
        assert customer["companyName"] == "Fjord Analytics AS"
        assert customer["externalId"] == f"pshub-{client.id}"
        assert job["parent"] == {"id": customer["id"]}  # the customer's internal id, resolved
        assert job["entityId"] == "FJ-001"
        assert job["subsidiary"] == {"refName": "Nordic Consulting AS"}
        assert job["currency"] == {"refName": "NOK"}
        assert job["startDate"] == "2026-01-05"
        [harvest_client] = fed.harvest.records["clients"].values()
        [project] = fed.harvest.records["projects"].values()
        assert project["client_id"] == harvest_client["id"]
        assert (project["code"], project["bill_by"], project["budget_by"]) == (
            "FJ-001",
            "none",
            "none",
        )
        assert any(r.method == "GET" for r in fed.harvest.server.requests), (
            "Harvest takes no idempotency key: the writer looks before it creates"
        )

        # The acknowledgement is the target's id as an xref: the xref route finds the record.
        found = fed.running.api.get(
            f"/v1/xref/netsuite/customer/{customer['id']}",
            params={"tenant": NETSUITE_ACCOUNT},
            headers=fed.running.token("read"),
        )
        assert found.status_code == 200 and found.json()["id"] == str(client.id)

        # Each item is published once on feed.<target>.<entity> as a CloudEvent.
        messages = until(lambda: len(fed.feed_messages()) >= 4 and fed.feed_messages())
        prefix = fed.running.hub.streams.prefix
        subjects = sorted(s.removeprefix(prefix) for s, _, _ in messages)
        assert subjects == [
            "feed.harvest.client",
            "feed.harvest.project",
            "feed.netsuite.customer",
            "feed.netsuite.job",
        ]
        for subject, event, headers in messages:
            assert event["type"] == f"pshub.{subject.removeprefix(prefix)}.v1"
            assert headers["Nats-Msg-Id"] == event["id"]
            assert event["subject"] in (str(client.id), str(engagement.id))
            assert set(FEED_ENVELOPE_SCHEMA["required"]) <= set(event)
            assert set(event) <= set(FEED_ENVELOPE_SCHEMA["properties"])
            parsed = JSONFormat().read(None, json.dumps(event).encode())  # a CloudEvent 1.0
            assert parsed.get_type() == event["type"]
        document = fed.running.api.get("/asyncapi.json").json()
        assert any(c.endswith("feed.{target}.{entity}") for c in document["channels"])

        # Harvest's own change for the client comes back through ingest (its poll or a
        # posted page): it lands on the same golden record and changes nothing.
        version = fed.app.find_any(client.id).version
        page = fed.harvest.server.handle  # what GET /v2/clients answers now
        listed = page(
            Request("GET", "/v2/clients", {}, {"harvest-account-id": HARVEST_ACCOUNT}, b"")
        )
        answer = fed.running.webhook(
            "harvest", json.dumps(listed.body).encode(), params={"tenant": HARVEST_ACCOUNT}
        )
        assert answer.status_code == 202, answer.text
        [outcome] = fed.running.settle(answer.json()["message_ids"])
        assert outcome["canonical_ids"] == [str(client.id)], outcome
        assert fed.app.find_any(client.id).version == version, "the echo recorded a change"

        # A rebuild of each feed from position zero, and a restart of the feeds, deliver and
        # publish nothing again.
        before_writes, before_messages = writes(fed), len(fed.feed_messages())
        live = {t: outbox(fed, t, 1) for t in ("netsuite", "harvest")}
        operator = fed.running.token("operate")
        for name in ("feed.netsuite", "feed.harvest"):
            assert (
                fed.running.api.post(
                    f"/v1/projections/{name}/rebuild", headers=operator
                ).status_code
                == 202
            )
        until(lambda: all(fed.feed_state(t)["generation"] == 2 for t in ("netsuite", "harvest")))
        fed.running.hub.stop_feeds()
        fed.running.hub.start_feeds()
        head = fed.app.hub_recorder.select_head()[0]
        until(lambda: all(fed.feed_state(t)["position"] == head for t in ("netsuite", "harvest")))
        for target in ("netsuite", "harvest"):
            state = fed.feed_state(target)
            assert state["backlog"]["pending"] == 0 and state["backlog"]["delivered"] == 2, state
        for target, rows in live.items():
            assert outbox(fed, target, 2) == rows, "the rebuilt outbox is the live one, row by row"
        assert writes(fed) == before_writes
        assert len(fed.feed_messages()) == before_messages
        assert delivered(fed, 1, 1)

        # A change the targets hold goes to the same records: updated, not created again.
        client_now = fed.app.find_any(client.id)
        client_now.revise(trading_name="Fjord")
        fed.app.record(client_now, meta=META)
        until(lambda: customer.get("altName") == "Fjord", what="the customer updated")
        assert delivered(fed, 1, 1)

        # Deleted at its source: inactive where the targets hold it, never deleted there.
        client_now = fed.app.find_any(client.id)
        client_now.delete()
        fed.app.record(client_now, meta=META)
        until(lambda: customer.get("isInactive") is True, what="the customer made inactive")
        until(lambda: harvest_client.get("is_active") is False, what="the client archived")
        assert delivered(fed, 1, 1)


def test_one_target_down_holds_back_only_its_own_backlog(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch, feed_max_attempts=1000) as fed:
        # NetSuite answers 503 to everything: Harvest is fed all the same, and so is the log.
        fed.netsuite.server.down = True
        firm(fed, "Baltic Freight AB", "BF-001")
        until(
            lambda: fed.harvest.created["projects"] == 1, what="Harvest fed while NetSuite is down"
        )
        until(lambda: fed.feed_state("netsuite")["backlog"].get("pending") == 2)
        assert fed.netsuite.created == {}
        state = fed.feed_state("netsuite")
        assert state["lag"] == 0, "the feed follows the log; only delivery waits"
        fed.app.register_client(
            legal_name="Nordhavn Shipping A/S", country="DK", billing_currency="DKK", meta=META
        )
        until(lambda: fed.harvest.created["clients"] == 2)
        metrics = fed.running.api.get("/metrics").text
        assert 'pshub_feed_backlog{target="netsuite"} 3.0' in metrics
        assert 'pshub_feed_deliveries_total{outcome="retry",target="netsuite"}' in metrics
        assert fed.feed_state("netsuite")["backlog"]["oldest_pending_seconds"] > 0
        assert 'pshub_feed_backlog_age_seconds{target="netsuite"}' in metrics

        # NetSuite returns: its backlog drains, each record created once.
        fed.netsuite.server.down = False
        until(lambda: fed.netsuite.created == {"customer": 2, "job": 1}, what="the backlog drained")
        until(lambda: fed.feed_state("netsuite")["backlog"].get("pending") == 0)

        # Harvest stops listening (connections refused) while NetSuite flows; then it comes
        # back on the same address and its backlog drains.
        fed.harvest.server.stop()
        fed.app.register_client(
            legal_name="Vistula Data Sp. z o.o.", country="PL", billing_currency="PLN", meta=META
        )
        until(lambda: fed.netsuite.created["customer"] == 3)
        until(lambda: fed.feed_state("harvest")["backlog"].get("pending") == 1)
        fed.harvest.server.start()
        until(lambda: fed.harvest.created["clients"] == 3, what="the Harvest backlog drained")
        assert fed.harvest.created == {"clients": 3, "projects": 1}
        assert fed.netsuite.created == {"customer": 3, "job": 1}


def test_a_refused_item_becomes_a_case_and_its_retry_delivers_it(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        # The payload's fault (400 with NetSuite's o:errorDetails): not retried, a case at once.
        fed.netsuite.server.injected.append(
            error(400, "Invalid currency reference key NOK for subsidiary 1.", "INVALID_KEY")
        )
        client, _ = firm(fed, "Tatra Advisory s.r.o.", "TA-001")
        until(lambda: fed.feed_state("netsuite")["backlog"].get("failed") == 1)
        operator, reader = fed.running.token("operate"), fed.running.token("read")
        cases = until(
            lambda: fed.running.api.get(
                "/v1/exceptions", params={"system": "netsuite"}, headers=reader
            ).json()["items"]
        )
        [case] = cases
        assert (case["reason"], case["owner"], case["status"]) == (
            "DOWNSTREAM_REJECTED",
            "integration",
            "open",
        )
        assert "Invalid currency reference key" in case["detail"]
        assert case["canonical_ids"] == [str(client.id)]
        put_customer = [r for r in fed.netsuite.server.requests if "/customer/" in r.path]
        assert len(put_customer) == 1, "a 4xx that is the payload's fault is not retried"
        assert fed.netsuite.created == {}  # and the job waits for its customer

        retried = fed.running.api.post(f"/v1/exceptions/{case['id']}/retry", headers=operator)
        assert retried.status_code == 202, retried.text
        assert retried.json()["outcome"] == "requeued"
        until(lambda: fed.netsuite.created == {"customer": 1, "job": 1}, what="delivered on retry")
        until(
            lambda: (
                fed.running.api.get(f"/v1/exceptions/{case['id']}", headers=reader).json()["status"]
                == "resolved"
            ),
            what="the case resolved by the delivery",
        )
        again = fed.running.api.post(f"/v1/exceptions/{case['id']}/retry", headers=operator)
        assert again.status_code == 409


def test_retryable_failures_exhausted_open_a_downstream_timeout_case(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch, feed_max_attempts=3) as fed:
        fed.harvest.server.down = True
        firm(fed, "Saimaa Systems Oy", "SS-001")
        reader = fed.running.token("read")
        cases = until(
            lambda: fed.running.api.get(
                "/v1/exceptions", params={"system": "harvest"}, headers=reader
            ).json()["items"]
        )
        assert [c["reason"] for c in cases] == ["DOWNSTREAM_TIMEOUT"]
        refused = [r for r in fed.harvest.server.requests if r.method in ("GET", "POST")]
        assert len(refused) == 3, "bounded: three attempts, then a case"
        assert fed.harvest.created == {}


def test_a_feed_rebuilt_by_another_process_is_followed_without_a_restart(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        firm(fed, "Lagoon Partners Srl", "LP-001")
        until(lambda: delivered(fed, 1, 1))
        other = build_hub(fed.running.hub.settings)  # another process on the same store
        try:
            assert other.rebuild_projection("feed.netsuite")["generation"] == 2
        finally:
            other.close()
        # And from the command line, as an operator runs it after a migration.
        monkeypatch.setenv("PSHUB_DATABASE_URL", fed.running.hub.database_url)
        assert main(["projections", "rebuild", "feed.harvest"]) == 0
        until(lambda: fed.feed_state("netsuite")["generation"] == 2, what="the switch seen")
        until(lambda: fed.feed_state("harvest")["generation"] == 2, what="the CLI's switch seen")
        firm(fed, "Danube Metrics GmbH", "DM-001")
        until(lambda: delivered(fed, 2, 2), what="the new generation delivers")
        state = fed.feed_state("netsuite")
        assert state["error"] is None and state["backlog"]["delivered"] == 4, state
        assert writes(fed) == 8, "nothing delivered twice across the switch"


def test_a_target_record_that_is_another_golden_records_becomes_a_stewardship_case(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        # Harvest already holds the client, and the hub knows it from Harvest as one record...
        fed.harvest.records["clients"][4242] = {
            "id": 4242, "name": "Oslo Maritime", "currency": "NOK", "is_active": True,
            "created_at": "2026-01-02T08:00:00Z", "updated_at": "2026-01-02T08:00:00Z",
        }  # fmt: skip
        page = fed.harvest.handle(
            Request("GET", "/v2/clients", {}, {"harvest-account-id": HARVEST_ACCOUNT}, b"")
        ).body
        answer = fed.running.webhook(
            "harvest", json.dumps(page).encode(), params={"tenant": HARVEST_ACCOUNT}
        )
        [known] = fed.running.settle(answer.json()["message_ids"])
        # ... and a steward registers it again under its legal name: the writer finds the
        # Harvest client by name and adopts it rather than creating a second one.
        client, _ = fed.app.register_client(
            legal_name="Oslo Maritime", country="SE", billing_currency="NOK", meta=META
        )
        assert str(client.id) not in known["canonical_ids"]
        reader = fed.running.token("read")
        cases = until(
            lambda: fed.running.api.get(
                "/v1/exceptions", params={"reason": "PROBABLE_MATCH"}, headers=reader
            ).json()["items"]
        )
        [case] = cases
        assert case["owner"] == "data-stewardship" and case["canonical_ids"] == [str(client.id)]
        assert "harvest:Client:4242" in case["detail"]
        assert fed.harvest.created["clients"] == 0, "adopted, not created twice"
        until(lambda: fed.feed_state("harvest")["backlog"].get("delivered") == 1)


def test_a_delivery_repeated_after_a_lost_acknowledgement_creates_nothing_twice(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        feeds = fed.running.hub.feeds
        assert feeds is not None
        acknowledge, lost = feeds.acknowledge, []

        def crash_once(target: str, delivered: Any, canonical_id: Any) -> None:
            # As if the process died after the target took the item, before the log knew.
            if (target, canonical_id) not in lost:
                lost.append((target, canonical_id))
                raise RuntimeError("the process died here")
            acknowledge(target, delivered, canonical_id)

        for line in feeds.lines.values():
            assert line.worker is not None
            line.worker.acknowledge = crash_once
        client, engagement = firm(fed, "Kvarken Logistics Oy", "KL-001")
        until(lambda: acknowledged(fed, client, engagement), what="acknowledged after the crash")
        assert len(lost) == 4, "every first acknowledgement was lost"
        assert delivered(fed, 1, 1), (fed.netsuite.created, fed.harvest.created)
        harvest_writes = [r.method for r in fed.harvest.server.requests if r.method != "GET"]
        assert harvest_writes == ["POST", "PATCH", "POST", "PATCH"], "looked, found, updated"
