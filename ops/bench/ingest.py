"""Ingest benchmark: canonical change events published to NATS until every one is durable in
PostgreSQL, against raw psycopg inserts of as many rows in the same run. Prints figures; never
part of the test suite's pass/fail.

    .venv/bin/python ops/bench/ingest.py [--messages 100000] [--batch 500] [--profile]

The hub runs as its own process (`pshub serve`, as in production); this process publishes.
The mix: clients, resources and engagements first, then time entries (most), expenses,
knowledge assets, status updates of earlier time entries, and re-sent duplicates that carry
no Nats-Msg-Id (so JetStream cannot drop them and the hub must).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.embedded import free_port
from hub.streams import Streams
from ops.bench.common import (
    Children,
    Figure,
    bench_nats_url,
    children,
    scratch_database,
    scratch_streams,
    stop,
    timed,
)

BASE = datetime(2026, 1, 5, 8, tzinfo=UTC)


def _envelope(
    system: str, entity: str, source_type: str, data: dict[str, Any], seq: int, rng: random.Random
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "source": f"/{system}/bench",
        "type": f"pshub.{entity}.changed.v1",
        "subject": data["id"],
        "time": (BASE + timedelta(seconds=seq)).isoformat(),
        "sequence": f"{seq:012d}",
        "tenant": "bench",
        "sourcetype": source_type,
        "data": data,
    }


def workload(total: int, seed: int = 11) -> list[dict[str, Any]]:
    """A realistic mix of change events, in publish order."""
    rng = random.Random(seed)
    clients, resources, engagements = (
        max(1, total // 500),
        max(1, total // 250),
        max(1, total // 100),
    )
    out: list[dict[str, Any]] = []
    seq = 0

    def add(entity: str, source_type: str, data: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        body = _envelope("harvest", entity, source_type, data, seq, rng)
        out.append(body)
        return body

    for i in range(clients):
        add(
            "client",
            "Client",
            {
                "id": f"C{i}",
                "legal_name": f"Client {i} Ltd",
                "country": "GB",
                "billing_currency": "GBP",
                "tax_id": f"GB{i:09d}",
            },
        )
    for i in range(resources):
        add(
            "resource",
            "User",
            {
                "id": f"U{i}",
                "name": f"Person {i}",
                "email": f"p{i}@firm.example",
                "role": "consultant",
                "time_zone": "Europe/London",
            },
        )
    for i in range(engagements):
        add(
            "engagement",
            "Project",
            {
                "id": f"P{i}",
                "client": {"type": "Client", "id": f"C{i % clients}"},
                "name": f"Project {i}",
                "code": f"P-{i:05d}",
                "currency": "GBP",
                "status": "active",
            },
        )
    entries: list[dict[str, Any]] = []
    remaining = total - len(out)
    updates, duplicates = int(remaining * 0.10), int(remaining * 0.05)
    others = remaining - updates - duplicates
    for i in range(others):
        kind = rng.random()
        if kind < 0.90:
            status = rng.choice(["draft", "submitted", "approved", "approved", "billed"])
            data = {
                "id": f"T{i}",
                "engagement": {"type": "Project", "id": f"P{i % engagements}"},
                "resource": {"type": "User", "id": f"U{rng.randrange(resources)}"},
                "work_date": (date(2026, 1, 5) + timedelta(days=i % 60)).isoformat(),
                "hours": f"{rng.choice(['0.50', '1.00', '2.25', '4.00', '7.50', '8.00'])}",
                "billable": rng.random() < 0.85,
                "billable_rate": {"amount": "150.00", "currency": "GBP"},
                "status": "approved" if status == "billed" else status,
            }
            entries.append(add("time_entry", "TimeEntry", data))
        elif kind < 0.97:
            add(
                "expense",
                "Expense",
                {
                    "id": f"E{i}",
                    "engagement": {"type": "Project", "id": f"P{i % engagements}"},
                    "resource": {"type": "User", "id": f"U{rng.randrange(resources)}"},
                    "spent_date": "2026-02-03",
                    "amount": {"amount": "42.10", "currency": "GBP"},
                    "category": "travel",
                    "billable": True,
                    "status": "submitted",
                },
            )
        else:
            add(
                "knowledge_asset",
                "page",
                {
                    "id": f"K{i}",
                    "title": f"Deliverable {i}",
                    "kind": "deliverable",
                    "uri": f"https://kb.example/{i}",
                    "status": "published",
                    "engagement": {"type": "Project", "id": f"P{i % engagements}"},
                },
            )
    for entry in rng.sample(entries, min(updates, len(entries))):
        data = dict(entry["data"])
        if data["status"] != "approved":
            data["status"] = "approved"
        else:
            data["hours"] = "6.00"  # an approved fact corrected: reversal plus new fact
        add("time_entry", "TimeEntry", data)
    for body in rng.sample(out, min(duplicates, len(out))):
        out.append({**body, "_resend": True})
    return out


Outgoing = tuple[str, bytes, dict[str, str]]


def encoded(streams: Streams, bodies: list[dict[str, Any]]) -> list[Outgoing]:
    """Subject, bytes and headers of each message, made before the clock starts: encoding
    them is the sources' work, not the hub's, and would take CPU the hub competes for."""
    out = []
    for body in bodies:
        resend = body.pop("_resend", False)
        system, entity = body["source"].split("/")[1], body["type"].split(".")[1]
        headers = {"Content-Type": "application/cloudevents+json"}
        if not resend:
            headers["Nats-Msg-Id"] = body["id"]
        out.append((streams.ingest_subject(system, entity), json.dumps(body).encode(), headers))
    return out


async def publish(nats_url: str, messages: list[Outgoing]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        pending: list[Any] = []
        for subject, payload, headers in messages:
            pending.append(js.publish(subject, payload, headers=headers, timeout=30))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        # Also on Ctrl-C mid-publish (asyncio.run cancels this task): a client left open keeps
        # tasks that asyncio.run then waits for while it shuts down, and the bench never ends.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 10)


def decided(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(deliveries), 0) FROM "
            "hub_ingest_messages WHERE outcome <> 'pending'"
        ).fetchone()
    return int(row[0]), int(row[1])


def start_hub(
    kids: Children,
    url: str,
    nats_url: str,
    prefix: str,
    batch: int,
    run: str = "ingest,projections",
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PSHUB_DATABASE_URL": url,
        "PSHUB_NATS_URL": nats_url,
        "PSHUB_NATS_PREFIX": prefix,
        "PSHUB_INGEST_BATCH_SIZE": str(batch),
        "PSHUB_LOG_LEVEL": "WARNING",
        "PSHUB_RUN": run,
    }
    proc = kids.popen(
        [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the hub did not become ready")


def start_worker(
    kids: Children,
    url: str,
    nats_url: str,
    prefix: str,
    batch: int = 500,
    run: str = "ingest",
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A `pshub worker --run <run>` on the bench's store and streams, once it runs."""
    env = {
        **os.environ,
        **(extra_env or {}),
        "PSHUB_DATABASE_URL": url,
        "PSHUB_NATS_URL": nats_url,
        "PSHUB_NATS_PREFIX": prefix,
        "PSHUB_INGEST_BATCH_SIZE": str(batch),
        "PSHUB_LOG_LEVEL": "WARNING",
    }
    # Its output goes to a file: an undrained pipe would stall the worker once full.
    out = Path(tempfile.mkstemp(prefix="pshub-worker-")[1])
    with out.open("wb") as sink:
        proc = kids.popen(
            [sys.executable, "-m", "hub.cli", "worker", "--run", run],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"worker running" not in out.read_bytes():  # subscribed
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start: {out.read_text()[-2000:]}")
        time.sleep(0.05)
    out.unlink()  # the worker keeps writing to it, unnamed
    return proc


def profile_summary(
    path: Path, top: int = 15
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Self and inclusive time by function from py-spy's raw (collapsed) output."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        self_time[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
        total += n
    share = lambda c: [(name, 100.0 * n / total) for name, n in c.most_common(top)]  # noqa: E731
    return share(self_time), share(inclusive)


def cpu_seconds(roles: dict[str, list[int]]) -> dict[str, float]:
    """CPU time (user + system) used so far by each role's processes, and by PostgreSQL's
    and NATS's server processes, found by name: where the two cores go."""
    found: dict[str, list[psutil.Process]] = {r: [] for r in roles}
    found.update({"postgresql": [], "nats-server": []})
    for role, pids in roles.items():
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                found[role].append(psutil.Process(pid))
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if name.startswith("postgres"):
            found["postgresql"].append(proc)
        elif name.startswith("nats-server"):
            found["nats-server"].append(proc)
    used: dict[str, float] = {}
    for role, procs in found.items():
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        used[role] = total
    return used


def raw_baseline(url: str, count: int) -> list[Figure]:
    state = json.dumps(
        {
            "engagement_id": {"_type_": "uuid_hex", "_data_": uuid.uuid4().hex},
            "hours": {"_type_": "decimal_str", "_data_": "7.50"},
            "work_date": {"_type_": "date_iso", "_data_": "2026-03-02"},
        }
    ).encode()
    now = datetime.now(UTC)
    rows = [
        (
            i,
            "time_entry",
            uuid.uuid4(),
            1,
            "domain.time_entry:TimeEntry.Recorded",
            state,
            now,
            now,
            "harvest",
            str(uuid.uuid4()),
            "c",
            "c",
            "ingest",
            os.urandom(32),
        )
        for i in range(count)
    ]
    insert = "INSERT INTO raw_events VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE raw_events (notification_id bigint, entity text, "
            "originator_id uuid, originator_version bigint, topic text, state bytea, "
            "recorded_at timestamptz, occurred_at timestamptz, system text, "
            "message_id text, correlation_id text, causation_id text, actor text, "
            "hash bytea, PRIMARY KEY (originator_id, originator_version))"
        )

        def single() -> None:
            for row in rows:
                conn.execute(insert, row, prepare=True)

        one = timed("raw psycopg, one row per transaction", count, single)
        conn.execute("TRUNCATE raw_events")

        def batched() -> None:
            with conn.cursor() as cur:
                for i in range(0, count, 100):
                    with conn.transaction():
                        cur.executemany(insert, rows[i : i + 100])

        many = timed("raw psycopg, 100 rows per transaction", count, batched)
    return [one, many]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="py-spy the hub while it works")
    parser.add_argument(
        "--projections",
        choices=("separate", "together", "after"),
        default="separate",
        help="projections in their own process while ingest runs (default), in the ingesting "
        "process, or only after the measured window (ingest gets the machine to itself)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="ingest processes in all (extra ones are `pshub worker`)",
    )
    args = parser.parse_args()
    nats_url = bench_nats_url()
    bodies = workload(args.messages)
    distinct = len({b["id"] for b in bodies})
    kinds = collections.Counter(b["type"].split(".")[1] for b in bodies)
    print(
        f"ingest benchmark: {len(bodies)} messages ({distinct} distinct ids), "
        f"batch {args.batch}; mix {dict(kinds)}"
    )
    # Children stop first, then the streams go, then the database: also on Ctrl-C.
    with (
        scratch_database("ingest") as url,
        scratch_streams(nats_url) as prefix,
        children() as kids,
    ):
        messages = encoded(Streams(prefix), bodies)
        if args.projections == "together":
            proc, _ = start_hub(kids, url, nats_url, prefix, args.batch)
            helper = None
        elif args.projections == "after":
            proc, _ = start_hub(kids, url, nats_url, prefix, args.batch, run="ingest")
            helper = None
        else:
            proc, _ = start_hub(kids, url, nats_url, prefix, args.batch, run="ingest")
            helper, _ = start_hub(kids, url, nats_url, prefix, args.batch, run="projections")
        workers = [
            start_worker(kids, url, nats_url, prefix, args.batch) for _ in range(args.workers - 1)
        ]
        spy = None
        try:
            if args.profile:
                collapsed = Path(tempfile.mkdtemp()) / "ingest.collapsed"
                spy = kids.popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--gil",
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "-o",
                        str(collapsed),
                        "--pid",
                        str(proc.pid),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            roles = {
                "hub ingest": [proc.pid, *(w.pid for w in workers)],
                "hub projections": [helper.pid] if helper is not None else [],
                "bench publisher": [os.getpid()],
            }
            cpu_before = cpu_seconds(roles)
            start = time.perf_counter()
            asyncio.run(publish(nats_url, messages))
            published = time.perf_counter() - start
            # Done when every id is decided and every publish reached the hub (a redelivery,
            # say after a worker's conflict, is counted too and changes nothing).
            while True:
                ids, deliveries = decided(url)
                if ids == distinct and deliveries >= len(bodies):
                    break
                if time.perf_counter() - start > 1800:
                    raise SystemExit(f"gave up: decided {ids} of {distinct}")
                # A hub that is gone decides nothing more: say so rather than wait 30 minutes
                # (a Ctrl-C that reached the hubs but not this wait left it polling on).
                gone = [p.pid for p in (proc, *workers) if p.poll() is not None]
                if gone:
                    raise SystemExit(f"hub process {gone} exited: decided {ids} of {distinct}")
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            cpu_after = cpu_seconds(roles)
        finally:
            if spy is not None:  # first, so that it writes its profile
                stop([spy], 30)
            kids.stop()  # the hubs stop before the figures are read
        with psycopg.connect(url) as conn:
            outcomes = dict(
                conn.execute(
                    "SELECT outcome, count(*) FROM hub_ingest_messages GROUP BY 1"
                ).fetchall()
            )
            (events,) = conn.execute("SELECT count(*) FROM hub_events").fetchone()
        end_to_end = Figure("hub, publish to durable in PostgreSQL", len(bodies), elapsed)
        baseline = raw_baseline(url, len(bodies))
    print(f"  published in {published:.2f} s; outcomes {outcomes}; {events} domain events")
    for f in (end_to_end, *baseline):
        print(f"  {f.name:<42} {f.rate:>10,.0f} /s  ({f.seconds:.2f} s)")
    print(f"  ratio hub end-to-end / raw batched:      {end_to_end.rate / baseline[1].rate:.2f}")
    print(f"  ratio hub end-to-end / raw single:       {end_to_end.rate / baseline[0].rate:.2f}")
    print(f"  CPU time while it ran ({elapsed:.1f} s wall, 2 cores = {2 * elapsed:.1f} s):")
    for role, after in cpu_after.items():
        used = after - cpu_before.get(role, 0.0)
        print(f"    {role:<18} {used:7.1f} s  {1e6 * used / len(bodies):6.0f} us/message")
    if args.profile and spy is not None:
        print(f"  (raw profile: {collapsed})")
        own, inclusive = profile_summary(collapsed, 25)
        print("  profile of the hub process while holding the GIL (self time):")
        for name, share in own:
            print(f"    {share:5.1f} %  {name}")
        print("  ... and inclusive time:")
        for name, share in inclusive:
            print(f"    {share:5.1f} %  {name}")


if __name__ == "__main__":
    main()
