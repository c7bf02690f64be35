"""The query benchmark's baseline: a minimal FastAPI + psycopg app doing a primary-key select
of the same golden-record rows the hub serves. Run by ops/bench/query.py as its own server.

    PSHUB_BENCH_BASELINE_URL=<conninfo> uvicorn ops.bench.query_baseline:app
"""

from __future__ import annotations

import os
from uuid import UUID

from fastapi import FastAPI
from fastapi.responses import Response
from psycopg_pool import ConnectionPool

pool = ConnectionPool(os.environ["PSHUB_BENCH_BASELINE_URL"], min_size=8, max_size=8, open=True)
app = FastAPI()


@app.get("/records/{table}/{record_id}")
def get_record(table: str, record_id: UUID) -> Response:
    # The table name comes from a fixed set the benchmark uses, never from users.
    tables = {"clients": "golden_g1.golden_clients",
              "time_entries": "golden_g1.golden_time_entries"}
    with pool.connection() as conn:
        row = conn.execute(f"SELECT record::text FROM {tables[table]} WHERE id = %s",
                           (record_id,), prepare=True).fetchone()
    if row is None:
        return Response(status_code=404)
    return Response(content=row[0], media_type="application/json")


@app.get("/list/time_entries")
def list_records(engagement_id: UUID, limit: int = 100) -> Response:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT record::text FROM golden_g1.golden_time_entries WHERE engagement_id = %s "
            "ORDER BY id LIMIT %s", (engagement_id, limit), prepare=True).fetchall()
    return Response(content="[" + ",".join(r[0] for r in rows) + "]",
                    media_type="application/json")
