"""The query benchmark's baseline: a minimal FastAPI + psycopg app running the queries the hub
runs (a primary-key select, a filtered list, a name search on the same trigram index) on the
same golden-record rows. Run by ops/bench/query.py as its own server.

    PSHUB_BENCH_BASELINE_URL=<conninfo> uvicorn ops.bench.query_baseline:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from fastapi import FastAPI
from fastapi.responses import Response
from psycopg_pool import ConnectionPool

from projections.golden_records.search import fold, like_pattern

# Opened when the server starts: ops/bench/query.py imports search_statement without one.
pool = ConnectionPool(
    os.environ.get("PSHUB_BENCH_BASELINE_URL", ""), min_size=8, max_size=8, open=False
)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    pool.open()
    yield
    pool.close()


app = FastAPI(lifespan=lifespan)
# The tables the benchmark searches, from a fixed set (never from users).
SEARCHED = ("clients", "engagements", "resources", "knowledge_assets", "invoices")


def search_statement(table: str, key: str, value: str, limit: int) -> tuple[str, list[object]]:
    """The hub's search: the folded text (whole for name, each word for q) LIKE the column."""
    folded = fold(value)
    terms = [folded] if key == "name" else list(dict.fromkeys(folded.split(" ")))
    likes = " AND ".join("search LIKE %s" for _ in terms)
    table = f"golden_g1.golden_{table}"
    # The page's ids first, then only their records (as the hub's list statement does).
    return (
        f"SELECT id, record::text FROM {table} JOIN (SELECT id FROM {table} WHERE {likes} "
        "AND NOT deleted ORDER BY id LIMIT %s) page USING (id) ORDER BY id",
        [*map(like_pattern, terms), limit],
    )


@app.get("/records/{table}/{record_id}")
def get_record(table: str, record_id: UUID) -> Response:
    # The table name comes from a fixed set the benchmark uses, never from users.
    tables = {
        "clients": "golden_g1.golden_clients",
        "time_entries": "golden_g1.golden_time_entries",
    }
    with pool.connection() as conn:
        row = conn.execute(
            f"SELECT record::text FROM {tables[table]} WHERE id = %s", (record_id,), prepare=True
        ).fetchone()
    if row is None:
        return Response(status_code=404)
    return Response(content=row[0], media_type="application/json")


@app.get("/list/time_entries")
def list_records(engagement_id: UUID, limit: int = 100) -> Response:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT record::text FROM golden_g1.golden_time_entries WHERE engagement_id = %s "
            "ORDER BY id LIMIT %s",
            (engagement_id, limit),
            prepare=True,
        ).fetchall()
    return Response(content="[" + ",".join(r[0] for r in rows) + "]", media_type="application/json")


@app.get("/search/{table}")
def search(table: str, name: str | None = None, q: str | None = None, limit: int = 20) -> Response:
    if table not in SEARCHED:
        return Response(status_code=404)
    key, value = ("name", name) if name is not None else ("q", q or "")
    statement, params = search_statement(table, key, value, limit)
    with pool.connection() as conn:
        # Unprepared, as the hub runs it: each pattern is planned for its own selectivity.
        rows = conn.execute(statement, params, prepare=False).fetchall()
    return Response(
        content='{"items":[' + ",".join(r[1] for r in rows) + "]}", media_type="application/json"
    )
