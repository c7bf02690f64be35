"""Bearer tokens: created and revoked from the command line, stored only as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from hub.store.schema import TOKENS_TABLE

FIXED_SCOPES = frozenset({"read", "read:confidential", "read:pii", "operate", "audit"})
_WRITE_SCOPE = re.compile(r"^write:[a-z][a-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


class TokenError(ValueError):
    """A token could not be created or revoked as asked."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name and its scopes."""

    name: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def may_write(self, system: str | None = None) -> bool:
        """True for write:<system>; with no system named, for any write scope."""
        if system is not None:
            return f"write:{system}" in self.scopes
        return any(s.startswith("write:") for s in self.scopes)


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Returns the scopes, de-duplicated and sorted, or raises TokenError naming a bad one."""
    result = sorted({s.strip() for s in scopes if s.strip()})
    if not result:
        raise TokenError("at least one scope is needed")
    for scope in result:
        if scope not in FIXED_SCOPES and not _WRITE_SCOPE.match(scope):
            raise TokenError(
                f"unknown scope '{scope}' (known: {', '.join(sorted(FIXED_SCOPES))}, "
                "write:<system>)"
            )
    return result


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Tokens in PostgreSQL; works without a running hub."""

    def __init__(self, conninfo: str, schema: str = "public") -> None:
        self.conninfo = conninfo
        self.table = sql.Identifier(schema, TOKENS_TABLE)

    def create(self, name: str, scopes: Iterable[str]) -> str:
        """Creates a token and returns it; it is shown once and only its hash is kept."""
        if not _NAME.match(name):
            raise TokenError(f"'{name}' is not a valid token name (letters, digits, _.@-)")
        checked = check_scopes(scopes)
        token = "pshub_" + secrets.token_urlsafe(32)
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            try:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (name, token_hash, scopes) VALUES (%s, %s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, "
                        "scopes = EXCLUDED.scopes, created_at = now(), revoked_at = NULL "
                        "WHERE {}.revoked_at IS NOT NULL"
                    ).format(self.table, self.table),
                    (name, hash_token(token), checked),
                )
            except psycopg.errors.UndefinedTable as exc:
                raise TokenError("the store has no token table yet; start the hub once") from exc
            row = conn.execute(
                sql.SQL("SELECT token_hash FROM {} WHERE name = %s").format(self.table), (name,)
            ).fetchone()
        if row is None or row[0] != hash_token(token):
            raise TokenError(f"a token named '{name}' exists already; revoke it first")
        return token

    def revoke(self, name: str) -> None:
        """Revokes the named token; raises TokenError if there is no active one."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            cur = conn.execute(
                sql.SQL(
                    "UPDATE {} SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL"
                ).format(self.table),
                (name,),
            )
            if cur.rowcount == 0:
                raise TokenError(f"no active token named '{name}'")

    def authenticate(self, conn: psycopg.Connection, token: str) -> Principal | None:
        """Returns the principal of an active token, or None."""
        row = conn.execute(
            sql.SQL(
                "SELECT name, scopes FROM {} WHERE token_hash = %s AND revoked_at IS NULL"
            ).format(self.table),
            (hash_token(token),),
        ).fetchone()
        if row is None:
            return None
        name, scopes = (row["name"], row["scopes"]) if isinstance(row, dict) else row
        return Principal(name, frozenset(scopes))
