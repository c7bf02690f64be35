"""Relay benchmark: the event log published on events.* by `pshub worker --run relay`, against
raw JetStream publishes of the very same messages in the same run; then the live lag from
commit to arrival on events.* while ingest runs at a steady rate. Prints figures; never part
of the test suite's pass/fail.

    .venv/bin/python ops/bench/relay.py [--events 200000] [--rate 1000] [--seconds 30]
                                        [--profile]

Throughput: the demo firm is recorded (about --events events), then a relay process starts
and publishes the log from position zero; the rate is taken from its first acknowledged page
to the head. Baselines: the same bytes published by this process with nats-py's
`publish_async` (an acknowledgement per message), and with the relay's own scheme (one
acknowledgement per page of 1,000, each message expecting the stream's last sequence); and
the relay's two other steps alone: reading the log's pages, encoding the envelopes.
Live lag: `pshub serve` (ingest, projections and the relay in one process) ingests canonical
change events published at --rate per second; an ordered consumer on events.* compares each
message's arrival with its `time` (the recording instant).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import psutil
import psycopg
from nats.js.api import StreamConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.bootstrap import build_application
from hub.collector import tune_garbage_collector
from hub.demo import DemoSpec, load_demo
from hub.relay.envelope import COLUMNS, Envelopes
from hub.settings import Settings
from hub.streams import Streams
from ops.bench.common import (
    Children,
    Figure,
    bench_nats_url,
    children,
    scratch_database,
    scratch_streams,
    stop,
)
from ops.bench.ingest import encoded, profile_summary, start_hub, workload

DEMO_EVENTS_AT_SCALE_1 = 49_000
PAGE = 1000


def load_log(url: str, events: int) -> int:
    """Records the demo firm, scaled to about `events` events; returns the log's head."""
    app = build_application(Settings(database_url=url), url)
    try:
        load_demo(app, DemoSpec(scale=max(events / DEMO_EVENTS_AT_SCALE_1, 0.05)), progress=True)
        return app.hub_recorder.select_head()[0]
    finally:
        app.close()


def read_pages(url: str) -> tuple[list[Any], Figure]:
    """Every row of the log, a page at a time as the relay reads it (the raw read figure)."""
    rows: list[Any] = []
    start = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor(binary=True) as cur:
        last = 0
        while True:
            cur.execute(
                f"SELECT {COLUMNS} FROM hub_events WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s",
                (last, PAGE),
            )
            page = cur.fetchall()
            if not page:
                break
            rows.extend(page)
            last = page[-1][0]
    return rows, Figure("read the log's pages (psycopg)", len(rows), time.perf_counter() - start)


def encode_all(rows: list[Any], streams: Streams) -> tuple[list[tuple[str, bytes]], Figure]:
    envelopes = Envelopes(streams, "/pshub/bench")
    start = time.perf_counter()
    messages = [envelopes.encode(row) for row in rows]
    return messages, Figure("encode the envelopes", len(rows), time.perf_counter() - start)


def relay_process(kids: Children, url: str, nats_url: str, prefix: str) -> subprocess.Popen[bytes]:
    """Starts `pshub worker --run relay` and returns once it runs."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSHUB_")},
        "PSHUB_DATABASE_URL": url,
        "PSHUB_NATS_URL": nats_url,
        "PSHUB_NATS_PREFIX": prefix,
        "PSHUB_LOG_LEVEL": "WARNING",
        "PSHUB_DB_POOL_SIZE": "2",
    }
    out = Path(tempfile.mkstemp(prefix="pshub-relay-")[1])
    with out.open("wb") as sink:  # a file: an undrained pipe would stall the worker
        proc = kids.popen(
            [sys.executable, "-m", "hub.cli", "worker", "--run", "relay"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"worker running" not in out.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the relay did not start: {out.read_text()[-2000:]}")
        time.sleep(0.05)
    out.unlink()  # the worker keeps writing to it, unnamed
    return proc


def recorded(url: str, stream: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('hub_relay')").fetchone()[0] is None:  # type: ignore[index]
            return 0
        row = conn.execute("SELECT position FROM hub_relay WHERE stream = %s", (stream,)).fetchone()
    return 0 if row is None else int(row[0])


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def server_pids(url: str) -> dict[str, list[int]]:
    """The PostgreSQL backends serving this database, and the nats-server processes."""
    with psycopg.connect(url) as conn:
        backends = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
        ]
    nats_pids = [
        p.pid for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("nats")
    ]
    return {"postgresql (this database's backends)": backends, "nats-server": nats_pids}


def measure_relay(
    kids: Children, url: str, nats_url: str, streams: Streams, head: int, profile: bool
) -> tuple[Figure, dict[str, float], Path | None]:
    proc = relay_process(kids, url, nats_url, streams.prefix)
    spy = None
    collapsed = Path(tempfile.mkdtemp()) / "relay.collapsed" if profile else None
    try:
        deadline = time.monotonic() + 120
        while (first := recorded(url, streams.events)) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the relay stopped (exit code {proc.poll()})")
            time.sleep(0.002)
        start = time.perf_counter()
        pids = {"relay process": [proc.pid], **server_pids(url)}
        before = {role: cpu_of(p) for role, p in pids.items()}
        if collapsed is not None:
            spy = kids.popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "-r", "200",
                 "-f", "raw", "-o", str(collapsed), "--pid", str(proc.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        while recorded(url, streams.events) < head:
            if proc.poll() is not None or time.perf_counter() - start > 1800:
                raise SystemExit(f"the relay stopped (exit code {proc.poll()})")
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        used = {role: cpu_of(p) - before[role] for role, p in pids.items()}
    finally:
        stop([p for p in (spy, proc) if p is not None])  # the profile is written on SIGINT
    return Figure("relay, log to events.* (pshub worker)", head - first, elapsed), used, collapsed


async def raw_publishes(
    nats_url: str, prefix: str, messages: list[tuple[str, bytes]]
) -> list[tuple[Figure, float]]:
    """The relay's messages published again to a stream of their own: with an acknowledgement
    per message (publish_async), and as the relay does (one per page, chained sequences)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    name, subjects = f"{prefix}RAW", [f"{prefix}raw.>"]
    figures = []
    try:
        for scheme in ("publish_async, an ack per message", "chained, an ack per page"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
            await js.add_stream(StreamConfig(name=name, subjects=subjects))
            cpu, start = time.process_time(), time.perf_counter()
            if scheme.startswith("publish_async"):
                for n, (subject, body) in enumerate(messages):
                    await js.publish_async(
                        f"{prefix}raw.{subject}", body, headers={"Nats-Msg-Id": f"raw:{n}"}
                    )
                await js.publish_async_completed()
            else:
                await _chained(nc, js, prefix, messages)
            elapsed = time.perf_counter() - start
            figures.append(
                (Figure(f"raw JetStream, {scheme}", len(messages), elapsed),
                 time.process_time() - cpu)
            )  # fmt: skip
            stored = (await js.stream_info(name)).state.messages
            if stored != len(messages):
                raise SystemExit(f"raw baseline stored {stored} of {len(messages)}")
    finally:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(name)
        await nc.close()
    return figures


async def _chained(nc: Any, js: Any, prefix: str, messages: list[tuple[str, bytes]]) -> None:
    pending: list[Any] = []
    for start in range(0, len(messages), PAGE):
        page = messages[start : start + PAGE]
        for n, (subject, body) in enumerate(page, start):
            headers = {"Nats-Msg-Id": f"raw:{n}", "Nats-Expected-Last-Sequence": str(n)}
            if n < start + len(page) - 1:
                await nc.publish(f"{prefix}raw.{subject}", body, headers=headers)
            else:
                pending.append(await js.publish_async(f"{prefix}raw.{subject}", body,
                                                      headers=headers))  # fmt: skip
        if len(pending) >= 4:
            await pending.pop(0)
    await asyncio.gather(*pending)


async def live_lag(
    nats_url: str, streams: Streams, url: str, rate: int, seconds: int
) -> tuple[list[tuple[float, float]], float, int]:
    """Publishes change events at `rate` per second for `seconds`; returns, for each relayed
    event, the seconds from its recording to its storage on the events stream and to its
    arrival here; the publish rate achieved; and the messages published."""
    bodies = workload(rate * seconds, seed=23)
    messages = encoded(streams, bodies)
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=100_000)
    lags: list[tuple[float, float]] = []

    async def arrived(msg: Any) -> None:
        now = time.time()
        recorded_at = datetime.fromisoformat(json.loads(msg.data)["time"]).timestamp()
        lags.append((msg.metadata.timestamp.timestamp() - recorded_at, now - recorded_at))

    sub = await js.subscribe(
        f"{streams.prefix}events.>", stream=streams.events, cb=arrived, ordered_consumer=True
    )
    try:
        start = time.perf_counter()
        tick = 0.01
        per_tick = max(1, round(rate * tick))
        acks = []
        for n in range(0, len(messages), per_tick):
            for subject, body, headers in messages[n : n + per_tick]:
                acks.append(await js.publish_async(subject, body, headers=headers))
            ahead = start + (n + per_tick) / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        await asyncio.gather(*acks)
        published = time.perf_counter() - start
        # Done when the relay has published the whole log and nothing new arrives.
        head, quiet = -1, 0
        while quiet < 20:
            await asyncio.sleep(0.1)
            now_head = _head(url)
            quiet = quiet + 1 if now_head == head and len(lags) >= now_head else 0
            head = now_head
    finally:
        await sub.unsubscribe()
        await nc.close()
    return lags, len(messages) / published, len(messages)


def watch_commits(url: str, seen: list[float], stop: threading.Event) -> None:
    """Records, for every event, the seconds from its recording until a LISTENing connection
    reads it: the store's own commit latency, which no relay can beat."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("LISTEN hub_events")
        last = 0
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.2, stop_after=1):
                break
            rows = conn.execute(
                "SELECT notification_id, recorded_at FROM hub_events WHERE notification_id > %s "
                "ORDER BY notification_id",
                (last,),
            ).fetchall()
            now = time.time()
            for position, recorded_at in rows:
                seen.append(now - recorded_at.timestamp())
                last = position


def _head(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT coalesce(max(notification_id), 0) FROM hub_events")
                   .fetchone()[0])  # type: ignore[index]  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=1000, help="ingest messages per second")
    parser.add_argument("--seconds", type=int, default=30, help="of ingest, for the live lag")
    parser.add_argument("--profile", action="store_true", help="py-spy the relay process")
    parser.add_argument(
        "--relay",
        choices=("together", "separate"),
        default="together",
        help="for the live lag: the relay in the ingesting process (`pshub serve`, the "
        "default) or in a process of its own (`pshub worker --run relay`)",
    )
    args = parser.parse_args()
    nats_url = bench_nats_url()
    # Children stop first, then the streams go, then the database: also on Ctrl-C.
    with (
        scratch_database("relay") as url,
        scratch_streams(nats_url) as prefix,
        children() as kids,
    ):
        streams = Streams(prefix)
        head = load_log(url, args.events)
        tune_garbage_collector()  # as in the relay process: measure the same work
        rows, read = read_pages(url)
        messages, encode = encode_all(rows, streams)
        size = statistics.mean(len(body) for _, body in messages)
        print(f"relay benchmark: {head:,} events in the log, messages of {size:.0f} bytes "
              "on average")  # fmt: skip
        relayed, used, collapsed = measure_relay(kids, url, nats_url, streams, head, args.profile)
        baselines = asyncio.run(raw_publishes(nats_url, prefix, messages))
        del rows, messages
    print(f"  {relayed.name:<48} {relayed.rate:>9,.0f} /s  ({relayed.seconds:.1f} s)")
    for figure, cpu in baselines:
        print(f"  {figure.name:<48} {figure.rate:>9,.0f} /s  "
              f"(publisher CPU {1e6 * cpu / figure.count:.0f} us/message)")  # fmt: skip
    for figure in (read, encode):
        print(
            f"  {figure.name:<48} {figure.rate:>9,.0f} /s  "
            f"({1e6 * figure.seconds / figure.count:.1f} us/event, this process)"
        )
    print(f"  ratio relay / raw publish_async:               "
          f"{relayed.rate / baselines[0][0].rate:.2f}")  # fmt: skip
    print(f"  CPU while the relay ran ({relayed.seconds:.1f} s wall, 2 cores):")
    for role, seconds in used.items():
        print(f"    {role:<40} {seconds:6.1f} s  {1e6 * seconds / relayed.count:6.1f} us/event")
    if collapsed is not None and not collapsed.exists():
        print("  (py-spy wrote no profile: the run was too short to sample)")
    elif collapsed is not None:
        own, inclusive = profile_summary(collapsed, 25)
        print(f"  profile of the relay process while holding the GIL ({collapsed}):")
        for name, share in own:
            print(f"    {share:5.1f} %  {name}")
        print("  ... and inclusive time:")
        for name, share in inclusive:
            print(f"    {share:5.1f} %  {name}")

    with (
        scratch_database("relaylag") as url,
        scratch_streams(nats_url) as prefix,
        children() as kids,
    ):
        together = args.relay == "together"
        run = "ingest,projections,relay" if together else "ingest,projections"
        start_hub(kids, url, nats_url, prefix, 500, run=run)
        if not together:
            relay_process(kids, url, nats_url, prefix)
        committed: list[float] = []
        done = threading.Event()
        watcher = threading.Thread(target=watch_commits, args=(url, committed, done))
        watcher.start()
        try:
            lags, achieved, sent = asyncio.run(
                live_lag(nats_url, Streams(prefix), url, args.rate, args.seconds)
            )
        finally:
            done.set()
            watcher.join()
    print(
        f"  live lag, change events published at {achieved:,.0f}/s for {args.seconds} s "
        f"({sent:,} messages, {len(lags):,} events relayed), relay {args.relay}:"
    )
    for label, values in (
        ("recorded -> committed (a LISTENer)", committed),
        ("recorded -> stored on events.*", [stored for stored, _ in lags]),
        ("recorded -> arrived at a consumer", [arrived for _, arrived in lags]),
    ):
        print(
            f"    {label:<36} p50 {1000 * percentile(values, 0.50):5.0f} ms, "
            f"p99 {1000 * percentile(values, 0.99):5.0f} ms, "
            f"max {1000 * max(values):5.0f} ms"
        )


if __name__ == "__main__":
    main()
