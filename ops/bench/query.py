"""Query benchmark: GET by id and a filtered list from the hub, against a minimal FastAPI +
psycopg app selecting the same rows by primary key, in the same run; and time-travel reads of
a record with 1,000 events. Prints figures; never part of the test suite's pass/fail.

    .venv/bin/python ops/bench/query.py [--events 1000000] [--seconds 20] [--connections 32]

Needs `wrk` (Debian package wrk) for the load.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from domain.client import Client
from hub.auth import TokenStore
from hub.bootstrap import build_application
from hub.demo import DemoSpec, load_demo
from hub.embedded import free_port
from hub.settings import Settings
from hub.store.recorder import EventMeta
from ops.bench.common import scratch_database, scratch_streams, stop

DEMO_EVENTS_AT_SCALE_1 = 48_800

LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "%s"
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f %%f %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status))
end
"""


def wait_ready(base: str, proc: subprocess.Popen[bytes], path: str = "/health") -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server {base} exited")
        try:
            if httpx.get(base + path, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server {base} did not start")


def wrk(base: str, paths: list[str], token: str, seconds: int, connections: int
        ) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and non-2xx answers."""
    folder = Path(tempfile.mkdtemp(prefix="pshub-wrk-"))
    (folder / "paths.txt").write_text("\n".join(paths) + "\n")
    (folder / "script.lua").write_text(LUA % (folder / "paths.txt", token))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s",
                          str(folder / "script.lua"), base], capture_output=True, text=True,
                         check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    _, requests, micros, p50, p99, errors = line.split()
    return (int(requests) / (int(micros) / 1e6), float(p50) / 1000, float(p99) / 1000,
            int(errors))


def thousand_event_record(app: object) -> tuple[str, list[datetime]]:
    """A client revised until it has 1,000 events; returns its id and instants between them."""
    client, _ = app.register_client(legal_name="Time Travel Benchmark Ltd", country="GB",  # type: ignore[attr-defined]
                                     billing_currency="GBP", meta=EventMeta(system="bench"))
    instants = []
    for batch in range(10):
        stored = app.get(client.id, Client)  # type: ignore[attr-defined]
        for i in range(100 if batch else 99):
            stored.revise(legal_name=f"Time Travel Benchmark {batch * 100 + i} Ltd")
        app.record(stored, meta=EventMeta(system="bench"))  # type: ignore[attr-defined]
        instants.append(datetime.now(UTC))
        time.sleep(0.01)
    return str(client.id), instants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the hub during its GET-by-id run (GIL-holding samples)")
    args = parser.parse_args()
    scale = max(0.05, args.events / DEMO_EVENTS_AT_SCALE_1)
    nats_url = os.environ.get("PSHUB_BENCH_NATS_URL", "nats://127.0.0.1:4222")
    with scratch_database("query") as url, scratch_streams(nats_url) as prefix:
        settings = Settings(database_url=url, nats_url=nats_url)
        app = build_application(settings, url)
        started = time.perf_counter()
        summary = load_demo(app, DemoSpec(seed=5, scale=scale), progress=True)
        loaded = time.perf_counter() - started
        record_id, instants = thousand_event_record(app)
        head = app.hub_recorder.select_head()[0]
        token = TokenStore(url).create("bench", ["read", "read:pii", "read:confidential",
                                                 "operate"])
        app.close()
        print(f"query benchmark: {head:,} events ({summary.events:,} demo events loaded in "
              f"{loaded:.0f} s); {args.connections} connections, {args.seconds} s per run")

        port, base_port = free_port(), free_port()
        env = {**os.environ, "PSHUB_DATABASE_URL": url, "PSHUB_NATS_URL": nats_url,
               "PSHUB_NATS_PREFIX": prefix, "PSHUB_RATE_LIMIT": "1000000",
               "PSHUB_RATE_BURST": "1000000", "PSHUB_LOG_LEVEL": "WARNING",
               "PSHUB_RUN": "", "PSHUB_DB_POOL_SIZE": "8"}
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        baseline = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ops.bench.query_baseline:app", "--port",
             str(base_port), "--log-level", "warning"],
            env={**os.environ, "PSHUB_BENCH_BASELINE_URL": url},
            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        # Production's shape: the API process serves reads; projections run in a worker.
        projector = subprocess.Popen([sys.executable, "-m", "hub.cli", "worker", "--run",
                                      "projections"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        hub_url, base_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        try:
            wait_ready(hub_url, hub)
            bearer = f"Bearer {token}"
            started = time.perf_counter()
            while True:  # the projection catches up with the whole log first
                items = httpx.get(f"{hub_url}/v1/projections", headers={"Authorization": bearer},
                                  timeout=30).json()["items"]
                if all(p["lag"] == 0 for p in items):
                    break
                time.sleep(1)
            print(f"  projections caught up in {time.perf_counter() - started:.0f} s")
            wait_ready(base_url, baseline, "/docs")
            args.hub_pid = hub.pid
            run(hub_url, base_url, bearer, url, record_id, instants, args)
        finally:
            stop([hub, baseline, projector])


def run(hub_url: str, base_url: str, bearer: str, url: str, record_id: str,
        instants: list[datetime], args: argparse.Namespace) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        clients = [str(r[0]) for r in conn.execute(
            "SELECT id FROM golden_g1.golden_clients ORDER BY random() LIMIT 1000")]
        entries = [str(r[0]) for r in conn.execute(
            "SELECT id FROM golden_g1.golden_time_entries ORDER BY random() LIMIT 2000")]
        engagements = [str(r[0]) for r in conn.execute(
            "SELECT DISTINCT engagement_id FROM golden_g1.golden_time_entries LIMIT 500")]
    runs = {
        "GET by id": (
            [f"/v1/time-entries/{i}" for i in entries] + [f"/v1/clients/{i}" for i in clients],
            [f"/records/time_entries/{i}" for i in entries]
            + [f"/records/clients/{i}" for i in clients]),
        "filtered list (100 time entries of an engagement)": (
            [f"/v1/time-entries?engagement_id={e}&limit=100" for e in engagements],
            [f"/list/time_entries?engagement_id={e}&limit=100" for e in engagements]),
    }
    for name, (hub_paths, base_paths) in runs.items():
        base = wrk(base_url, base_paths, bearer, args.seconds, args.connections)
        spy = None
        if args.profile and name == "GET by id":
            from ops.bench.ingest import profile_summary  # noqa: PLC0415

            collapsed = Path(tempfile.mkdtemp()) / "query.collapsed"
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record",
                                    "--gil", "-r", "200", "-f", "raw", "-o", str(collapsed),
                                    "--pid", str(args.hub_pid)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        ours = wrk(hub_url, hub_paths, bearer, args.seconds, args.connections)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
            own, _ = profile_summary(collapsed, 30)
            print("    hub profile while holding the GIL (self):")
            for fn, share in own:
                print(f"      {share:5.1f} %  {fn}")
        print(f"  {name}:")
        print(f"    baseline  {base[0]:>8,.0f} req/s  p50 {base[1]:6.1f} ms  p99 {base[2]:6.1f} ms"
              f"  non-2xx {base[3]}")
        print(f"    hub       {ours[0]:>8,.0f} req/s  p50 {ours[1]:6.1f} ms  p99 {ours[2]:6.1f} ms"
              f"  non-2xx {ours[3]}")
        print(f"    hub/baseline: {ours[0] / base[0]:.2f} of the requests/s, p99 "
              f"{ours[2] / base[2]:.2f}x")
    latencies = []
    with httpx.Client(base_url=hub_url, headers={"Authorization": bearer}) as client:
        for _ in range(300):
            instant = random.choice(instants)
            started = time.perf_counter()
            resp = client.get(f"/v1/clients/{record_id}", params={"as_of": instant.isoformat()})
            latencies.append((time.perf_counter() - started) * 1000)
            assert resp.status_code == 200, resp.text
    latencies.sort()
    print(f"  as_of on a record with 1,000 events (300 sequential reads): p50 "
          f"{statistics.median(latencies):.1f} ms, p99 {latencies[int(len(latencies) * 0.99)]:.1f}"
          " ms")


if __name__ == "__main__":
    main()
