"""A golden record written straight from its aggregate (hub/record_dump.py) is the JSON the
record model gives through pydantic, for every state of every record of the demo firm (each
event applied in log order, as the projections see them), and for the value forms pydantic
writes in its own way (UTC as Z, other offsets, Decimal exponents, enumerations, nested
mappings, missing attributes)."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from hub.bootstrap import build_application
from hub.contracts.common import MoneyModel, XrefModel
from hub.contracts.records import RECORD_MODELS
from hub.demo import DemoSpec, load_demo
from hub.record_dump import record_dumper
from hub.records import to_record, validated_record
from hub.settings import Settings


@pytest.fixture(scope="module")
def app(settings: Settings, make_database: Any) -> Iterator[Any]:
    app = build_application(settings, make_database("record_dump"))
    load_demo(app, DemoSpec(seed=5, scale=0.05), progress=False)
    yield app
    app.close()


def test_every_state_of_every_demo_record_is_written_as_pydantic_writes_it(app: Any) -> None:
    assert all(record_dumper(model) is not None for model in RECORD_MODELS.values())
    aggregates: dict[UUID, Any] = {}
    compared: Counter[str] = Counter()
    for notification in app.hub_recorder.select_notifications(1, 1_000_000):
        event = app.mapper.to_domain_event(notification)
        aggregate = event.mutate(aggregates.get(notification.originator_id))
        aggregates[notification.originator_id] = aggregate
        entity = getattr(aggregate, "ENTITY", None)
        if entity in RECORD_MODELS:
            assert to_record(aggregate) == validated_record(aggregate), (entity, aggregate.id)
            compared[entity] += 1
    # The demo firm holds every kind of record, most of them changed more than once.
    assert set(compared) == set(RECORD_MODELS), compared
    assert sum(compared.values()) > 2_000


class Status(enum.StrEnum):
    OPEN = "open"


class Inner(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    note: str = "none"
    xref: XrefModel | None = None


class Sample(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    on: date | None
    amount: Decimal
    money: MoneyModel | None
    status: str
    count: int
    flag: bool
    ids: list[UUID]
    inner: Inner | None = None
    inners: list[Inner] = []


@dataclass
class Money:
    amount: Decimal
    currency: str


@dataclass
class Held:
    name: str


offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
)


@given(
    at=st.datetimes(timezones=offsets) | st.datetimes(),
    on=st.none() | st.dates(),
    amount=st.decimals(allow_nan=False, allow_infinity=False),
    money=st.none()
    | st.builds(Money, st.decimals(places=2, min_value=-(10**9), max_value=10**9), st.just("EUR")),
    status=st.text() | st.just(Status.OPEN),
    count=st.integers(),
    flag=st.booleans(),
    inner=st.none()
    | st.builds(Held, st.text())
    | st.fixed_dictionaries({"name": st.text()})
    | st.fixed_dictionaries(
        {
            "name": st.text(),
            "xref": st.fixed_dictionaries(
                {"system": st.just("xero"), "type": st.just("Invoice"), "id": st.just("7")}
            ),
        }
    ),
)
def test_value_forms(
    at: datetime,
    on: date | None,
    amount: Decimal,
    money: Money | None,
    status: str,
    count: int,
    flag: bool,
    inner: Any,
) -> None:
    aggregate = type("Aggregate", (), {})()
    values = {
        "at": at, "on": on, "amount": amount, "money": money, "status": status, "count": count,
        "flag": flag, "ids": [uuid4()], "inner": inner, "inners": [Held("a")],
    }  # fmt: skip
    for name, value in values.items():
        setattr(aggregate, name, value)
    expected = Sample.model_validate(
        {name: getattr(aggregate, name, None) for name in Sample.model_fields}, from_attributes=True
    ).model_dump(mode="json")
    dump = record_dumper(Sample)
    assert dump is not None
    assert dump(aggregate, {}) == expected
