"""Which system feeds each category, as system migrations decided it: in the database, so every
process running feeds sees a migration made anywhere (as hub/generations.py does for rebuilds).

A category (erp, billing, psa, knowledge) is fed by each of its targets that is enabled
(PSHUB_FEED_<TARGET>_ENABLED) until a migration moves it. `hub_feed_migrations` keeps each
migration as it was made (category, from, to, the log's head then, the actor); `hub_feed_states`
the state it left both systems in: the one migrated from `retired` (its feed, if it has one,
publishes and delivers nothing more, in any process), the one migrated to `active`.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

CATEGORIES = ("erp", "billing", "psa", "knowledge")
ACTIVE, RETIRED = "active", "retired"
# The source systems of each category (DOMAIN.md section 2) that the hub has an adapter for but
# feeds nothing to: a firm may migrate a category away from one (Odoo to NetSuite), and there
# is no feed of it to retire. Each target of the category is one of its systems too.
SOURCES: dict[str, tuple[str, ...]] = {
    "erp": ("odoo",),
    "billing": ("stripe",),
    "psa": (),
    "knowledge": ("confluence",),
}
# Advisory lock of a running migration of a category (one at a time across processes): "pshm".
_LOCK_CLASS = 0x7073686D


@dataclass(frozen=True)
class Migration:
    id: UUID
    category: str
    source: str
    target: str
    position: int
    actor: str
    migrated_at: datetime
    # The invoices the system migrated from held open then: canonical id, number, its own id.
    open_invoices: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "category": self.category,
            "from": self.source,
            "to": self.target,
            "position": self.position,
            "actor": self.actor,
            "migrated_at": self.migrated_at.isoformat().replace("+00:00", "Z"),
            "open_invoices": list(self.open_invoices),
        }


def lock_key(category: str) -> int:
    return (_LOCK_CLASS << 32) | zlib.crc32(category.encode())


def _table(datastore: PostgresDatastore, name: str) -> Identifier:
    return Identifier(datastore.schema, name)


def retired(datastore: PostgresDatastore) -> set[str]:
    """The systems a migration moved their category away from."""
    with datastore.get_connection() as conn:
        rows = conn.execute(
            SQL("SELECT target FROM {} WHERE state = %s").format(
                _table(datastore, "hub_feed_states")
            ),
            (RETIRED,),
            prepare=True,
        ).fetchall()
    return {r["target"] for r in rows}


def states(datastore: PostgresDatastore) -> dict[str, tuple[str, Migration]]:
    """Each system a migration touched: its state and the migration that set it."""
    with datastore.get_connection() as conn:
        rows = conn.execute(
            SQL(
                "SELECT s.target AS system, s.state, m.* FROM {} s JOIN {} m "
                "ON m.id = s.migration_id"
            ).format(_table(datastore, "hub_feed_states"), _table(datastore, "hub_feed_migrations"))
        ).fetchall()
    return {r["system"]: (r["state"], _migration(r)) for r in rows}


def record(
    conn: Any,
    schema: str,
    category: str,
    source: str,
    target: str,
    head: int,
    actor: str,
    open_invoices: Sequence[Mapping[str, Any]] = (),
) -> tuple[Migration, bool]:
    """Records the migration and the states it sets, in one transaction on `conn` (the
    connection holding the category's lock, `lock_key`); when both systems are already as it
    would leave them, records nothing and returns the migration that did (False: nothing
    changed). `head` is the log's head: from there on the category is the target's;
    `open_invoices` the invoices the source holds open then (kept with the migration)."""
    states_table = Identifier(schema, "hub_feed_states")
    migrations = Identifier(schema, "hub_feed_migrations")
    with conn.transaction():
        now = {
            r["target"]: r
            for r in conn.execute(
                SQL("SELECT target, state, migration_id FROM {} WHERE target = ANY(%s)").format(
                    states_table
                ),
                ([source, target],),
            ).fetchall()
        }
        if (
            now.get(source, {}).get("state") == RETIRED
            and now.get(target, {}).get("state") == ACTIVE
        ):
            # The same migration made earlier (or, after another move to the same target,
            # the one that left the target as it is).
            done = conn.execute(
                SQL(
                    "SELECT * FROM {} WHERE id = %s OR (category = %s AND from_system = %s "
                    "AND to_system = %s) ORDER BY (id = %s), migrated_at DESC LIMIT 1"
                ).format(migrations),
                (
                    now[target]["migration_id"],
                    category,
                    source,
                    target,
                    now[target]["migration_id"],
                ),
            ).fetchone()
            return _migration(done), False
        done = conn.execute(
            SQL(
                "INSERT INTO {} (id, category, from_system, to_system, position, actor, "
                "open_invoices) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *"
            ).format(migrations),
            (uuid.uuid4(), category, source, target, head, actor, Jsonb(list(open_invoices))),
        ).fetchone()
        with conn.cursor() as curs:
            curs.executemany(
                SQL(
                    "INSERT INTO {} (target, category, state, migration_id) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (target) DO UPDATE SET "
                    "category = EXCLUDED.category, state = EXCLUDED.state, "
                    "migration_id = EXCLUDED.migration_id, changed_at = now()"
                ).format(states_table),
                [(source, category, RETIRED, done["id"]), (target, category, ACTIVE, done["id"])],
            )
    return _migration(done), True


def _migration(row: Any) -> Migration:
    return Migration(
        id=row["id"],
        category=row["category"],
        source=row["from_system"],
        target=row["to_system"],
        position=int(row["position"]),
        actor=row["actor"],
        migrated_at=row["migrated_at"],
        open_invoices=tuple(row["open_invoices"] or ()),
    )
