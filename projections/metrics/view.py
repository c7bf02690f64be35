"""MetricsView: the metrics projection's tables (work, invoices, reference data) in PostgreSQL.

Money is kept as numeric with its currency beside it, and every figure read from here is
grouped by currency: amounts in different currencies are never added (DOMAIN 3.9).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier

from domain.values import Money
from hub.store.sql_params import array, json_text

WORK_COLUMNS = (
    "id",
    "kind",
    "version",
    "engagement_id",
    "resource_id",
    "work_date",
    "hours",
    "billing_qty",
    "billable",
    "status",
    "running",
    "deleted",
    "invoice_id",
    "currency",
    "rate",
    "value",
    "basis",
    "cost_currency",
    "cost",
    "source",
)
INVOICE_COLUMNS = (
    "id",
    "version",
    "kind",
    "engagement_id",
    "currency",
    "status",
    "deleted",
    "issue_date",
    "subtotal",
    "total",
    "paid",
    "credited",
    "lines",
    "original_id",
    "paid_on",
)
# What a time row keeps of its source's figures, to price it again when a card arrives.
SOURCE_FIELDS = (
    "task",
    "source_rate",
    "source_rate_currency",
    "source_cost_rate",
    "source_cost_currency",
)


class MetricsView(PostgresTrackingRecorder):
    """The metrics tables of one generation, tracked like every projection."""

    def __init__(self, datastore: PostgresDatastore, *, generation: int = 1) -> None:
        super().__init__(datastore, tracking_table_name=f"metrics_g{generation}_tracking")
        self.generation = generation
        schema = datastore.schema
        self.work = Identifier(schema, f"metrics_work_g{generation}")
        self.invoices = Identifier(schema, f"metrics_invoices_g{generation}")
        self.refs = Identifier(schema, f"metrics_refs_g{generation}")
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, kind text NOT NULL, "
                "version bigint NOT NULL, engagement_id uuid, resource_id uuid, work_date date, "
                "hours numeric NOT NULL, billing_qty numeric, billable boolean NOT NULL, "
                "status text NOT NULL, running boolean NOT NULL, deleted boolean NOT NULL, "
                "invoice_id uuid, currency text, rate numeric, value numeric, basis text, "
                "cost_currency text, cost numeric, source jsonb)"
            ).format(self.work),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (engagement_id)").format(
                Identifier(f"metrics_work_g{generation}_engagement"), self.work
            ),
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} (resource_id, work_date)").format(
                Identifier(f"metrics_work_g{generation}_resource"), self.work
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, version bigint NOT NULL, "
                "kind text NOT NULL, engagement_id uuid, currency text NOT NULL, "
                "status text NOT NULL, deleted boolean NOT NULL, issue_date date, "
                "subtotal numeric NOT NULL, total numeric NOT NULL, paid numeric NOT NULL, "
                "credited numeric NOT NULL, lines jsonb NOT NULL, original_id uuid, paid_on date)"
            ).format(self.invoices),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, entity text NOT NULL, "
                "version bigint NOT NULL, data jsonb NOT NULL)"
            ).format(self.refs),
        ]

    # Writing --------------------------------------------------------------------------

    def write(
        self,
        work: Sequence[dict[str, Any]],
        invoices: Sequence[dict[str, Any]],
        refs: Sequence[tuple[str, UUID, int, dict[str, Any]]],
        tracking: Tracking,
    ) -> None:
        """Upserts rows and records the position, in one transaction."""
        # Each table's rows as one JSON document (one id once: the projection keeps the last
        # row per id of a page): executemany adapted every parameter of every row in Python,
        # 4.5 % of the hub's CPU under the feed bench's load.
        with self.datastore.transaction(commit=True) as curs:
            if work:
                curs.execute(
                    _upsert(self.work, WORK_COLUMNS), (json_text([_work_params(w) for w in work]),)
                )
            if invoices:
                curs.execute(_upsert(self.invoices, INVOICE_COLUMNS), (json_text(invoices),))
            if refs:
                curs.execute(
                    _upsert(self.refs, ("id", "entity", "version", "data")),
                    (
                        json_text(
                            [{"id": i, "entity": e, "version": v, "data": d} for e, i, v, d in refs]
                        ),
                    ),
                )
            self._insert_tracking(curs, tracking)

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def position_now(self) -> int:
        """The last position committed, whichever application wrote it (for readers)."""
        table = Identifier(self.datastore.schema, self.tracking_table_name)
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                SQL("SELECT max(notification_id) AS n FROM {}").format(table)
            ).fetchone()
        return int(row["n"] or 0)

    def drop(self) -> None:
        """Drops this generation's tables (after a rebuild replaced it)."""
        with self.datastore.transaction(commit=True) as curs:
            for table in (self.work, self.invoices, self.refs):
                curs.execute(SQL("DROP TABLE IF EXISTS {}").format(table))
            curs.execute(
                SQL("DROP TABLE IF EXISTS {}").format(
                    Identifier(self.datastore.schema, self.tracking_table_name)
                )
            )

    # Reading for the projection -----------------------------------------------------------

    def all_refs(self) -> list[tuple[str, UUID, dict[str, Any]]]:
        """The reference data the projection keeps in memory: not the approval instants (one
        per time entry, written and never read back by the projection)."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT entity, id, data FROM {} WHERE entity <> 'approval'").format(self.refs)
            ).fetchall()
        return [(r["entity"], r["id"], r["data"]) for r in rows]

    def prices(self, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
        """The stored rows of some work, to keep a price that must not move."""
        if not ids:
            return {}
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT * FROM {} WHERE id = ANY(%s::uuid[])").format(self.work), (array(ids),)
            ).fetchall()
        return {r["id"]: _work_row(r) for r in rows}

    def unpriced(self) -> list[dict[str, Any]]:
        """Time a card that arrives may price: never priced, or priced provisionally from
        the source's rate and not billed yet."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT * FROM {} WHERE kind = 'time' AND NOT deleted AND (basis = 'none' "
                    "OR (basis = 'source' AND status NOT IN ('billed', 'locked')))"
                ).format(self.work)
            ).fetchall()
        return [_work_row(r) for r in rows]

    def query(self, sql: SQL, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Runs a read over this generation's tables ({work}, {invoices}, {refs})."""
        statement = sql.format(work=self.work, invoices=self.invoices, refs=self.refs)
        with self.datastore.get_connection() as conn:
            return conn.execute(statement, list(params)).fetchall()


def _upsert(table: Identifier, columns: Sequence[str]) -> Any:
    names = SQL(", ").join(Identifier(c) for c in columns)
    updates = SQL(", ").join(
        SQL("{c} = EXCLUDED.{c}").format(c=Identifier(c)) for c in columns if c != "id"
    )
    return SQL(
        "INSERT INTO {t} ({names}) SELECT {names} "
        # The rows as one JSON array of objects, typed by the table's own row type.
        "FROM jsonb_populate_recordset(NULL::{t}, %s::jsonb) "
        "ON CONFLICT (id) DO UPDATE SET {updates} "
        # Re-pricing writes a row again at the same version; an older version never wins.
        "WHERE {t}.version <= EXCLUDED.version"
    ).format(t=table, names=names, updates=updates)


def _work_params(row: dict[str, Any]) -> dict[str, Any]:
    params = {c: row.get(c) for c in WORK_COLUMNS if c != "source"}
    source = {k: row.get(k) for k in SOURCE_FIELDS}
    source_cost = row.get("source_cost")
    source["source_cost"] = (
        None if source_cost is None else [str(source_cost.amount), source_cost.currency]
    )
    params["source"] = source
    return params


def _work_row(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored row back as the projection builds it (source figures unpacked)."""
    row = {c: stored[c] for c in WORK_COLUMNS if c != "source"}
    source = stored["source"] or {}
    for name in SOURCE_FIELDS:
        value = source.get(name)
        row[name] = Decimal(value) if value is not None and name.endswith("_rate") else value
    cost = source.get("source_cost")
    row["source_cost"] = None if cost is None else Money(Decimal(cost[0]), cost[1])
    if row["task"] is None:
        row["task"] = ""
    return row
