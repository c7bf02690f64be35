"""kill -9 of the relaying process in the middle of the log, twice, with the next relay
processes waiting for the lease: counted on the stream, every position arrives exactly once
and in order."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable

from domain.client import Client
from hub.bootstrap import build_application
from hub.settings import Settings
from hub.store.recorder import EventMeta
from hub.streams import Streams
from tests.support.processes import hub_env, stop, worker
from tests.support.relaying import (
    assert_each_position_once_in_order,
    lease_holder,
    read_events,
    recorded_position,
)

EVENTS = 30_000


def _record_clients(url: str, settings: Settings) -> None:
    """Appends EVENTS client registrations, 100 per transaction, as ingest would."""
    app = build_application(settings.model_copy(update={"database_url": url}), url)
    try:
        meta = EventMeta(system="harvest", actor="crash-test", message_id="batch")
        for start in range(0, EVENTS, 100):
            clients = [
                Client.register(
                    id=uuid.uuid4(),
                    legal_name=f"Relay Crash {n} GmbH",
                    country="DE",
                    billing_currency="EUR",
                )
                for n in range(start, start + 100)
            ]
            app.record(*clients, meta=meta)
    finally:
        app.close()


def _until(check: Callable[[], bool], what: str, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    while not check():
        assert any(p.poll() is None for p in procs), "every relaying worker exited"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_kill_9_of_the_relay_mid_stream_loses_nothing_and_doubles_nothing(
    scratch_database: str, stream_prefix: str, nats_url: str, settings: Settings
) -> None:
    url = scratch_database
    streams = Streams(stream_prefix)
    # Small pools: the relay needs one connection of its own, and the server is shared.
    env = hub_env(url, nats_url, streams.prefix, db_pool_size="2")
    procs: list[subprocess.Popen[bytes]] = []
    kills = 0
    try:
        # Three relay processes from the start: one relays, the others wait for the lease.
        procs += [worker(env, "relay") for _ in range(3)]
        # The log grows while the relay publishes it, as under ingest.
        appender = threading.Thread(target=_record_clients, args=(url, settings))
        appender.start()
        for threshold in (EVENTS // 5, EVENTS // 2):
            _until(lambda t=threshold: recorded_position(url, streams) >= t, "progress", procs)
            holder = lease_holder(url)
            assert holder is not None
            assert recorded_position(url, streams) < EVENTS, "the relay finished too soon"
            os.kill(holder, signal.SIGKILL)  # no shutdown, pages in flight
            kills += 1
            killed = next(p for p in procs if p.pid == holder)
            killed.wait(30)
            procs.remove(killed)
        appender.join(120)
        _until(lambda: recorded_position(url, streams) >= EVENTS, "the end of the log", procs)
        messages = read_events(nats_url, streams, timeout=120)
    finally:
        stop(*procs)
    assert kills == 2
    assert_each_position_once_in_order(messages, EVENTS)
    assert len({m.sequence for m in messages}) == EVENTS
