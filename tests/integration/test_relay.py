"""The event relay on real PostgreSQL and NATS: every recorded event on events.<entity>.<Type>,
in log order, once, as a CloudEvent without classified fields; resumed after a restart from
the stream's tail; one relay at a time."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import nats
import psycopg
import pytest
from cloudevents.core.formats.json import JSONFormat

from domain.base import CanonicalAggregate
from hub.bootstrap import Hub, build_application, build_relay
from hub.embedded import free_port
from hub.exceptions import ExceptionCase
from hub.relay.envelope import ENVELOPE_SCHEMA
from hub.relay.relay import EventRelay
from hub.settings import Settings
from hub.store.recorder import EventMeta
from hub.streams import Streams
from tests.support.changes import envelope
from tests.support.classified import MARKER, PUBLIC_VALUES, SECRET_AMOUNTS, classified_scenario
from tests.support.hygiene import Databases
from tests.support.relaying import (
    Relayed,
    assert_each_position_once_in_order,
    read_events,
    recorded_position,
)
from tests.support.running import Running

META = EventMeta(
    system="harvest",
    actor="tester",
    message_id="msg-1",
    correlation_id="corr-1",
    causation_id="cause-1",
    occurred_at=datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
)


@dataclass
class Store:
    """A store of its own with a hub around it (not started) and its NATS prefix."""

    hub: Hub
    nats_url: str

    @property
    def streams(self) -> Streams:
        return self.hub.streams

    @property
    def url(self) -> str:
        return self.hub.database_url

    def record(self, *aggregates: Any, meta: EventMeta = META) -> int:
        return self.hub.app.record(*aggregates, meta=meta)

    def head(self) -> int:
        return self.hub.app.hub_recorder.select_head()[0]

    def relay(self) -> EventRelay:
        """Another relay of this store (started here; stopped at the end of the test)."""
        relay = build_relay(self.hub)
        relay.start()
        self.started.append(relay)
        return relay

    def read(self) -> list[Relayed]:
        return read_events(self.nats_url, self.streams)

    started: list[EventRelay]


@pytest.fixture
def store(
    scratch_database: str, stream_prefix: str, nats_url: str, settings: Settings
) -> Iterator[Store]:
    """A store and NATS prefix of the test's own (both removed when it ends)."""
    url = scratch_database
    custom = settings.model_copy(update={"database_url": url, "nats_prefix": stream_prefix})
    app = build_application(custom, url)
    made = Store(Hub(custom, url, nats_url, app), nats_url, [])
    try:
        yield made
    finally:
        for relay in made.started:
            relay.stop()
        app.close()


def _record_scenario(store: Store) -> None:
    for aggregate in classified_scenario().aggregates:
        store.record(aggregate)


def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _rows(url: str) -> dict[int, dict[str, Any]]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        rows = conn.execute("SELECT * FROM hub_events ORDER BY notification_id").fetchall()
    return {r["notification_id"]: r for r in rows}


def _data_names(event: dict[str, Any]) -> set[str]:
    data = event["data"]
    return set(data) | set(data.get("changes", {})) | set(data.get("details", {}))


def test_every_event_is_published_in_log_order_as_a_cloudevent(store: Store) -> None:
    _record_scenario(store)
    case = ExceptionCase.open(message_id="m-9", reason="RATE_MISMATCH", detail="rate differs")
    store.record(case, meta=EventMeta(system="hub", actor="ingest"))  # no source metadata
    head = store.head()
    relay = store.relay()
    assert relay.wait_for(head, 30), relay.error

    messages = store.read()
    assert_each_position_once_in_order(messages, head)
    rows = _rows(store.url)
    prefix = store.streams.prefix
    for message in messages:
        # The CloudEvents SDK reads it: a valid structured-mode CloudEvent 1.0.
        event = JSONFormat().read(None, message.body)
        attributes = event.get_attributes()
        row = rows[message.position]
        kind = row["topic"].rsplit(".", 1)[-1]
        assert message.subject == f"{prefix}events.{row['entity']}.{kind}"
        assert message.headers["Nats-Msg-Id"] == event.get_id()
        assert message.headers["Content-Type"] == "application/cloudevents+json"
        assert event.get_id() == f"{prefix}PSHUB_EVENTS:{row['notification_id']}"
        assert event.get_type() == f"pshub.{row['entity']}.{kind}.v1"
        assert event.get_subject() == str(row["originator_id"])
        assert event.get_source() == f"/pshub/{prefix.rstrip('_')}"
        assert event.get_time() == row["recorded_at"]
        assert attributes["sequence"] == f"{row['notification_id']:020d}"
        assert attributes["aggregateversion"] == row["originator_version"]
        assert attributes["system"] == row["system"]
        assert attributes["actor"] == row["actor"]
        for name, column in (
            ("messageid", "message_id"),
            ("correlationid", "correlation_id"),
            ("causationid", "causation_id"),
        ):
            assert attributes.get(name) == row[column]
        # The schema the AsyncAPI document publishes describes it.
        assert set(ENVELOPE_SCHEMA["required"]) <= set(message.event)
        assert set(message.event) <= set(ENVELOPE_SCHEMA["properties"])
        expected_occurred = row["occurred_at"]
        assert attributes.get("occurredat") == (
            None
            if expected_occurred is None
            else expected_occurred.astimezone(UTC).isoformat().replace("+00:00", "Z")
        )
    by_type = {m.event["type"]: m.event for m in messages}
    assert set(by_type) >= {
        "pshub.client.Registered.v1",
        "pshub.engagement.Created.v1",
        "pshub.time_entry.Approved.v1",
        "pshub.rate_card.LineAdded.v1",
        "pshub.exception.Raised.v1",
    }
    created = by_type["pshub.engagement.Created.v1"]["data"]
    # Money as amount and currency, ids as UUID text, no library bookkeeping.
    assert created["budget"] == {"amount": "50000.00", "currency": "EUR"}
    assert uuid.UUID(created["client_id"])
    assert created["code"] == "PUB-0001"
    assert created["start_date"] is None
    assert not set(created) & {"timestamp", "originator_topic"}
    time_entry = by_type["pshub.time_entry.Recorded.v1"]["data"]
    assert time_entry["work_date"] == "2026-02-02"
    assert time_entry["hours"] == "3"
    raised = by_type["pshub.exception.Raised.v1"]
    assert raised["data"]["reason"] == "RATE_MISMATCH"
    assert "messageid" not in raised  # absent metadata is left out, not null


def test_classified_fields_never_reach_the_events_stream(store: Store) -> None:
    scenario = classified_scenario()
    for aggregate in scenario.aggregates:
        store.record(aggregate)
    head = store.head()
    # The store holds the secrets: a leak would be visible in the published bytes.
    stored = b"".join(bytes(r["state"]) for r in _rows(store.url).values())
    assert MARKER.encode() in stored
    assert all(amount.encode() in stored for amount in SECRET_AMOUNTS)

    relay = store.relay()
    assert relay.wait_for(head, 30), relay.error
    messages = store.read()
    assert_each_position_once_in_order(messages, head)
    published = b"".join(m.body for m in messages)
    assert MARKER.encode() not in published
    for amount in SECRET_AMOUNTS:
        assert amount.encode() not in published, amount
    seen: dict[str, set[str]] = {}
    for message in messages:
        event = message.event
        entity = event["type"].split(".")[1]
        names = _data_names(event)
        assert not names & scenario.classified.get(entity, set()), (event["type"], names)
        seen.setdefault(entity, set()).add(event["type"].split(".")[2])
    # Every entity's creation and revision were published (with their public fields).
    for aggregate in scenario.aggregates:
        assert "Revised" in seen[aggregate.ENTITY], aggregate.ENTITY
    for value in PUBLIC_VALUES:
        assert json.dumps(value).encode() in published, value
    revised = [
        m.event["data"]["changes"]
        for m in messages
        if m.event["type"] == "pshub.resource.Revised.v1"
    ]
    assert revised == [{"role": "engagement-manager"}]
    # Descriptive attributes are filtered like the record's fields.
    engagement = next(
        m.event["data"] for m in messages if m.event["type"] == "pshub.engagement.Created.v1"
    )
    assert engagement["details"] == {"health": "on-track-public"}


def test_a_restarted_relay_resumes_after_its_last_position(store: Store) -> None:
    _record_scenario(store)
    first = store.relay()
    assert first.wait_for(store.head(), 30), first.error
    first.stop()
    assert recorded_position(store.url, store.streams) == store.head()
    _record_scenario(store)  # written while no relay runs
    second = store.relay()
    assert second.wait_for(store.head(), 30), second.error
    assert_each_position_once_in_order(store.read(), store.head())
    assert second.resyncs == 0


def test_a_lost_record_of_the_position_resumes_from_the_streams_tail(store: Store) -> None:
    """After a crash between JetStream's acknowledgement and the commit of the position, the
    stream is ahead of the record. The relay resumes after the stream's last message, not
    after its record: had it published an old position again, JetStream would have stored it
    a second time once that position's id left the duplicate window, or answered `duplicate`
    within it, which sends the relay back to the tail (counted in resyncs)."""
    _record_scenario(store)
    first = store.relay()
    assert first.wait_for(store.head(), 30), first.error
    first.stop()
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute("UPDATE hub_relay SET position = 3 WHERE stream = %s", (store.streams.events,))
    _record_scenario(store)
    second = store.relay()
    assert second.wait_for(store.head(), 30), second.error
    assert_each_position_once_in_order(store.read(), store.head())
    assert second.resyncs == 0
    assert recorded_position(store.url, store.streams) == store.head()


def test_what_jetstream_refuses_is_neither_recorded_nor_skipped(store: Store) -> None:
    _record_scenario(store)
    relay = store.relay()
    assert relay.wait_for(store.head(), 30), relay.error
    published = store.head()
    config = store.streams.config(store.streams.events)
    _update_stream(store.nats_url, replace(config, max_msg_size=64))  # every event is larger
    _record_scenario(store)
    _until(lambda: relay.resyncs >= 2)  # refused, back to the tail, refused again
    assert recorded_position(store.url, store.streams) == published
    assert relay.position() == published
    assert len(store.read()) == published

    _update_stream(store.nats_url, config)
    assert relay.wait_for(store.head(), 30), relay.error
    assert_each_position_once_in_order(store.read(), store.head())


def _update_stream(nats_url: str, config: Any) -> None:
    async def run() -> None:
        nc = await nats.connect(nats_url)
        try:
            await nc.jetstream().update_stream(config)
        finally:
            await nc.close()

    asyncio.run(run())


def test_a_second_relay_waits_for_the_lease_and_takes_over(store: Store) -> None:
    _record_scenario(store)
    first = store.relay()
    assert first.wait_for(store.head(), 30), first.error
    second = store.relay()
    _until(lambda: second.state == "waiting for the lease")
    _record_scenario(store)
    assert first.wait_for(store.head(), 30)
    assert second.position() is None  # it never published
    assert second.state == "waiting for the lease"

    first.stop()  # its connection closes: the lease is free
    _record_scenario(store)
    assert second.wait_for(store.head(), 30), second.error
    assert second.state == "relaying"
    assert_each_position_once_in_order(store.read(), store.head())


def test_without_nats_the_relay_reports_why_and_lets_another_take_over(store: Store) -> None:
    _record_scenario(store)
    store.hub.nats_url = f"nats://127.0.0.1:{free_port()}"  # nobody listens there
    stranded = store.relay()
    _until(lambda: stranded.error is not None)
    assert stranded.position() is None
    started = time.monotonic()
    stranded.stop()
    assert time.monotonic() - started < 10
    store.hub.nats_url = store.nats_url
    relay = store.relay()  # the stranded one's lease went with its connection
    assert relay.wait_for(store.head(), 30), relay.error
    assert_each_position_once_in_order(store.read(), store.head())


def test_a_stream_of_another_log_is_not_continued(
    store: Store, make_database: Databases, settings: Settings
) -> None:
    _record_scenario(store)
    relay = store.relay()
    assert relay.wait_for(store.head(), 30), relay.error
    relay.stop()
    before = store.read()
    # Another, younger store with the same NATS prefix: its positions are not the stream's.
    other_url = make_database("other")
    other_app = build_application(
        settings.model_copy(update={"database_url": other_url}), other_url
    )
    try:
        other = Store(
            Hub(store.hub.settings, other_url, store.nats_url, other_app), store.nats_url, []
        )
        aggregate: CanonicalAggregate = classified_scenario().aggregates[0]
        other.record(aggregate)
        stranger = other.relay()
        _until(lambda: stranger.error is not None)
        assert "another event log" in (stranger.error or "")
        stranger.stop()
    finally:
        other_app.close()
        make_database.drop(other_url)
    assert [m.body for m in store.read()] == [m.body for m in before]


def test_the_running_hub_relays_what_ingest_records_and_reports_it(running: Running) -> None:
    body = envelope(
        "harvest",
        "client",
        {"id": "R1", "legal_name": "Relay Watch GmbH", "country": "DE", "billing_currency": "EUR"},
        source_type="Client",
    )
    running.publish_events(body)
    position = running.outcome(body["id"])["position"]
    relay = running.hub.relay
    assert relay is not None
    assert relay.wait_for(position, 30), relay.error
    messages = read_events(running.nats_url, running.streams)
    registered = [m.event for m in messages if m.event["type"] == "pshub.client.Registered.v1"]
    assert registered[-1]["data"]["legal_name"] == "Relay Watch GmbH"
    assert registered[-1]["messageid"] == body["id"]
    items = running.api.get("/v1/projections", headers=running.auth).json()["items"]
    row = next(item for item in items if item["name"] == "relay")
    assert row["position"] >= position
    assert row["lag"] == row["head"] - row["position"]
    assert row["state"] == "relaying"
    metrics = running.api.get("/metrics").text
    assert 'pshub_projection_position{projection="relay"}' in metrics
    document = running.api.get("/asyncapi.json").json()
    channel = document["channels"][f"{running.streams.prefix}events.{{entity}}.{{eventType}}"]
    assert channel["publish"]["message"]["payload"] == {"$ref": "#/components/schemas/RelayedEvent"}
