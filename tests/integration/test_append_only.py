"""Guarantee 1: recorded events are never updated or deleted; the database refuses it."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from hub.bootstrap import Hub
from hub.store.recorder import EventMeta


@pytest.fixture(scope="module")
def recorded(hub: Hub) -> int:
    _, position = hub.app.register_client(
        legal_name="Append Only Ltd",
        country="GB",
        billing_currency="GBP",
        meta=EventMeta(actor="test"),
    )
    return position


def _table(hub: Hub) -> sql.Identifier:
    return sql.Identifier(hub.app.hub_recorder.events_table_name)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {} SET actor = 'mallory' WHERE notification_id = %s",
        "DELETE FROM {} WHERE notification_id = %s",
    ],
)
def test_the_appending_role_may_not_update_or_delete_events(
    hub: Hub, recorded: int, statement: str
) -> None:
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(hub.settings.database_role)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL(statement).format(_table(hub)), (recorded,))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {} SET actor = 'mallory' WHERE notification_id = %s",
        "DELETE FROM {} WHERE notification_id = %s",
        "TRUNCATE {}",
    ],
)
def test_even_a_superuser_cannot_update_delete_or_truncate_events(
    hub: Hub, recorded: int, statement: str
) -> None:
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
        is_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert is_super.fetchone() == (True,), "this test needs to connect as a superuser"
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(
                sql.SQL(statement).format(_table(hub)), (recorded,) if "%s" in statement else None
            )
        still_there = conn.execute(
            sql.SQL("SELECT actor FROM {} WHERE notification_id = %s").format(_table(hub)),
            (recorded,),
        ).fetchone()
    assert still_there == ("test",)


def test_the_appending_role_may_insert_and_select(hub: Hub) -> None:
    _, position = hub.app.register_client(
        legal_name="Through The Role Ltd",
        country="DE",
        billing_currency="EUR",
        meta=EventMeta(actor="test"),
    )
    assert hub.app.hub_recorder.append_role == hub.settings.database_role
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(hub.settings.database_role)))
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE notification_id = %s").format(_table(hub)),
            (position,),
        ).fetchone()
    assert row == (1,)
