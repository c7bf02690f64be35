"""The search column on real PostgreSQL: the planner takes its pg_trgm index for substring and
word-start patterns, and tables an older hub made without the column are brought up to date."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import Tracking
from psycopg.sql import SQL

from hub.application import HubApplication
from hub.bootstrap import build_application
from hub.filters import parse_filters
from hub.settings import Settings
from projections.golden_records import upkeep
from projections.golden_records.columns import FILTERS
from projections.golden_records.view import GoldenRecordsView, RecordRow

SYLLABLES = ["ber", "lin", "mar", "tal", "gro", "ven", "dor", "kas", "pel", "tor", "nik", "sa"]
FORMS = ["AG", "GmbH", "Ltd", "SARL", "BV", "Oy", "AB", "S.p.A."]


@pytest.fixture(scope="module")
def app(settings: Settings, make_database: Callable[[str], str]) -> Iterator[HubApplication]:
    built = build_application(settings, make_database("search"))
    yield built
    built.close()


def _client(name: str, position: int) -> RecordRow:
    record = {
        "id": str(uuid.uuid4()),
        "version": 1,
        "updated_at": datetime.now(UTC).isoformat(),
        "xrefs": [],
        "deleted": False,
        "legal_name": name,
        "country": "DE",
        "tax_id": "",
        "billing_currency": "EUR",
        "status": "active",
        "contacts": [],
    }
    return RecordRow("client", uuid.UUID(record["id"]), 1, position, record)


def _names(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
            for _ in range(2)
        )
        + f" {rng.choice(FORMS)}"
        for _ in range(count)
    ]


def _fill(app: HubApplication, view: GoldenRecordsView, names: list[str]) -> None:
    rows = [_client(name, i + 1) for i, name in enumerate(names)]
    view.write(rows, [], Tracking(app.name, len(rows)))
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(SQL("ANALYZE {}").format(view.table("client")))


def _plan(view: GoldenRecordsView, **params: str) -> str:
    statement, args = view.list_statement(
        "client",
        filters=parse_filters("client", params),
        after=None,
        limit=101,
        include_deleted=False,
    )
    with view.datastore.get_connection() as conn:
        row = conn.execute(SQL("EXPLAIN (FORMAT JSON) ") + statement, args).fetchone()
    return json.dumps(row["QUERY PLAN"])


def _found(view: GoldenRecordsView, **params: str) -> list[str]:
    statement, args = view.list_statement(
        "client",
        filters=parse_filters("client", params),
        after=None,
        limit=1000,
        include_deleted=False,
    )
    with view.datastore.get_connection() as conn:
        rows = conn.execute(statement, args).fetchall()
    return [json.loads(r["record"])["legal_name"] for r in rows]


def test_rare_names_are_looked_up_through_the_trigram_index(app: HubApplication) -> None:
    view = GoldenRecordsView(app.hub_recorder.datastore, generation=31)
    view.create_table()
    _fill(app, view, [*_names(30_000, 1), "Quixotic Zephyr Holdings", "Zéphyrine Quarz SA"])
    index = '"Index Name": "golden_clients_search"'
    for params in ({"name": "zephyr"}, {"name": "ixotic zep"}, {"q": "zephyr holdings"}):
        assert index in _plan(view, **params), params
    assert index in _plan(view, name="qu")  # a word start: its padded trigrams are indexed
    assert sorted(_found(view, name="zephyr")) == ["Quixotic Zephyr Holdings", "Zéphyrine Quarz SA"]
    assert sorted(_found(view, name="qu")) == ["Quixotic Zephyr Holdings", "Zéphyrine Quarz SA"]
    assert _found(view, name="ixotic zep") == ["Quixotic Zephyr Holdings"]


def test_a_common_name_is_read_in_id_order_without_sorting_every_match(
    app: HubApplication,
) -> None:
    view = GoldenRecordsView(app.hub_recorder.datastore, generation=32)
    view.create_table()
    _fill(app, view, _names(30_000, 2))
    plan = _plan(view, name="gmbh")
    # About one name in eight: walking the primary key stops after 101 matches.
    assert '"Index Name": "golden_clients_pkey"' in plan, plan
    assert len(_found(view, name="gmbh")) == 1000


def test_tables_made_before_the_search_column_are_folded_when_opened(
    app: HubApplication,
) -> None:
    datastore = app.hub_recorder.datastore
    old = GoldenRecordsView(datastore, generation=33)
    old.create_table()
    _fill(app, old, ["Zürich Consulting AG", *_names(2_500, 3)])
    with datastore.transaction(commit=True) as curs:
        for entity in FILTERS:  # as an older hub made them
            curs.execute(SQL("ALTER TABLE {} DROP COLUMN search").format(old.table(entity)))
    reopened = GoldenRecordsView(datastore, generation=33)
    reopened.create_table()
    assert _found(reopened, name="zurich") == ["Zürich Consulting AG"]
    with datastore.get_connection() as conn:
        unfolded: Any = conn.execute(
            SQL("SELECT count(*) AS n FROM {} WHERE search IS NULL").format(
                reopened.table("client")
            )
        ).fetchone()
    assert unfolded["n"] == 0
    later = _client("Genève Partners SA", 5_000)
    reopened.write([later], [], Tracking(app.name, 5_000))
    assert _found(reopened, name="geneve") == ["Genève Partners SA"]


def test_opening_a_generation_a_rebuild_just_dropped_folds_nothing(app: HubApplication) -> None:
    datastore = app.hub_recorder.datastore
    view = GoldenRecordsView(datastore, generation=34)
    view.create_table()
    view.drop()
    assert upkeep.fold_unfolded(datastore, "client", view.table("client")) == 0
