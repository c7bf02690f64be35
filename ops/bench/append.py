"""Append benchmark: events through the hub application versus raw psycopg inserts of rows of
the same shape, in the same run, one per transaction and batched. Prints figures; never part
of the test suite's pass/fail.

    .venv/bin/python ops/bench/append.py [--events 10000] [--batch 100]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from domain.client import Client
from hub.bootstrap import build_application
from hub.settings import Settings
from hub.store.recorder import EventMeta
from ops.bench.common import Figure, scratch_database, timed

RAW_TABLE = """
CREATE TABLE raw_events (
    notification_id bigint NOT NULL, entity text NOT NULL, originator_id uuid NOT NULL,
    originator_version bigint NOT NULL, topic text NOT NULL, state bytea NOT NULL,
    recorded_at timestamptz NOT NULL, occurred_at timestamptz, system text NOT NULL,
    message_id text, correlation_id text, causation_id text, actor text NOT NULL,
    hash bytea NOT NULL, PRIMARY KEY (originator_id, originator_version))
"""
RAW_INSERT = "INSERT INTO raw_events VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"


def _clients(count: int, tag: str) -> list[Client]:
    return [
        Client.register(
            id=uuid.uuid4(),
            legal_name=f"Bench {tag} {i} Ltd",
            country="GB",
            billing_currency="GBP",
            tax_id=f"GB{i:09d}",
        )
        for i in range(count)
    ]


def _raw_rows(count: int, state: bytes, start: int) -> list[tuple[object, ...]]:
    now = datetime.now(UTC)
    return [
        (
            start + i,
            "client",
            uuid.uuid4(),
            1,
            "domain.client:Client.Registered",
            state,
            now,
            now,
            "bench",
            f"msg-{start + i}",
            "corr",
            "cause",
            "bench",
            hashlib.sha256(state).digest(),
        )
        for i in range(count)
    ]


def run(events: int, batch: int) -> list[Figure]:
    figures = []
    with scratch_database("append") as url:
        app = build_application(Settings(database_url=url), url)
        meta = EventMeta(system="bench", actor="bench", message_id="m", correlation_id="c")
        try:
            singles = _clients(events, "single")
            figures.append(
                timed(
                    "hub, one aggregate per transaction",
                    events,
                    lambda: [app.record(c, meta=meta) for c in singles],
                )
            )
            batched = _clients(events, "batched")
            chunks = [batched[i : i + batch] for i in range(0, events, batch)]
            figures.append(
                timed(
                    f"hub, {batch} aggregates per transaction",
                    events,
                    lambda: [app.record(*chunk, meta=meta) for chunk in chunks],
                )
            )
            state = app.mapper.to_stored_event(_clients(1, "shape")[0].collect_events()[0]).state
        finally:
            app.close()

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(RAW_TABLE)
            rows = _raw_rows(events, state, 1)

            def one_per_transaction() -> None:
                for row in rows:
                    conn.execute(RAW_INSERT, row, prepare=True)

            figures.append(
                timed("raw psycopg, one row per transaction", events, one_per_transaction)
            )
            rows = _raw_rows(events, state, events + 1)

            def batched_rows() -> None:
                with conn.cursor() as cur:
                    for i in range(0, events, batch):
                        with conn.transaction():
                            cur.executemany(RAW_INSERT, rows[i : i + batch])

            figures.append(
                timed(f"raw psycopg, {batch} rows per transaction", events, batched_rows)
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    figures = run(args.events, args.batch)
    print(f"append benchmark: {args.events} events per run, batches of {args.batch}")
    for f in figures:
        print(f"  {f.name:<42} {f.rate:>10,.0f} events/s  ({f.seconds:.2f} s)")
    hub_single, hub_batch, raw_single, raw_batch = figures
    print(f"  ratio hub/raw, one per transaction:      {hub_single.rate / raw_single.rate:.2f}")
    print(f"  ratio hub/raw, batched:                  {hub_batch.rate / raw_batch.rate:.2f}")


if __name__ == "__main__":
    main()
