"""Feed lag benchmark: from a record's commit to its item's publication on feed.*, while
`pshub serve` (ingest, projections and the feeds in one process) ingests canonical change
events at a steady rate. Prints figures; never part of the test suite's pass/fail.

    .venv/bin/python ops/bench/feeds.py [--rate 1000] [--seconds 30] [--writes 10]

The ingest load is the ingest benchmark's workload (Harvest-sourced: its clients and projects
come first, and the Harvest feed leaves them out). Beside it, this process registers --writes
clients a second through the application (as the commands do); each becomes a NetSuite
customer and a Harvest client on feed.*. For every feed message, an ordered consumer compares
the JetStream storage time and its own arrival time with the CloudEvent's `time` (the record's
last change, stamped just before its commit): the feed's lag, which includes the commit.
No connector is configured: this is the projection and the publication, not a target's API.

With `--layout split` the feeds run in a `pshub worker --run feeds` process beside the hub
(ingest and the other projections), as a deployment scales out: each Python process has one
interpreter lock, and in one process the five feeds share it with ingest and every projection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
from psycopg.sql import SQL, Identifier

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.bootstrap import build_application
from hub.settings import Settings
from hub.store.recorder import EventMeta
from hub.streams import Streams
from ops.bench.common import Children, bench_nats_url, children, scratch_database, scratch_streams
from ops.bench.ingest import cpu_seconds, encoded, start_hub, start_worker, workload
from ops.bench.relay import percentile

STARTED: list[float] = []  # when the load began (wall clock, as the CloudEvents' `time`)
LAST = [0.0]  # when the last feed item arrived
FEEDS = ("netsuite", "harvest", "sharepoint", "quickbooks", "xero")


def write_clients(url: str, per_second: float, stop: threading.Event, written: list[str]) -> None:
    """Registers a client every 1/per_second seconds until stopped."""
    app = build_application(Settings(database_url=url), url)
    meta = EventMeta(system="api", actor="bench")
    try:
        n = 0
        while not stop.wait(1 / per_second):
            client, _ = app.register_client(
                legal_name=f"Bench Client {n} Ltd", country="GB", billing_currency="GBP", meta=meta
            )
            written.append(str(client.id))
            n += 1
    finally:
        app.close()


async def measure(
    nats_url: str,
    streams: Streams,
    url: str,
    rate: int,
    seconds: int,
    writes: float,
    roles: dict[str, list[int]],
) -> tuple[dict[str, list[tuple[float, float, float, int]]], float, int, dict[str, float], float]:
    messages = encoded(streams, workload(rate * seconds, seed=29))
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=100_000)
    lags: dict[str, list[tuple[float, float, float, int]]] = {}

    async def arrived(msg: Any) -> None:
        now = LAST[0] = time.time()
        event = json.loads(msg.data)
        changed = datetime.fromisoformat(event["time"]).timestamp()
        subject = msg.subject.removeprefix(streams.prefix)
        lags.setdefault(subject, []).append(
            (
                msg.metadata.timestamp.timestamp() - changed,
                now - changed,
                changed,
                int(event["sequence"]),
            )
        )

    sub = await js.subscribe(
        f"{streams.prefix}feed.>", stream=streams.feeds, cb=arrived, ordered_consumer=True
    )
    stop, written = threading.Event(), []
    writer = threading.Thread(target=write_clients, args=(url, writes, stop, written))
    try:
        cpu_before = cpu_seconds(roles)
        STARTED.append(time.time())
        start = time.perf_counter()
        writer.start()
        per_tick = max(1, round(rate * 0.01))
        acks = []
        for n in range(0, len(messages), per_tick):
            for subject, body, headers in messages[n : n + per_tick]:
                acks.append(await js.publish_async(subject, body, headers=headers))
            ahead = start + (n + per_tick) / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        await asyncio.gather(*acks)
        achieved = len(messages) / (time.perf_counter() - start)
        stop.set()
        writer.join()
        # Each written client becomes two feed items (NetSuite, Harvest): wait for them, and
        # then until no item has come for 3 s: the feeds' backlog at the end of the load is
        # part of the lag (counting only what had come would leave out the slowest items).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = len(lags.get("feed.netsuite.customer", [])) + len(
                lags.get("feed.harvest.client", [])
            )
            if got >= 2 * len(written) and time.time() - LAST[0] > 3:
                break
            await asyncio.sleep(0.2)
        cpu_after = cpu_seconds(roles)
        wall = time.perf_counter() - start
    finally:
        stop.set()
        await sub.unsubscribe()
        await nc.close()
    used = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
    return lags, achieved, len(messages), used, wall


def recorded_at(values: list[tuple[float, float, float, int]], url: str) -> dict[int, float]:
    """Each item's event's `recorded_at` (epoch seconds), stamped in ingest's committing
    transaction: from there to JetStream is the lag issue 9 measures ("from commit")."""
    app = build_application(Settings(database_url=url), url)
    try:
        recorder = app.hub_recorder
        events = Identifier(recorder.datastore.schema, recorder.events_table_name)
        with recorder.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT notification_id, recorded_at FROM {} WHERE notification_id = ANY(%s)"
                ).format(events),
                (list({v[3] for v in values}),),
            ).fetchall()
        return {r["notification_id"]: r["recorded_at"].timestamp() for r in rows}
    finally:
        app.close()


def split(
    values: list[tuple[float, float, float, int]], recorded: dict[int, float]
) -> dict[str, list[float]]:
    """The lag in two: from the change to its commit in the log (ingest's share), and from
    there to JetStream."""
    ingest, feeds = "change -> recorded (ingest)", "recorded -> stored (feeds)"
    stages: dict[str, list[float]] = {ingest: [], feeds: []}
    for stored, _, changed, position in values:
        at = recorded.get(position)
        if at is not None:
            stages[ingest].append(at - changed)
            stages[feeds].append(changed + stored - at)
    return stages


def timeline(values: list[tuple[float, float, float, int]], started: float) -> None:
    """Per second of change time: items, p50 and max lag to JetStream storage."""
    by_second: dict[int, list[float]] = {}
    for stored, _, changed, _ in values:
        by_second.setdefault(int(changed - started), []).append(stored)
    print(f"per second of change from {started:.2f} (epoch; items, p50, max lag to stored):")
    for second, got in sorted(by_second.items()):
        print(
            f"  {second:4d} s  n={len(got):5d}  p50 {1000 * percentile(got, 0.5):5.0f} ms  "
            f"max {1000 * max(got):5.0f} ms"
        )


def profile(
    kids: Children, roles: dict[str, list[int]], into: Path, seconds: int, after: int = 0
) -> None:
    """py-spy (from PyPI: `pip install py-spy`) records each hub process for the run, or from
    `after` seconds into it (the end of the load: its approvals and corrections)."""
    into.mkdir(parents=True, exist_ok=True)
    for role, pids in roles.items():
        if role.startswith("bench"):
            continue
        name = role.split(" (")[0] + (str(pids[0]) if role.startswith("worker") else "")
        kids.popen(
            [
                "sh", "-c", f'sleep {after}; exec "$0" "$@"',
                str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pids[0]),
                "--duration", str(seconds + 5 - after), "--format", "speedscope",
                "--output", str(into / f"{name}.json"), "--nonblocking",
                # Only threads holding the interpreter lock: where the CPU goes, not waits.
                "--gil",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="ingest messages per second")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--writes", type=float, default=10, help="clients registered per second")
    parser.add_argument(
        "--layout",
        choices=("one", "split", "split2"),
        default="one",
        help="feeds in the hub's process (one), in a worker process beside it (split), or in "
        "two workers (split2: NetSuite, Harvest and SharePoint in one, QuickBooks and Xero in "
        "the other, each turning the other's feeds off)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=5,
        help="seconds at the start reported apart (a cold process, the sources' first records)",
    )
    parser.add_argument(
        "--timeline",
        action="store_true",
        help="also print, per second of change time, how many items and their p50 and max lag "
        "(steady lag, or stalls?)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy records the hub and the feeds worker into DIR (speedscope files)",
    )
    parser.add_argument(
        "--profile-from",
        type=int,
        default=0,
        metavar="S",
        help="with --profile, start recording S seconds into the load",
    )
    args = parser.parse_args()
    nats_url = bench_nats_url()
    with (
        scratch_database("feedlag") as url,
        scratch_streams(nats_url) as prefix,
        children() as kids,
    ):
        roles = {"bench (load, clients, consumer)": [os.getpid()]}
        if args.layout == "one":
            hub, _ = start_hub(kids, url, nats_url, prefix, 500, run="ingest,projections,feeds")
            roles["hub (ingest, projections, feeds)"] = [hub.pid]
        else:
            hub, _ = start_hub(kids, url, nats_url, prefix, 500, run="ingest,projections")
            roles["hub (ingest, projections)"] = [hub.pid]
            groups = [FEEDS] if args.layout == "split" else [FEEDS[:3], FEEDS[3:]]
            for group in groups:
                off = {f"PSHUB_FEED_{t.upper()}_ENABLED": "false" for t in FEEDS if t not in group}
                worker = start_worker(kids, url, nats_url, prefix, run="feeds", extra_env=off)
                roles[f"worker ({', '.join(group) if len(groups) > 1 else 'feeds'})"] = [worker.pid]
        if args.profile:
            profile(kids, roles, Path(args.profile), args.seconds, args.profile_from)
        lags, achieved, sent, used, wall = asyncio.run(
            measure(nats_url, Streams(prefix), url, args.rate, args.seconds, args.writes, roles)
        )
        warm = STARTED[0] + args.warmup
        kept = {s: [v for v in values if v[2] >= warm] for s, values in lags.items()}
        recorded = recorded_at([v for values in kept.values() for v in values], url)
    print(
        f"feed lag: change events ingested at {achieved:,.0f}/s for {args.seconds} s "
        f"({sent:,} messages), {args.writes:g} clients/s registered beside them, "
        f"feeds {'in the hub process' if args.layout == 'one' else 'in a worker process'}"
    )
    print(
        f"CPU from the first message until the last item arrived ({wall:.1f} s; "
        f"{sum(used.values()) / wall:.2f} of {os.cpu_count()} cores busy):"
    )
    for role, seconds in used.items():
        print(
            f"  {role:<34} {1e6 * seconds / sent:6.0f} µs per message ({seconds / wall:.2f} cores)"
        )
    warm = STARTED[0] + args.warmup
    print(f"lag from the record's change, after the first {args.warmup:g} s (then within them):")
    steady_all: list[float] = []
    for subject, values in sorted(lags.items()):
        steady = [v for v in values if v[2] >= warm]
        early = [v[0] for v in values if v[2] < warm]
        for label, index in (("-> stored", 0), ("-> arrived", 1)):
            got = [v[index] for v in steady]
            if not got:
                continue
            steady_all += got if index == 0 else []
            print(
                f"  {subject:<24} {label:<11} n={len(got):5d}  "
                f"p50 {1000 * percentile(got, 0.50):5.0f} ms, "
                f"p99 {1000 * percentile(got, 0.99):5.0f} ms, max {1000 * max(got):5.0f} ms"
            )
        if early:
            print(
                f"  {subject:<24} {'(first s)':<11} n={len(early):5d}  "
                f"p50 {1000 * percentile(early, 0.50):5.0f} ms, "
                f"p99 {1000 * percentile(early, 0.99):5.0f} ms, max {1000 * max(early):5.0f} ms"
            )
    if args.timeline:
        timeline([v for values in lags.values() for v in values], STARTED[0])
    stages = split([v for values in kept.values() for v in values], recorded)
    print(f"where it goes, every feed after the first {args.warmup:g} s:")
    for label, got in stages.items():
        print(
            f"  {label:<34} p50 {1000 * percentile(got, 0.5):5.0f} ms, "
            f"p99 {1000 * percentile(got, 0.99):5.0f} ms"
        )
    # Issue 9's figure, per feed: from the commit of the event to the item stored on feed.*.
    print(f"from commit to stored on feed.*, per feed, after the first {args.warmup:g} s:")
    by_feed: dict[str, list[float]] = {}
    for subject, values in kept.items():
        target = subject.split(".")[1]
        by_feed.setdefault(target, []).extend(split(values, recorded)["recorded -> stored (feeds)"])
    for target, got in sorted(by_feed.items()):
        if not got:
            continue  # (SharePoint's folders: the engagements of the first seconds only)
        print(
            f"  feed.{target:<19} n={len(got):5d}  p50 {1000 * percentile(got, 0.50):5.0f} ms, "
            f"p99 {1000 * percentile(got, 0.99):5.0f} ms, max {1000 * max(got):5.0f} ms"
        )
    if steady_all:
        print(
            f"  every feed, from the change to stored, after the first {args.warmup:g} s: "
            f"n={len(steady_all)} "
            f"p50 {1000 * percentile(steady_all, 0.50):.0f} ms, "
            f"p99 {1000 * percentile(steady_all, 0.99):.0f} ms"
        )


if __name__ == "__main__":
    main()
