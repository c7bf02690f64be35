"""GoldenRecordsView: the golden records in PostgreSQL, a table per collection, one schema per
generation (a rebuild fills a new schema beside the live one, then the hub switches)."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from projections.golden_records import upkeep
from projections.golden_records.columns import FILTERS, table_name
from projections.golden_records.search import search_text
from projections.runner import SERIALISE_DDL, create_tables

# The operator of a filter on a cross-reference: records that source record maps to.
XREF = "xref"

# The scratch tables each session (connection) has made already: `CREATE TEMP TABLE IF NOT
# EXISTS` on every page was a twentieth of a rebuild's time.
_SCRATCH: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class RecordRow:
    """One golden record to upsert: the full record JSON and where it stands in the log."""

    entity: str
    id: UUID
    version: int
    position: int
    record: dict[str, Any]

    @property
    def deleted(self) -> bool:
        return bool(self.record.get("deleted"))


@dataclass(frozen=True)
class XrefRow:
    system: str
    tenant: str
    type: str
    source_id: str
    entity: str
    id: UUID


class GoldenRecordsView(PostgresTrackingRecorder):
    """Golden-record tables with indexed filter columns, an xref table, and the tracking row."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        generation: int,
        schema: str | None = None,
        tracking_table_name: str | None = None,
    ) -> None:
        # Each generation has its own tracking table: a rebuild starts from position zero.
        # A replay (`pshub replay --into`) names a schema and tracking table of its own.
        super().__init__(
            datastore,
            tracking_table_name=tracking_table_name or f"golden_records_g{generation}_tracking",
        )
        self.generation = generation
        self.view_schema = schema or f"golden_g{generation}"
        self.sql_create_statements[:0] = [
            SERIALISE_DDL,
            SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(self.view_schema)),
        ]
        # Secondary indexes, made after the tables (a rebuild makes them after its bulk load).
        self.sql_index_statements: list[Composable] = []
        for entity, columns in FILTERS.items():
            table = self.table(entity)
            column_defs = SQL("").join(
                SQL(", {} {}").format(Identifier(c.name), SQL(c.sql_type)) for c in columns
            )
            # `search` (the folded names and codes) comes last, as it does in a table an
            # older hub made and `_add_search_columns` extended; NULL there means not folded yet.
            self.sql_create_statements.append(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, version bigint NOT NULL, "
                    "position bigint NOT NULL, updated_at timestamptz NOT NULL, "
                    "deleted boolean NOT NULL{}, record jsonb NOT NULL, search text)"
                ).format(table, column_defs)
            )
            self.sql_index_statements.append(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} (id) WHERE search IS NULL").format(
                    Identifier(f"{table_name(entity)}_unfolded"), table
                )
            )
            for column in columns:
                self.sql_index_statements.append(
                    SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({}, id)").format(
                        Identifier(f"{table_name(entity)}_{column.name}"),
                        table,
                        Identifier(column.name),
                    )
                )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (system text NOT NULL, tenant text NOT NULL, "
                "type text NOT NULL, source_id text NOT NULL, entity text NOT NULL, "
                "id uuid NOT NULL, PRIMARY KEY (system, tenant, type, source_id))"
            ).format(self.xref_table)
        )
        self.sql_index_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS golden_xrefs_id ON {} (id)").format(self.xref_table)
        )
        # `?xref=` names system, type and id but not the tenant (the key's second column).
        self.sql_index_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS golden_xrefs_source ON {} (source_id, type)").format(
                self.xref_table
            )
        )
        # Reads by id, composed once: with nothing to hide the stored JSON goes out as it is.
        self._get_whole = {
            entity: SQL(
                "SELECT version, deleted, position, record::text AS record FROM {} WHERE id = %s"
            ).format(self.table(entity))
            for entity in FILTERS
        }
        self._get_redacted = {
            entity: SQL(
                "SELECT version, deleted, position, (record - %s::text[])::text AS "
                "record FROM {} WHERE id = %s"
            ).format(self.table(entity))
            for entity in FILTERS
        }

    def create_table(self) -> None:
        """Creates this generation's schema, tables and indexes (the search column's trigram
        index too), and folds the names of rows an older hub wrote without that column."""
        tables = {entity: self.table(entity) for entity in FILTERS}
        # The DDL locks every table against the projection's writes (a deadlock when the
        # projection writes meanwhile, as a status read opening the view used to): skip it
        # when this generation is complete.
        if not self._complete():
            operator_class = upkeep.trigram_operator_class(self.datastore)
            upkeep.add_search_columns(self.datastore, self.view_schema, tables)
            create_tables(super().create_table)
            create_tables(self._create_indexes)
            upkeep.index_search_columns(self.datastore, tables, operator_class)
        for entity, table in tables.items():
            upkeep.fold_unfolded(self.datastore, entity, table)

    def create_tables_without_indexes(self) -> None:
        """The schema and tables with their keys only, for a rebuild's bulk load: built once
        over the loaded rows (`create_table` after it), the secondary and trigram indexes
        cost a fraction of keeping them row by row."""
        create_tables(super().create_table)

    def _create_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SERIALISE_DDL)  # as every view's DDL (projections/runner.py)
            for statement in self.sql_index_statements:
                curs.execute(statement)

    def _complete(self) -> bool:
        """Whether every index of this generation, and its tracking table, exists."""
        expected = {"golden_xrefs_pkey", "golden_xrefs_id", "golden_xrefs_source"}
        for entity, columns in FILTERS.items():
            stem = table_name(entity)
            expected |= {f"{stem}_pkey", f"{stem}_unfolded", f"{stem}_search"}
            expected |= {f"{stem}_{column.name}" for column in columns}
        with self.datastore.get_connection() as conn:
            indexes = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (self.view_schema,)
            ).fetchall()
            tracking = conn.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                (self.datastore.schema, self.tracking_table_name),
            ).fetchone()
        return tracking is not None and expected <= {row["indexname"] for row in indexes}

    def drop(self) -> None:
        """Drops this generation's schema and tracking table (after a rebuild replaced it)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(self.view_schema))
            )
            curs.execute(
                SQL("DROP TABLE IF EXISTS {}").format(
                    Identifier(self.datastore.schema, self.tracking_table_name)
                )
            )

    def table(self, entity: str) -> Identifier:
        return Identifier(self.view_schema, table_name(entity))

    @property
    def xref_table(self) -> Identifier:
        return Identifier(self.view_schema, "golden_xrefs")

    # Writing --------------------------------------------------------------------------

    def write(
        self, rows: Sequence[RecordRow], xrefs: Sequence[XrefRow], tracking: Tracking
    ) -> None:
        """Upserts records (never over a newer version) and xrefs, with the tracking row,
        in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            try:
                by_entity: dict[str, list[RecordRow]] = {}
                for row in rows:
                    by_entity.setdefault(row.entity, []).append(row)
                for entity, entity_rows in by_entity.items():
                    self._upsert(curs, entity, entity_rows)
                if xrefs:
                    self._upsert_xrefs(curs, xrefs)
                self._insert_tracking(curs, tracking)
            except Exception:
                _SCRATCH.pop(curs.connection, None)  # made again when the page is retried
                raise

    def _scratch(self, curs: Cursor[DictRow], name: str, like: Identifier) -> Identifier:
        """A session's temporary table shaped like `like`, emptied at each commit (made once
        per session: it keeps the layout it was made with, hence the generation in its name)."""
        scratch = Identifier(name)
        made = _SCRATCH.setdefault(curs.connection, set())
        if name not in made:
            curs.execute(
                SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                    scratch, like
                )
            )
            made.add(name)
        return scratch

    def _upsert_xrefs(self, curs: Cursor[DictRow], xrefs: Sequence[XrefRow]) -> None:
        """COPY into a scratch table, then one upsert (a rebuild's hot path: a statement per
        xref cost a tenth of it). A key repeated in the page keeps its last owner, as one
        statement per xref in order did; an unchanged row is not rewritten."""
        latest = {
            (x.system, x.tenant, x.type.lower(), x.source_id): (x.entity, x.id) for x in xrefs
        }
        scratch = self._scratch(curs, f"incoming_g{self.generation}_xrefs", self.xref_table)
        with curs.copy(
            SQL("COPY {} (system, tenant, type, source_id, entity, id) FROM STDIN").format(scratch)
        ) as copy:
            for key, owner in latest.items():
                copy.write_row((*key, *owner))
        curs.execute(
            SQL(
                "INSERT INTO {t} (system, tenant, type, source_id, entity, id) SELECT system, "
                "tenant, type, source_id, entity, id FROM {s} ON CONFLICT (system, tenant, type, "
                "source_id) DO UPDATE SET entity = EXCLUDED.entity, id = EXCLUDED.id "
                "WHERE ({t}.entity, {t}.id) IS DISTINCT FROM (EXCLUDED.entity, EXCLUDED.id)"
            ).format(t=self.xref_table, s=scratch)
        )

    def _upsert(self, curs: Cursor[DictRow], entity: str, rows: list[RecordRow]) -> None:
        columns = FILTERS[entity]
        names = [
            "id",
            "version",
            "position",
            "updated_at",
            "deleted",
            *(c.name for c in columns),
            "record",
            "search",
        ]
        table = self.table(entity)
        scratch = self._scratch(curs, f"incoming_g{self.generation}_{table_name(entity)}", table)
        with curs.copy(
            SQL("COPY {} ({}) FROM STDIN").format(scratch, SQL(", ").join(map(Identifier, names)))
        ) as copy:
            for row in rows:
                record = row.record
                copy.write_row(
                    (
                        row.id,
                        row.version,
                        row.position,
                        record["updated_at"],
                        row.deleted,
                        *(_column_value(record.get(c.name)) for c in columns),
                        # Stored as jsonb, which keeps no formatting: orjson's text is the
                        # same record, made in a fifth of the time.
                        orjson.dumps(record).decode(),
                        search_text(entity, record),
                    )
                )
        assignments = SQL(", ").join(
            SQL("{} = EXCLUDED.{}").format(Identifier(n), Identifier(n)) for n in names[1:]
        )
        listed = SQL(", ").join(map(Identifier, names))
        # The version guard: an older state of a record never overwrites a newer one.
        curs.execute(
            SQL(
                "INSERT INTO {table} ({listed}) SELECT {listed} FROM {scratch} ON CONFLICT (id) "
                "DO UPDATE SET {assignments} WHERE {table}.version < EXCLUDED.version"
            ).format(table=table, listed=listed, scratch=scratch, assignments=assignments)
        )

    # Reading --------------------------------------------------------------------------

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def get_statement(
        self, entity: str, record_id: UUID, hidden: Iterable[str] = ()
    ) -> tuple[Composable, tuple[Any, ...]]:
        """The read of one record (hidden fields left out by the database)."""
        hidden = list(hidden)
        if hidden:
            return self._get_redacted[entity], (hidden, record_id)
        # Nothing to hide: the stored JSON goes out as it is.
        return self._get_whole[entity], (record_id,)

    def get(
        self, entity: str, record_id: UUID, hidden: Iterable[str] = ()
    ) -> dict[str, Any] | None:
        """One record (with hidden fields left out by the database), or None."""
        statement, params = self.get_statement(entity, record_id, hidden)
        with self.datastore.get_connection() as conn:
            row = conn.execute(statement, params, prepare=True).fetchone()
        return None if row is None else dict(row)

    def owner_of(
        self, system: str, tenant: str | None, type_: str, source_id: str
    ) -> tuple[str, UUID] | None:
        """The record a source record maps to; without a tenant, the only match."""
        conditions = [SQL("system = %s"), SQL("type = %s"), SQL("source_id = %s")]
        params: list[Any] = [system, type_.lower(), source_id]
        if tenant is not None:
            conditions.append(SQL("tenant = %s"))
            params.append(tenant)
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT entity, id FROM {} WHERE {} LIMIT 2").format(
                    self.xref_table, SQL(" AND ").join(conditions)
                ),
                params,
            ).fetchall()
        if len(rows) != 1:
            return None
        return rows[0]["entity"], rows[0]["id"]

    def list_statement(
        self,
        entity: str,
        *,
        filters: Sequence[tuple[str, str, Any]],
        after: UUID | None,
        limit: int,
        include_deleted: bool,
        hidden: Iterable[str] = (),
    ) -> tuple[Composable, list[Any]]:
        """The read of records in id order after a keyset position; filters are
        (column, operator, value), or ("id", XREF, (system, type, source id))."""
        hidden = list(hidden)
        conditions: list[Composable] = []
        params: list[Any] = [hidden] if hidden else []
        for column, op, value in filters:
            if op == XREF:
                # value: (system, type in lower case, source id), any tenant.
                conditions.append(
                    SQL(
                        "id IN (SELECT id FROM {} WHERE source_id = %s AND type = %s "
                        "AND system = %s)"
                    ).format(self.xref_table)
                )
                params.extend(reversed(value))
                continue
            conditions.append(SQL("{} {} %s").format(Identifier(column), SQL(op)))
            params.append(value)
        if not include_deleted:
            conditions.append(SQL("NOT deleted"))
        if after is not None:
            conditions.append(SQL("id > %s"))
            params.append(after)
        where = SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL("")
        params.append(limit)
        record = SQL("(record - %s::text[])::text") if hidden else SQL("record::text")
        table = self.table(entity)
        if any(op == "LIKE" for _, op, _ in filters):
            # A search may match thousands of rows and be read through the trigram index,
            # then sorted by id: pick the page's ids first, so that only its records are
            # read out of TOAST and turned into text (not every match's).
            statement = SQL(
                "SELECT id, {} AS record FROM {} JOIN (SELECT id FROM {}{} ORDER BY id "
                "LIMIT %s) page USING (id) ORDER BY id"
            ).format(record, table, table, where)
        else:
            statement = SQL("SELECT id, {} AS record FROM {}{} ORDER BY id LIMIT %s").format(
                record, table, where
            )
        return statement, params

    def list(
        self,
        entity: str,
        *,
        filters: Sequence[tuple[str, str, Any]],
        after: UUID | None,
        limit: int,
        include_deleted: bool,
        hidden: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Records in id order after a keyset position."""
        statement, params = self.list_statement(
            entity,
            filters=filters,
            after=after,
            limit=limit,
            include_deleted=include_deleted,
            hidden=hidden,
        )
        with self.datastore.get_connection() as conn:
            rows = conn.execute(statement, params, prepare=True).fetchall()
        return [dict(r) for r in rows]


def _column_value(value: Any) -> Any:
    # Money and other nested values are not filter columns; scalars go as they are.
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value
