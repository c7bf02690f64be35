"""The hub's transcoder reads (with orjson) exactly what the library's JSON transcoder reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from domain.registry import VALUE_TYPES
from domain.values import Money, Period, SourceRef
from hub.store.transcodings import OrjsonTranscoder, register_value_types


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_value_types(transcoder, VALUE_TYPES)
    return transcoder


LIBRARY = _registered(JSONTranscoder())
HUB = _registered(OrjsonTranscoder())


def _typed(value: Any) -> Any:
    """The value with every nested type spelled out: Decimal('1') == 1 must not pass."""
    if isinstance(value, dict):
        return ("dict", {k: _typed(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


SAMPLES: list[Any] = [
    {
        "timestamp": datetime(2026, 12, 3, 23, 33, 40, 354528, tzinfo=UTC),
        "originator_topic": "domain.rate_card:RateCard",
        "name": "Ærø & Søn — Zürich",
        "amount": Money(Decimal("420.00"), "EUR"),
        "period": Period(date(2024, 7, 1)),
        "refs": [SourceRef("harvest", "t1", "client", "42"), None, 3, 2.5, True, "x"],
        "nested": {"a": [{"b": [Money(Decimal("-0.01"), "USD")]}], "empty": {}, "list": []},
        "id": uuid4(),
        "count": 2**62,
    },
    # Plain dicts of two keys, one of them `_type_`: left as they are by both.
    {"_type_": "not a value", "other": 1},
    [1, [2, [3, {"k": date(2025, 1, 31)}]]],
    "a string",
    None,
]


@pytest.mark.parametrize("value", SAMPLES)
def test_reads_what_the_library_reads(value: Any) -> None:
    data = LIBRARY.encode(value)
    assert _typed(HUB.decode(data)) == _typed(LIBRARY.decode(data))
    assert HUB.decode(data) == value


def test_what_orjson_refuses_is_read_by_the_library_decoder() -> None:
    # NaN and integers beyond 64 bits are valid to the `json` module, not to orjson.
    data = LIBRARY.encode({"big": 2**70, "nan": float("nan"), "d": Decimal("1.5")})
    decoded = HUB.decode(data)
    assert decoded["big"] == 2**70
    assert decoded["nan"] != decoded["nan"]
    assert decoded["d"] == Decimal("1.5")


def test_an_unregistered_type_is_refused_as_the_library_refuses_it() -> None:
    data = b'{"x":{"_type_":"no_such_type","_data_":"1"}}'
    with pytest.raises(TranscodingNotRegisteredError):
        LIBRARY.decode(data)
    with pytest.raises(TranscodingNotRegisteredError):
        HUB.decode(data)
