"""Rebuild benchmark: the golden records rebuilt blue/green from position zero over the whole
log, against, in the same run, a raw psycopg read of the events table plus batched upserts of
the same number of view rows. Prints both rates and their ratio (the target: the rebuild at
least 50 % of the raw rate); never part of the test suite's pass/fail.

    .venv/bin/python ops/bench/rebuild.py [--events 1000000] [--profile] [--projection NAME]

`--projection feed.<target>` rebuilds that feed instead (hub.feeds.running.rebuild_feed, from
position zero, nothing published): the figure to watch is its CPU per event, steady across
runs where the live feed bench (ops/bench/feeds.py) swings with the machine's load. The raw
baseline stays the golden records' floor, so no ratio is printed for a feed.

The log is the demo firm, scaled to about --events events (ops/bench/query.py loads its log
the same way). The rebuild runs in a child process, as `pshub projections rebuild` does it
(`hub.projecting.rebuild`: a fresh generation beside the live one, pages of 2,000 events,
the switch, no grace before the old generation is dropped), timed from its start (the new
generation's tables made) to the old generation dropped. The raw baseline, in this process:
the events table read in pages of the same size
with a binary cursor, and for each page one row per record it touches (its newest event's
JSON as the record) upserted into tables of the golden tables' very layout and indexes
(COPY into a temporary table, then INSERT .. ON CONFLICT with the version guard: the
fastest batched upsert psycopg has), one transaction per page, committed without waiting for
the WAL flush as a rebuild's pages are. No decoding, no aggregates,
no golden-record JSON: the floor a rebuild cannot beat.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.sql import SQL, Identifier

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hub.bootstrap import build_application
from hub.demo import DemoSpec, load_demo
from hub.projecting import REBUILD_PAGE
from hub.settings import Settings
from ops.bench.common import Figure, children, scratch_database, stop
from ops.bench.ingest import profile_summary
from projections.golden_records.columns import FILTERS, table_name

DEMO_EVENTS_AT_SCALE_1 = 49_000
PAGE = REBUILD_PAGE  # the raw baseline reads and writes pages of the rebuild's size


def load_log(url: str, events: int) -> int:
    """Records the demo firm, scaled to about `events` events; returns the log's head."""
    app = build_application(Settings(database_url=url), url)
    try:
        load_demo(app, DemoSpec(scale=max(events / DEMO_EVENTS_AT_SCALE_1, 0.05)), progress=True)
        return app.hub_recorder.select_head()[0]
    finally:
        app.close()


def child(url: str, name: str) -> None:
    """The rebuild, in a process of its own (py-spy attaches to it); prints its figures."""
    from hub.collector import tune_garbage_collector  # noqa: PLC0415 (the child's own import)
    from hub.feeds.running import is_feed, rebuild_feed  # noqa: PLC0415
    from hub.projecting import rebuild  # noqa: PLC0415

    app = build_application(Settings(database_url=url), url)
    tune_garbage_collector()  # as `pshub projections rebuild` does
    start, cpu = time.perf_counter(), time.process_time()
    if is_feed(name):
        done = rebuild_feed(app, name)
        events, generation = app.hub_recorder.select_head()[0], done["generation"]
    else:
        progress = rebuild(app, name, grace=0)
        events, generation = progress.events, progress.generation
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    app.close()
    print(json.dumps({"events": events, "seconds": elapsed, "cpu": cpu, "generation": generation}))


def rebuilt(url: str, profile: Path | None, name: str) -> tuple[Figure, int]:
    """Runs the rebuild in a child process (py-spy on it if asked); its figure, generation."""
    with children() as kids:
        out = Path(tempfile.mkstemp(prefix="pshub-bench-rebuild-")[1])
        with out.open("wb") as sink:
            proc = kids.popen(
                [sys.executable, __file__, "--child", url, "--projection", name],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        spy = None
        if profile is not None:
            spy = kids.popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--idle", "-r", "200",
                 "-f", "raw", "-o", str(profile), "--pid", str(proc.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        code = proc.wait()
        if spy is not None:
            stop([spy])
        text = out.read_text()
        out.unlink()
    if code != 0:
        raise SystemExit(f"the rebuild failed (exit code {code}):\n{text[-3000:]}")
    figures = json.loads(text.strip().splitlines()[-1])
    name = f"{name} rebuild"
    print(f"  (the rebuilding process used {figures['cpu']:.1f} s of CPU: "
          f"{1e6 * figures['cpu'] / figures['events']:.0f} us/event)")  # fmt: skip
    return Figure(name, figures["events"], figures["seconds"]), figures["generation"]


def raw(url: str, generation: int) -> tuple[Figure, int]:
    """The raw baseline: read every page of the log, upsert one row per record each page
    touches into copies of the golden tables; returns its figure and the rows upserted."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE SCHEMA bench_raw")
        for entity in FILTERS:
            conn.execute(
                SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    Identifier("bench_raw", table_name(entity)),
                    Identifier(f"golden_g{generation}", table_name(entity)),
                )
            )
        conn.commit()
    names = ("id", "version", "position", "updated_at", "deleted", "record")
    listed = SQL(", ").join(map(Identifier, names))
    assignments = SQL(", ").join(
        SQL("{} = EXCLUDED.{}").format(Identifier(n), Identifier(n)) for n in names[1:]
    )
    statements = {}
    for entity in FILTERS:
        table = Identifier("bench_raw", table_name(entity))
        scratch = Identifier(f"raw_{table_name(entity)}")
        statements[entity] = (
            SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                scratch, table
            ),
            SQL("COPY {} ({}) FROM STDIN").format(scratch, listed),
            SQL(
                "INSERT INTO {t} ({l}) SELECT {l} FROM {s} ON CONFLICT (id) DO UPDATE SET {a} "
                "WHERE {t}.version < EXCLUDED.version"
            ).format(t=table, l=listed, s=scratch, a=assignments),
        )
    read = SQL(
        "SELECT notification_id, originator_id, originator_version, entity, recorded_at, state "
        "FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(Identifier("public", "hub_events"))
    events = rows = 0
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        last = 0
        while True:
            with conn.cursor(binary=True) as cur:
                page = cur.execute(read, (last, PAGE)).fetchall()
            if not page:
                break
            touched: dict[str, dict[object, tuple[object, ...]]] = {}
            for position, oid, version, entity, at, state in page:
                if entity in FILTERS:
                    touched.setdefault(entity, {})[oid] = (
                        oid, version, position, at, False, bytes(state).decode()
                    )  # fmt: skip
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit = off")  # as a rebuild's pages
                for entity, by_id in touched.items():
                    create, copy, upsert = statements[entity]
                    cur.execute(create)
                    with cur.copy(copy) as out:
                        for row in by_id.values():
                            out.write_row(row)
                    cur.execute(upsert)
                    rows += len(by_id)
            events += len(page)
            last = page[-1][0]
    elapsed = time.perf_counter() - start
    return Figure("raw: psycopg page reads + batched upserts", events, elapsed), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="py-spy the rebuilding process")
    parser.add_argument(
        "--projection", default="golden_records", help="golden_records (default), feed.<target>"
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.projection)
        return
    with scratch_database("rebuild") as url:
        started = time.perf_counter()
        head = load_log(url, args.events)
        print(
            f"rebuild benchmark: {head:,} events (loaded in {time.perf_counter() - started:.0f} s)"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        profile = Path(tempfile.mkdtemp()) / "rebuild.collapsed" if args.profile else None
        rebuild, generation = rebuilt(url, profile, args.projection)
        if args.projection != "golden_records":
            print(f"  {rebuild.name:<48} {rebuild.rate:>9,.0f} events/s  ({rebuild.seconds:.1f} s)")
            return
        baseline, rows = raw(url, generation)
        print(f"  {rebuild.name:<48} {rebuild.rate:>9,.0f} events/s  ({rebuild.seconds:.1f} s)")
        print(f"  {baseline.name:<48} {baseline.rate:>9,.0f} events/s  ({baseline.seconds:.1f} s, "
              f"{rows:,} view rows upserted)")  # fmt: skip
        ratio = rebuild.rate / baseline.rate
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"  ratio rebuild / raw: {ratio:.2f}  (target >= 0.50: {verdict})")
        if profile is not None and not profile.exists():
            print("  (py-spy wrote no profile: the run was too short to sample)")
        elif profile is not None:
            # The rebuilding thread's samples only (idle ones too: its waits on PostgreSQL are
            # where much of the time goes), not the connection pool's idle workers.
            lines = profile.read_text().splitlines()
            profile.write_text("\n".join(line for line in lines if "_rebuild (" in line))
            own, inclusive = profile_summary(profile, 25)
            print(f"  profile of the rebuilding thread, wall clock ({profile}):")
            print("   self:")
            for name, share in own:
                print(f"    {share:5.1f} %  {name}")
            print("   inclusive:")
            for name, share in inclusive:
                print(f"    {share:5.1f} %  {name}")


if __name__ == "__main__":
    main()
