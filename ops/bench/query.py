"""Query benchmark: GET by id, a filtered list and a name search from the hub, against a
minimal FastAPI + psycopg app running the same queries on the same rows and indexes, in the
same run; and time-travel reads of a record with 1,000 events. Prints figures; never part of
the test suite's pass/fail.

    .venv/bin/python ops/bench/query.py [--events 1000000] [--seconds 20] [--connections 32]

Drives the load with `wrk` (apt-get install wrk; brew install wrk), which it checks for first.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from domain.client import Client
from hub.auth import TokenStore
from hub.bootstrap import build_application
from hub.demo import DemoSpec, load_demo
from hub.embedded import free_port
from hub.projecting import KINDS
from hub.settings import Settings
from hub.store.recorder import EventMeta
from ops.bench.common import kept_database, scratch_database, scratch_streams, stop
from ops.bench.query_baseline import search_statement
from projections.golden_records.search import fold

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


WRK_MISSING = """ops/bench/query.py drives its load with wrk, which is not installed here.
Install it, then run the benchmark again:
    apt-get install wrk        (Debian, Ubuntu)
    brew install wrk           (macOS)
or build it from https://github.com/wg/wrk."""


class Server:
    """A server process of the benchmark, its output kept in a file to show if it dies."""

    def __init__(self, name: str, args: list[str], **popen: object) -> None:
        self.name = name
        slug = name.replace(" ", "-")
        self.log = Path(tempfile.mkstemp(prefix=f"pshub-bench-{slug}-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.name}'s output ({self.log}) ---\n" + "\n".join(text)

    def check(self) -> None:
        """Exits, naming the server, if it is no longer running."""
        code = self.proc.poll()
        if code is not None:
            raise SystemExit(f"{self.name} exited with code {code} (its output is above)")


@contextmanager
def servers(*running: Server) -> Iterator[None]:
    """Stops the servers afterwards; on a failure, shows what each one said last (their
    output goes to files, not to this terminal, so that it does not interleave with figures)."""
    try:
        yield
        stop([server.proc for server in running])
        for server in running:
            server.log.unlink(missing_ok=True)  # kept only when something went wrong
    except Exception:
        for server in running:
            print(server.tail(), file=sys.stderr)
        raise
    except SystemExit as exc:
        if exc.code not in (0, None):
            for server in running:
                print(server.tail(), file=sys.stderr)
        raise
    finally:
        stop([server.proc for server in running])


def wait_ready(base: str, server: Server, path: str = "/health") -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        server.check()
        try:
            if httpx.get(base + path, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{server.name} ({base}) did not start within 120 s (its output is above)")


def wrk(
    base: str, paths: list[str], token: str, seconds: int, connections: int, *watched: Server
) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and non-2xx answers."""
    folder = Path(tempfile.mkdtemp(prefix="pshub-wrk-"))
    (folder / "paths.txt").write_text("\n".join(paths) + "\n")
    (folder / "script.lua").write_text(LUA % (folder / "paths.txt", token))
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(folder / "script.lua"), base],
        capture_output=True,
        text=True,
        check=False,
    )
    for server in watched:
        server.check()
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    _, requests, micros, p50, p99, errors = line.split()
    return (int(requests) / (int(micros) / 1e6), float(p50) / 1000, float(p99) / 1000, int(errors))


def thousand_event_record_of(app: object) -> tuple[str, list[datetime]]:
    """The record thousand_event_record made in a kept database, and instants across it."""
    with app.hub_recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            "SELECT originator_id, recorded_at FROM hub_events WHERE originator_id = ("
            "  SELECT originator_id FROM hub_events GROUP BY originator_id"
            "  HAVING count(*) >= 1000 LIMIT 1) ORDER BY originator_version"
        ).fetchall()
    if not rows:
        raise SystemExit("the kept database has no record with 1,000 events: drop it and reload")
    instants = [rows[i]["recorded_at"] for i in range(99, len(rows), 100)]
    return str(rows[0]["originator_id"]), instants


def thousand_event_record(app: object) -> tuple[str, list[datetime]]:
    """A client revised until it has 1,000 events; returns its id and instants between them."""
    client, _ = app.register_client(
        legal_name="Time Travel Benchmark Ltd",
        country="GB",  # type: ignore[attr-defined]
        billing_currency="GBP",
        meta=EventMeta(system="bench"),
    )
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
    parser.add_argument(
        "--profile",
        nargs="?",
        const="GET by id",
        default=None,
        metavar="RUN",
        help="py-spy the hub during a run whose name starts with RUN (default "
        "'GET by id'; e.g. 'name search'): GIL-holding samples",
    )
    parser.add_argument(
        "--keep",
        metavar="NAME",
        default=None,
        help="load into database pshub_bench_kept_NAME and keep it; a later run "
        "with the same NAME skips the loading and measures only",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_MISSING)
    scale = max(0.05, args.events / DEMO_EVENTS_AT_SCALE_1)
    nats_url = os.environ.get("PSHUB_BENCH_NATS_URL", "nats://127.0.0.1:4222")
    database = kept_database(args.keep) if args.keep else scratch_database("query")
    with database as url, scratch_streams(nats_url) as prefix:
        settings = Settings(database_url=url, nats_url=nats_url)
        app = build_application(settings, url)
        head = app.hub_recorder.select_head()[0]
        if head:
            loading = "loaded by an earlier run into the kept database"
            record_id, instants = thousand_event_record_of(app)
        else:
            started = time.perf_counter()
            summary = load_demo(app, DemoSpec(seed=5, scale=scale), progress=True)
            took = time.perf_counter() - started
            loading = f"{summary.events:,} demo events loaded in {took:.0f} s"
            record_id, instants = thousand_event_record(app)
            head = app.hub_recorder.select_head()[0]
        # A token of this run's own: a kept database holds the earlier runs' tokens too.
        token = TokenStore(url).create(
            f"bench-{prefix}", ["read", "read:pii", "read:confidential", "operate"]
        )
        app.close()
        print(
            f"query benchmark: {head:,} events ({loading}); {args.connections} connections, "
            f"{args.seconds} s per run"
        )

        port, base_port = free_port(), free_port()
        env = {
            **os.environ,
            "PSHUB_DATABASE_URL": url,
            "PSHUB_NATS_URL": nats_url,
            "PSHUB_NATS_PREFIX": prefix,
            "PSHUB_RATE_LIMIT": "1000000",
            "PSHUB_RATE_BURST": "1000000",
            "PSHUB_LOG_LEVEL": "WARNING",
            "PSHUB_RUN": "",
            "PSHUB_DB_POOL_SIZE": "8",
        }
        root = Path(__file__).resolve().parents[2]
        hub = Server(
            "hub API", [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)], env=env
        )
        baseline = Server(
            "baseline app",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "ops.bench.query_baseline:app",
                "--port",
                str(base_port),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "PSHUB_BENCH_BASELINE_URL": url},
            cwd=root,
        )
        # Production's shape: the API process serves reads; projections run in a worker.
        projector = Server(
            "projection worker",
            [sys.executable, "-m", "hub.cli", "worker", "--run", "projections"],
            env=env,
        )
        hub_url, base_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        with servers(hub, baseline, projector):
            wait_ready(hub_url, hub)
            bearer = f"Bearer {token}"
            started = time.perf_counter()
            while True:  # the projection catches up with the whole log first
                projector.check()
                hub.check()
                answer = httpx.get(
                    f"{hub_url}/v1/projections", headers={"Authorization": bearer}, timeout=30
                )
                if answer.status_code != 200:  # e.g. 503 while the store restarts: say so
                    print(f"  /v1/projections answered {answer.status_code}: {answer.text[:200]}")
                    time.sleep(5)
                    continue
                items = answer.json()["items"]
                # Only those the worker runs: the relay and feeds have no process here.
                if all(p["lag"] == 0 for p in items if p["name"] in RUN_BY_WORKER):
                    break
                time.sleep(1)
            print(f"  projections caught up in {time.perf_counter() - started:.0f} s")
            settle_statistics(url)
            wait_ready(base_url, baseline, "/docs")
            args.hub_pid = hub.proc.pid
            args.watched = (hub, baseline, projector)
            run(hub_url, base_url, bearer, url, record_id, instants, args)


# The projections the bench's worker runs (`--run projections`: every kind, golden records,
# exceptions, metrics, billing readiness); the relay and feeds have no process here, and their
# lag would never reach zero. Measuring before all of them catch up measured the worker's
# catching up too (a core busy beside the queries).
RUN_BY_WORKER = tuple(KINDS)


def settle_statistics(url: str) -> None:
    """Analyses the golden records as autovacuum keeps doing on a live hub: right after a bulk
    fill its statistics may still describe the tables half full (invoices still drafts)."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        stale = conn.execute(
            "SELECT relname, n_mod_since_analyze, n_live_tup, "
            "extract(epoch FROM now() - greatest(last_analyze, last_autoanalyze)) AS age "
            "FROM pg_stat_user_tables WHERE schemaname = 'golden_g1' "
            "AND relname IN ('golden_clients', 'golden_engagements', 'golden_invoices')"
        ).fetchall()
        for name, modified, live, age in stale:
            ago = "never" if age is None else f"{age:.0f} s ago"
            print(f"    {name}: {live:,} rows, {modified:,} changed since analysed ({ago})")
        conn.execute(
            "ANALYZE golden_g1.golden_clients, golden_g1.golden_engagements, "
            "golden_g1.golden_resources, golden_g1.golden_knowledge_assets, "
            "golden_g1.golden_invoices"
        )
    print("  analysed the searched tables (what autovacuum does on a live hub)")


def run(
    hub_url: str,
    base_url: str,
    bearer: str,
    url: str,
    record_id: str,
    instants: list[datetime],
    args: argparse.Namespace,
) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        clients = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM golden_g1.golden_clients ORDER BY random() LIMIT 1000"
            )
        ]
        entries = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM golden_g1.golden_time_entries ORDER BY random() LIMIT 2000"
            )
        ]
        engagements = [
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT engagement_id FROM golden_g1.golden_time_entries LIMIT 500"
            )
        ]
        searches = name_searches(conn, random.Random(7))
        plans = explain_searches(conn, searches)
    runs = {
        "GET by id": (
            [f"/v1/time-entries/{i}" for i in entries] + [f"/v1/clients/{i}" for i in clients],
            [f"/records/time_entries/{i}" for i in entries]
            + [f"/records/clients/{i}" for i in clients],
        ),
        "filtered list (100 time entries of an engagement)": (
            [f"/v1/time-entries?engagement_id={e}&limit=100" for e in engagements],
            [f"/list/time_entries?engagement_id={e}&limit=100" for e in engagements],
        ),
        "name search (clients, engagements, people, assets, invoices; 20 a page)": (
            [f"/v1/{c.replace('_', '-')}?{urlencode({k: v, 'limit': 20})}" for c, k, v in searches],
            [f"/search/{c}?{urlencode({k: v, 'limit': 20})}" for c, k, v in searches],
        ),
    }
    print(f"  name search: {len(searches):,} queries; plans on this data:")
    for line in plans:
        print(f"    {line}")
    for name, (hub_paths, base_paths) in runs.items():
        base = wrk(base_url, base_paths, bearer, args.seconds, args.connections, *args.watched)
        spy = None
        if args.profile and name.startswith(args.profile):
            from ops.bench.ingest import profile_summary  # noqa: PLC0415

            collapsed = Path(tempfile.mkdtemp()) / "query.collapsed"
            spy = subprocess.Popen(
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
                    str(args.hub_pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ours = wrk(hub_url, hub_paths, bearer, args.seconds, args.connections, *args.watched)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        print(f"  {name}:")
        print(
            f"    baseline  {base[0]:>8,.0f} req/s  p50 {base[1]:6.1f} ms  p99 {base[2]:6.1f} ms"
            f"  non-2xx {base[3]}"
        )
        print(
            f"    hub       {ours[0]:>8,.0f} req/s  p50 {ours[1]:6.1f} ms  p99 {ours[2]:6.1f} ms"
            f"  non-2xx {ours[3]}"
        )
        print(
            f"    hub/baseline: {ours[0] / base[0]:.2f} of the requests/s, p99 "
            f"{ours[2] / base[2]:.2f}x"
        )
        if spy is not None:
            own, inclusive = profile_summary(collapsed, 30)
            for label, entries in (("self", own), ("inclusive", inclusive)):
                print(f"    hub profile while holding the GIL ({label}):")
                for fn, share in entries:
                    print(f"      {share:5.1f} %  {fn}")
    latencies = []
    with httpx.Client(base_url=hub_url, headers={"Authorization": bearer}) as client:
        for _ in range(300):
            instant = random.choice(instants)
            started = time.perf_counter()
            resp = client.get(f"/v1/clients/{record_id}", params={"as_of": instant.isoformat()})
            latencies.append((time.perf_counter() - started) * 1000)
            assert resp.status_code == 200, resp.text
    latencies.sort()
    print(
        f"  as_of on a record with 1,000 events (300 sequential reads): p50 "
        f"{statistics.median(latencies):.1f} ms, p99 {latencies[int(len(latencies) * 0.99)]:.1f}"
        " ms"
    )


# What people type to find a record: a word's start, a piece of a word, the name in capitals,
# two words, a word's first two letters. (collection, parameter, value)
Search = tuple[str, str, str]
SEARCHED = {
    "clients": "legal_name",
    "engagements": "name",
    "resources": "name",
    "knowledge_assets": "title",
    "invoices": "number",
}


def name_searches(conn: object, rng: random.Random, per_table: int = 300) -> list[Search]:
    """Queries drawn from the records' own names, so that most find something."""
    searches: list[Search] = []
    for table, field in SEARCHED.items():
        names = [
            r[0]
            for r in conn.execute(  # type: ignore[attr-defined]
                f"SELECT record->>'{field}' FROM golden_g1.golden_{table} "
                f"WHERE record->>'{field}' <> '' ORDER BY random() LIMIT {per_table}"
            )
        ]
        for name in names:
            words = [w for w in name.split() if len(w) >= 3] or [name]
            word = rng.choice(words)
            start = rng.randint(0, max(0, len(word) - 4))
            searches += [
                (table, "name", word[: rng.randint(3, min(6, len(word)))]),
                (table, "name", word[start : start + 4]),
                (table, "name", name.upper()[: rng.randint(5, 12)]),
                (table, "q", " ".join(rng.sample(words, min(2, len(words))))),
                (table, "name", word[:2]),
            ]
    rng.shuffle(searches)
    return searches


def explain_searches(conn: object, searches: list[Search]) -> list[str]:
    """How PostgreSQL answers a few of the searches: the nodes and indexes of each plan."""
    lines = []
    for table in ("clients", "engagements", "knowledge_assets", "invoices"):
        for _, key, value in [s for s in searches if s[0] == table][:3]:
            statement, params = search_statement(table, key, value, 21)
            plan = conn.execute(  # type: ignore[attr-defined]
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
            ).fetchone()[0][0]
            lines.append(
                f"{table}?{key}={fold(value)!r}: {_nodes(plan['Plan'])}, "
                f"{plan['Execution Time']:.2f} ms"
            )
    lines.append("([expected rows/found rows] per node)")
    return lines


def _nodes(node: dict[str, object]) -> str:
    """A plan as its nodes, outermost first, with the rows each expected and found."""
    name = str(node["Node Type"])
    if "Index Name" in node:
        name += f" ({node['Index Name']})"
    name += f" [{node['Plan Rows']}/{node['Actual Rows']}]"
    children = node.get("Plans") or []
    return name + "".join(f" < {_nodes(child)}" for child in children)  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
