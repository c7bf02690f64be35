"""Database objects of the write side beyond the library's tables, created idempotently.

The events table refuses UPDATE, DELETE and TRUNCATE twice over: a trigger refuses them for
everyone (superusers included), and the role the hub appends through holds only INSERT and
SELECT on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.pshub_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pshub: % is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

_TRIGGERS = (
    "CREATE OR REPLACE TRIGGER {name_rows} BEFORE UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION {schema}.pshub_refuse_change()",
    "CREATE OR REPLACE TRIGGER {name_truncate} BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.pshub_refuse_change()",
)

_CREATE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {role_literal}) THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION
    -- Another process created it between our check and our CREATE.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$
"""

TOKENS_TABLE = "hub_tokens"
CLAIMS_TABLE = "hub_claims"
INGEST_TABLES = (
    "hub_ingest_messages",
    "hub_ingest_parked",
    "hub_lineage",
    "hub_adapter_state",
    "hub_projections",
    "hub_secrets",
    "hub_links",
    "hub_feed_states",
    "hub_feed_migrations",
)

WRITE_SIDE_TABLES = (
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_tokens (
        name text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_claims (
        -- C collation: prefix lookups (LIKE 'xref:harvest|...%') use the primary key index.
        key text COLLATE "C" PRIMARY KEY,
        owner_id uuid NOT NULL,
        entity text NOT NULL,
        position bigint NOT NULL,
        -- For a source record's xref: the newest change applied (order per source record).
        sequence text,
        message_id text
    )
    """,
    # What became of every ingested message; written in the same transaction as the events
    # it caused, so that a redelivery at any later time finds it (exactly-once effect).
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_ingest_messages (
        message_id text PRIMARY KEY,
        subject text NOT NULL,
        system text,
        tenant text,
        entity text,
        source_type text,
        source_id text,
        sequence text,
        outcome text NOT NULL,
        reason text,
        detail text,
        canonical_ids uuid[] NOT NULL DEFAULT '{{}}',
        position bigint,
        received_at timestamptz NOT NULL,
        decided_at timestamptz NOT NULL,
        deliveries integer NOT NULL DEFAULT 1,
        -- The message as it came, for what was not applied (audit, and retries).
        payload bytea
    )
    """,
    "CREATE INDEX IF NOT EXISTS hub_ingest_messages_source "
    "ON {schema}.hub_ingest_messages (system, tenant, source_type, source_id)",
    # Changes waiting for a record they refer to; applied in arrival order once it exists.
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_ingest_parked (
        message_id text PRIMARY KEY,
        waiting_for text NOT NULL,
        subject text NOT NULL,
        payload bytea NOT NULL,
        parked_at timestamptz NOT NULL,
        arrival bigserial
    )
    """,
    "CREATE INDEX IF NOT EXISTS hub_ingest_parked_waiting "
    "ON {schema}.hub_ingest_parked (waiting_for, arrival)",
    # Where each adapter resumes: a Graph deltaLink, a Harvest updated_since.
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_adapter_state (
        system text NOT NULL,
        tenant text NOT NULL,
        cursor text,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (system, tenant)
    )
    """,
    # Columns added since the tables were first created (stores made by earlier versions).
    "ALTER TABLE {schema}.hub_ingest_messages ADD COLUMN IF NOT EXISTS payload bytea",
    "ALTER TABLE {schema}.hub_claims ADD COLUMN IF NOT EXISTS sequence text",
    "ALTER TABLE {schema}.hub_claims ADD COLUMN IF NOT EXISTS message_id text",
    # Secrets the hub makes for itself (the key that signs list cursors).
    "CREATE TABLE IF NOT EXISTS {schema}.hub_secrets (name text PRIMARY KEY, value bytea NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hub_ingest_messages_canonical_ids "
    "ON {schema}.hub_ingest_messages USING gin (canonical_ids)",
    # Which generation of each projection serves reads (a rebuild fills the next one).
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_projections (
        name text PRIMARY KEY,
        generation integer NOT NULL,
        switched_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    # References held on records (links) to source records the hub does not know yet: found
    # by the claim key they wait for, resolved (and deleted) in the transaction that claims it.
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_links (
        key text COLLATE "C" NOT NULL,
        holder_id uuid NOT NULL,
        field text NOT NULL,
        holder_entity text NOT NULL,
        entity text NOT NULL,
        system text NOT NULL,
        tenant text NOT NULL,
        type text NOT NULL,
        source_id text NOT NULL,
        held_at timestamptz NOT NULL,
        -- The exception case opened once the link waited longer than the grace period.
        case_id uuid,
        PRIMARY KEY (key, holder_id, field)
    )
    """,
    "CREATE INDEX IF NOT EXISTS hub_links_holder ON {schema}.hub_links (holder_id, field)",
    "CREATE INDEX IF NOT EXISTS hub_links_overdue ON {schema}.hub_links (held_at) "
    "WHERE case_id IS NULL",
    "ALTER TABLE {schema}.hub_ingest_parked ADD COLUMN IF NOT EXISTS case_id uuid",
    # Feeds a system migration retired (no row: a feed runs wherever it is enabled), read by
    # every process running feeds, and each migration as it was made (hub/feeds/assignments.py).
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_feed_states (
        target text PRIMARY KEY,
        category text NOT NULL,
        state text NOT NULL CHECK (state IN ('active', 'retired')),
        migration_id uuid NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_feed_migrations (
        id uuid PRIMARY KEY,
        category text NOT NULL,
        from_system text NOT NULL,
        to_system text NOT NULL,
        position bigint NOT NULL,
        actor text NOT NULL,
        -- The invoices the system migrated from still held open then (their references).
        open_invoices jsonb NOT NULL DEFAULT '[]',
        migrated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    # Which source last set each field of records that several systems feed (survivorship).
    """
    CREATE TABLE IF NOT EXISTS {schema}.hub_lineage (
        canonical_id uuid PRIMARY KEY,
        fields jsonb NOT NULL
    )
    """,
)


def apply(
    conn: psycopg.Connection,
    *,
    schema: str,
    events_table: str,
    append_role: str | None,
    other_tables: Sequence[str],
) -> None:
    """Creates the write-side tables, the append-only trigger, and the appending role."""
    ident_schema = sql.Identifier(schema)
    table = sql.Identifier(schema, events_table)
    with conn.transaction():
        # Serialise concurrent migrations (parallel test workers, several hub processes).
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('pshub.schema'))")
        for ddl in WRITE_SIDE_TABLES:
            conn.execute(sql.SQL(ddl).format(schema=ident_schema))
        conn.execute(sql.SQL(_REFUSE_FUNCTION).format(schema=ident_schema))
        for ddl in _TRIGGERS:
            conn.execute(
                sql.SQL(ddl).format(
                    name_rows=sql.Identifier(f"{events_table}_append_only"),
                    name_truncate=sql.Identifier(f"{events_table}_no_truncate"),
                    table=table,
                    schema=ident_schema,
                )
            )
        if not append_role:
            return
        role = sql.Identifier(append_role)
        conn.execute(sql.SQL(_CREATE_ROLE).format(role=role, role_literal=sql.Literal(append_role)))
        with conn.cursor(row_factory=tuple_row) as cur:
            cur.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (append_role,))
            (is_member,) = cur.fetchone() or (False,)
        if not is_member:
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident_schema, role))
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(table, role))
        conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(table, role))
        for name in (CLAIMS_TABLE, TOKENS_TABLE, *INGEST_TABLES, *other_tables):
            conn.execute(
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                    sql.Identifier(schema, name), role
                )
            )
        conn.execute(
            sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(ident_schema, role)
        )
