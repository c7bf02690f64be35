"""Reading what earlier ingest transactions decided: messages, claims, lineage, parked changes.

The ingest's own tables (`hub_ingest_messages`, `hub_claims`, `hub_lineage`,
`hub_ingest_parked`) in the event store's schema, read outside the batch's transaction: what a
batch loads from them it keeps in its working state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.sql import SQL, Identifier

from hub.ingest.rules import FieldSource
from hub.store.sql_params import array

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore

    from hub.ingest.batch import _Batch


class IngestTables:
    """The ingest's tables in one datastore, and the reads a batch makes of them."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self._schema = datastore.schema

    def table(self, name: str) -> Identifier:
        return Identifier(self._schema, name)

    def query(self, statement: SQL, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    def known_messages(self, ids: list[str]) -> set[str]:
        """Ids decided before; a pending row (noted by the publisher) is not yet decided."""
        if not ids:
            return set()
        rows = self.query(
            SQL(
                "SELECT message_id FROM {} WHERE message_id = ANY(%s::text[]) "
                "AND outcome <> 'pending'"
            ).format(self.table("hub_ingest_messages")),
            (array(ids),),
        )
        return {r["message_id"] for r in rows}

    def load_claims(self, keys: Iterable[str], batch: _Batch) -> None:
        """Loads owners of keys, and for source records the newest sequence applied."""
        wanted = [k for k in set(keys) if k not in batch.claims]
        if not wanted:
            return
        rows = self.query(
            SQL(
                "SELECT key, owner_id, entity, sequence, message_id FROM {} "
                "WHERE key = ANY(%s::text[])"
            ).format(self.table("hub_claims")),
            (array(wanted),),
        )
        for row in rows:
            batch.claims[row["key"]] = row["owner_id"]
            batch.claim_entities[row["key"]] = row["entity"]
            batch.read_sequences[row["key"]] = row["sequence"]
            if row["sequence"] is not None:
                batch.sequences[row["key"]] = (row["sequence"], row["message_id"])

    def lookup_claim(self, key: str, batch: _Batch) -> UUID | None:
        self.load_claims([key], batch)
        return batch.claims.get(key)

    def load_lineage(self, aggregate_id: UUID, batch: _Batch) -> dict[str, FieldSource]:
        if aggregate_id not in batch.lineage:
            rows = self.query(
                SQL("SELECT fields FROM {} WHERE canonical_id = %s").format(
                    self.table("hub_lineage")
                ),
                (aggregate_id,),
            )
            fields = rows[0]["fields"] if rows else {}
            batch.lineage[aggregate_id] = {k: FieldSource.from_json(v) for k, v in fields.items()}
        return batch.lineage[aggregate_id]
