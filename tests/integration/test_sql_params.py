"""Array literals read back by PostgreSQL as the values they were made of."""

from __future__ import annotations

import uuid

import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.store.sql_params import array

# PostgreSQL text holds no NUL character, and UTF-8 no lone surrogate, whatever adapts them.
texts = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(texts | st.none(), max_size=20))
def test_text_round_trips(database_url: str, values: list[str | None]) -> None:
    with psycopg.connect(database_url) as conn:
        read = conn.execute("SELECT %s::text[]", (array(values),)).fetchone()[0]
    assert read == values


def test_uuids_and_numbers(database_url: str) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT %s::uuid[]", (array(ids),)).fetchone()[0] == ids
        assert conn.execute("SELECT %s::bigint[]", (array([1, 2**40]),)).fetchone()[0] == [
            1,
            2**40,
        ]
        assert conn.execute("SELECT %s::uuid[]", (array([]),)).fetchone()[0] == []
