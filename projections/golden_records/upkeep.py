"""Keeping a generation's tables searchable: the pg_trgm extension, the trigram indexes of the
search columns, and the search column of tables an older hub made without it."""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import ProgrammingError
from eventsourcing.postgres import PostgresDatastore
from psycopg import errors
from psycopg.sql import SQL, Identifier

from projections.golden_records.columns import table_name
from projections.golden_records.search import search_text
from projections.runner import SERIALISE_DDL


def trigram_operator_class(datastore: PostgresDatastore) -> Identifier:
    """Creates pg_trgm where missing and returns its gin_trgm_ops, schema-qualified."""
    try:
        with datastore.transaction(commit=True) as curs:
            # Trusted from PostgreSQL 13: the database's owner may create it. IF NOT EXISTS
            # is not atomic: processes starting together take turns.
            curs.execute(SERIALISE_DDL)
            curs.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except psycopg.Error as exc:
        raise RuntimeError(
            "golden records need the PostgreSQL extension pg_trgm (postgresql-contrib), "
            f"created by the database's owner: {exc}"
        ) from exc
    with datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        ).fetchone()
    # Qualified, so that the index is made whatever the search_path and wherever it lives.
    return Identifier(row["nspname"], "gin_trgm_ops")


def add_search_columns(
    datastore: PostgresDatastore, view_schema: str, tables: dict[str, Identifier]
) -> None:
    """Adds the search column (NULL: not folded yet) to tables made before it existed."""
    with datastore.transaction(commit=True) as curs:
        # A catalogue read first: ALTER TABLE would lock the table even with nothing to add.
        curs.execute(
            "SELECT table_name FROM information_schema.tables t WHERE table_schema = %s "
            "AND NOT EXISTS (SELECT 1 FROM information_schema.columns c WHERE "
            "c.table_schema = t.table_schema AND c.table_name = t.table_name "
            "AND c.column_name = 'search')",
            (view_schema,),
        )
        lacking = {row["table_name"] for row in curs.fetchall()}
        for entity, table in tables.items():
            if table_name(entity) in lacking:
                curs.execute(
                    SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS search text").format(table)
                )


def index_search_columns(
    datastore: PostgresDatastore, tables: dict[str, Identifier], operator_class: Identifier
) -> None:
    """A GIN trigram index on each search column: LIKE '%...%' and 'word start' lookups."""
    with datastore.transaction(commit=True) as curs:
        for entity, table in tables.items():
            # New rows wait in GIN's pending list, which every search reads through and the
            # planner counts against the index: 256 kB (not 4 MB) keeps that short, while
            # still merging entries in batches (fastupdate off made writes ~6x slower).
            curs.execute(
                SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING gin (search {}) "
                    "WITH (gin_pending_list_limit = 256)"
                ).format(Identifier(f"{table_name(entity)}_search"), table, operator_class)
            )


def fold_unfolded(
    datastore: PostgresDatastore, entity: str, table: Identifier, batch: int = 1000
) -> int:
    """Writes the search column of rows that lack it; returns how many it wrote."""
    # The projection writes `search` with every row: this only catches up older rows (found
    # through a partial index, so it costs nothing when there are none), and never writes
    # over a row the projection has rewritten meanwhile.
    written = 0
    while True:
        try:
            folded = _fold_batch(datastore, entity, table, batch)
        except ProgrammingError as exc:
            if isinstance(exc.__cause__, errors.UndefinedTable):
                return written  # a rebuild has just dropped this generation
            raise
        written += folded
        if folded < batch:
            return written


def _fold_batch(datastore: PostgresDatastore, entity: str, table: Identifier, batch: int) -> int:
    """Folds up to `batch` unfolded rows in one transaction; returns how many."""
    with datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL("SELECT id, record FROM {} WHERE search IS NULL ORDER BY id LIMIT %s").format(
                table
            ),
            (batch,),
        )
        rows = curs.fetchall()
        curs.executemany(
            SQL("UPDATE {} SET search = %s WHERE id = %s AND search IS NULL").format(table),
            [(search_text(entity, row["record"]), row["id"]) for row in rows],
        )
    return len(rows)
