"""FeedView: one downstream target's outbox in PostgreSQL, a generation at a time.

The outbox holds, per (record, item key), the latest thing the target must hold and where its
publication and delivery stand. It is a projection (rebuilt beside the live one from position
zero), so what survives a rebuild lives in the ledger, a table of the target's own that no
rebuild drops: what was published and delivered (by payload hash) and the target's id. A
rebuilt outbox starts from the ledger, so a rebuild never publishes or delivers again what the
target already has. Beside the outbox, each generation keeps the provisioning decisions it has
read from the log (gate.py), per engagement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier, Literal

from hub.store.sql_params import array, json_text
from projections.feeds.gate import OPEN, WITHDRAWN

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Neither published nor delivered: waiting for its engagement's provisioning (gate.py), or
# not to go out at a wrong value (hub.contracts.feeds.FeedItem.hold), `last_error` then saying
# why ("<REASON>: <detail>").
HELD = "held"


@dataclass(frozen=True)
class OutboxRow:
    """One item of the target at the version that last changed its payload."""

    canonical_id: UUID
    key: str
    entity: str  # the target's entity (feed.<target>.<entity>)
    version: int
    position: int
    idempotency_key: str
    payload: dict[str, Any]
    payload_hash: str
    target_id: str | None
    occurred_at: datetime | None
    published: bool
    state: str


@dataclass(frozen=True)
class Ledger:
    """What survives rebuilds: the last payload published and delivered, the target's id."""

    published_hash: str | None
    delivered_hash: str | None
    target_id: str | None


class FeedView(PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, target: str, *, generation: int = 1) -> None:
        prefix = f"feed_{target}_g{generation}"
        super().__init__(datastore, tracking_table_name=f"{prefix}_tracking")
        self.target = target
        self.generation = generation
        self.outbox = Identifier(datastore.schema, f"{prefix}_outbox")
        self.ledger = Identifier(datastore.schema, f"feed_{target}_ledger")
        self.gates_table = Identifier(datastore.schema, f"{prefix}_gates")
        # The stream sequence of the last item the target's publisher saw acknowledged, per
        # stream (hub/feeds/publisher.py: what a crash kept from the outbox is found there).
        # With the item's idempotency key found at that sequence: a stream deleted and made
        # again restarts its sequences, and the key tells the publisher it is not the same one.
        self.published_table = Identifier(datastore.schema, "hub_feed_published")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (target text NOT NULL, stream text NOT NULL, "
                "sequence bigint NOT NULL, idempotency_key text, PRIMARY KEY (target, stream))"
            ).format(self.published_table)
        )
        self.sql_create_statements.append(
            SQL(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns "
                "WHERE table_schema = COALESCE(NULLIF({}, ''), current_schema()) "
                "AND table_name = 'hub_feed_published' AND column_name = 'idempotency_key') "
                "THEN ALTER TABLE {} ADD COLUMN IF NOT EXISTS idempotency_key text; END IF; END $$"
            ).format(Literal(datastore.schema), self.published_table)
        )
        # The records a target's mapping needs besides the one it maps (related.py).
        self.related = Identifier(datastore.schema, f"{prefix}_related")
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (entity text NOT NULL, id uuid NOT NULL, "
                "data jsonb NOT NULL, PRIMARY KEY (entity, id))"
            ).format(self.related)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (canonical_id uuid NOT NULL, key text NOT NULL, "
                "entity text NOT NULL, version bigint NOT NULL, position bigint NOT NULL, "
                "idempotency_key text NOT NULL, payload jsonb NOT NULL, "
                "payload_hash text NOT NULL, target_id text, occurred_at timestamptz, "
                "published boolean NOT NULL, state text NOT NULL, "
                "attempts integer NOT NULL DEFAULT 0, "
                "next_attempt_at timestamptz NOT NULL DEFAULT now(), last_error text, "
                "case_id uuid, updated_at timestamptz NOT NULL DEFAULT now(), "
                "pending_since timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (canonical_id, key))"
            ).format(self.outbox)
        )
        for name, columns in (
            ("due", "(state, next_attempt_at)"),
            # The delivery worker takes the first pending item in log order: walked in
            # order rather than sorting every pending item for each delivery (thousands
            # wait after a demo load; the sort was a fifth of a delivery's time).
            ("pending_order", "(position, canonical_id, key) WHERE state = 'pending'"),
            # The publisher's next batch, in log order: held items (waiting for a rate card, or
            # for provisioning: thousands of them) left out of the index, not filtered out of
            # a scan of it each time (8.6 ms a batch in ops/bench/feeds.py, NetSuite holding
            # every entry, against 0.1 ms).
            (
                "publishable",
                "(position, canonical_id, key) WHERE NOT published AND state <> 'held'",
            ),
            ("cases", "(case_id) WHERE case_id IS NOT NULL"),
        ):
            self.sql_create_statements.append(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} " + columns).format(
                    Identifier(f"{prefix}_outbox_{name}"), self.outbox
                )
            )
        # Its predecessor, which held the held items too.
        self.sql_create_statements.append(
            SQL("DROP INDEX IF EXISTS {}").format(
                Identifier(datastore.schema, f"{prefix}_outbox_unpublished")
            )
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (engagement_id uuid PRIMARY KEY, "
                "decision text NOT NULL)"
            ).format(self.gates_table)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (canonical_id uuid NOT NULL, key text NOT NULL, "
                "published_hash text, delivered_hash text, target_id text, "
                "delivered_at timestamptz, PRIMARY KEY (canonical_id, key))"
            ).format(self.ledger)
        )
        # The records an item's optional placeholders named that the target was not given
        # when it was delivered (their fields left out): a reconciliation judges those fields
        # as delivered, and the item goes again once such a record is delivered
        # (hub/feeds/left_out.py). NULL: delivered before the ledger noted it, so unknown.
        self.sql_create_statements.append(
            SQL(
                # A catalogue read first: ALTER TABLE would lock the ledger even with nothing
                # to add, and every generation's view runs these statements.
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns "
                "WHERE table_schema = COALESCE(NULLIF({}, ''), current_schema()) "
                "AND table_name = {} AND column_name = 'left_out') "
                "THEN ALTER TABLE {} ADD COLUMN IF NOT EXISTS left_out uuid[]; END IF; END $$"
            ).format(Literal(datastore.schema), Literal(f"feed_{target}_ledger"), self.ledger)
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin (left_out)").format(
                Identifier(f"feed_{target}_ledger_left_out"), self.ledger
            )
        )

    # Reading what the projection folds over ------------------------------------------------

    def folded(
        self, keys: Iterable[tuple[UUID, str]]
    ) -> tuple[dict[tuple[UUID, str], str], dict[tuple[UUID, str], Ledger]]:
        """What the projection folds a page's items over, in one round trip: the payload hash
        each item holds now in this generation's outbox, and the ledger of what the target
        was given (which survives rebuilds)."""
        pairs = list(keys)
        if not pairs:
            return {}, {}
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT k.cid, k.kk, o.payload_hash, l.canonical_id IS NOT NULL AS kept, "
                    "l.published_hash, l.delivered_hash, l.target_id "
                    "FROM unnest(%s::uuid[], %s::text[]) AS k(cid, kk) "
                    "LEFT JOIN {} o ON o.canonical_id = k.cid AND o.key = k.kk "
                    "LEFT JOIN {} l ON l.canonical_id = k.cid AND l.key = k.kk"
                ).format(self.outbox, self.ledger),
                (array(p[0] for p in pairs), array(p[1] for p in pairs)),
            ).fetchall()
        hashes = {(r["cid"], r["kk"]): r["payload_hash"] for r in rows if r["payload_hash"]}
        ledger = {
            (r["cid"], r["kk"]): Ledger(r["published_hash"], r["delivered_hash"], r["target_id"])
            for r in rows
            if r["kept"]
        }
        return hashes, ledger

    def acknowledged(self, ids: Iterable[UUID]) -> dict[UUID, set[str]]:
        """The ids the target gave each record's items (their xrefs are the hub's writes)."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT canonical_id, target_id FROM {} WHERE canonical_id = ANY(%s::uuid[]) "
                    "AND target_id IS NOT NULL"
                ).format(self.ledger),
                (array(wanted),),
            ).fetchall()
        found: dict[UUID, set[str]] = {}
        for row in rows:
            found.setdefault(row["canonical_id"], set()).add(row["target_id"])
        return found

    def gates(self, ids: Iterable[UUID]) -> dict[UUID, str]:
        """The provisioning decision this generation has read for each engagement, if any."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT engagement_id, decision FROM {} WHERE engagement_id = ANY(%s::uuid[])"
                ).format(self.gates_table),
                (array(wanted),),
            ).fetchall()
        return {r["engagement_id"]: r["decision"] for r in rows}

    def related_rows(self) -> list[tuple[str, UUID, dict[str, Any]]]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(SQL("SELECT entity, id, data FROM {}").format(self.related))
            return [(r["entity"], r["id"], r["data"]) for r in rows.fetchall()]

    # Writing ------------------------------------------------------------------------------

    def write(
        self,
        rows: Sequence[OutboxRow],
        tracking: Tracking,
        gates: Mapping[UUID, str] | None = None,
        related: Sequence[tuple[str, UUID, dict[str, Any]]] = (),
        last_errors: Mapping[tuple[UUID, str], str] | None = None,
    ) -> None:
        """Upserts the changed items (their delivery starts afresh) with the position, the
        provisioning decisions read (an opened engagement's held items become pending, a
        withdrawn one's are dropped) and the related records that changed, in one
        transaction. An item held by its mapping, or refused by the target, keeps its case
        through a new payload: the delivery of the new one resolves it (a refusal of the new
        one opens its own case and closes this one)."""
        last_errors = last_errors or {}
        with self.datastore.transaction(commit=True) as curs:
            if related:
                # One statement over one JSON document (a statement per record was a
                # round trip each: 17k a minute for NetSuite's feed under load).
                curs.execute(
                    SQL(
                        "INSERT INTO {} (id, entity, data) SELECT * FROM "
                        "jsonb_to_recordset(%s::jsonb) AS r(id uuid, entity text, data jsonb) "
                        "ON CONFLICT (entity, id) DO UPDATE SET data = EXCLUDED.data"
                    ).format(self.related),
                    (json_text([{"id": i, "entity": e, "data": d} for e, i, d in related]),),
                )
            if rows:
                # One statement over the page's rows as one JSON document: executemany
                # adapted 13 parameters a row in Python (7 % of the feeds worker's CPU).
                curs.execute(
                    SQL(
                        "INSERT INTO {} (canonical_id, key, entity, version, position, "
                        "idempotency_key, payload, payload_hash, target_id, occurred_at, "
                        "published, state, last_error) SELECT * FROM jsonb_to_recordset(%s::jsonb) "
                        "AS r(canonical_id uuid, key text, entity text, version bigint, "
                        "position bigint, idempotency_key text, payload jsonb, "
                        "payload_hash text, target_id text, occurred_at timestamptz, "
                        "published boolean, state text, last_error text) "
                        "ON CONFLICT (canonical_id, key) DO UPDATE SET "
                        "entity = EXCLUDED.entity, version = EXCLUDED.version, "
                        "position = EXCLUDED.position, idempotency_key = EXCLUDED.idempotency_key,"
                        " payload = EXCLUDED.payload, payload_hash = EXCLUDED.payload_hash, "
                        "target_id = EXCLUDED.target_id, occurred_at = EXCLUDED.occurred_at, "
                        "published = EXCLUDED.published, state = EXCLUDED.state, attempts = 0, "
                        "next_attempt_at = now(), last_error = EXCLUDED.last_error, "
                        "case_id = CASE WHEN {}.state <> 'delivered' THEN {}.case_id END, "
                        "updated_at = now(), pending_since = now()"
                    ).format(self.outbox, self.outbox, self.outbox),
                    (
                        json_text(
                            [
                                {
                                    **r.__dict__,
                                    "last_error": last_errors.get((r.canonical_id, r.key)),
                                }
                                for r in rows
                            ]
                        ),
                    ),
                )
            if gates:
                self._gate(curs, gates)
            self._insert_tracking(curs, tracking)

    def _gate(self, curs: Any, gates: Mapping[UUID, str]) -> None:
        curs.executemany(
            SQL(
                "INSERT INTO {} (engagement_id, decision) VALUES (%s, %s) "
                "ON CONFLICT (engagement_id) DO UPDATE SET decision = EXCLUDED.decision"
            ).format(self.gates_table),
            list(gates.items()),
        )
        opened = [e for e, d in gates.items() if d == OPEN]
        withdrawn = [e for e, d in gates.items() if d == WITHDRAWN]
        curs.execute(
            SQL(
                "UPDATE {} SET state = 'pending', next_attempt_at = now(), "
                "pending_since = now(), updated_at = now() "
                "WHERE canonical_id = ANY(%s::uuid[]) AND state = 'held' AND last_error IS NULL"
            ).format(self.outbox),
            (array(opened),),  # an item its mapping holds (last_error says why) stays held
        )
        curs.execute(
            SQL("DELETE FROM {} WHERE canonical_id = ANY(%s::uuid[]) AND state = 'held'").format(
                self.outbox
            ),
            (array(withdrawn),),
        )

    def position(self, application_name: str) -> int:
        return self.max_tracking_id(application_name) or 0

    def drop(self) -> None:
        """Drops this generation's outbox and tracking (never the ledger)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.outbox))
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.gates_table))
            curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self.related))
            curs.execute(
                SQL("DROP TABLE IF EXISTS {}").format(
                    Identifier(self.datastore.schema, self.tracking_table_name)
                )
            )

    def backlog(self) -> dict[str, Any]:
        """Items by state, how many wait to be published, and how long the oldest pending
        item has waited (seconds since its payload last changed)."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT state, count(*) AS n, count(*) FILTER (WHERE NOT published) AS u, "
                    "extract(epoch FROM now() - min(pending_since)) AS age FROM {} GROUP BY state"
                ).format(self.outbox)
            ).fetchall()
        counts: dict[str, Any] = {PENDING: 0, DELIVERED: 0, FAILED: 0, HELD: 0}
        counts["unpublished"] = 0
        counts["oldest_pending_seconds"] = 0.0
        for row in rows:
            counts[row["state"]] = row["n"]
            if row["state"] != HELD:  # a held item is not to be published yet
                counts["unpublished"] += row["u"]
            if row["state"] == PENDING:
                counts["oldest_pending_seconds"] = round(float(row["age"]), 3)
        return counts
