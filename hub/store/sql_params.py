"""Lists and rows as query parameters, in forms PostgreSQL parses in C.

A list as an array literal: psycopg adapts a Python list element by element in Python, 3 µs
an element for text, 10 µs for a UUID (a uuid[] of 500 took 5 ms of client CPU; the feeds
worker spent 6 % of its time there, ops/bench/feeds.py --profile). The literal is one string,
built in a tenth of that and parsed by PostgreSQL's array input in C. The query casts the
parameter to its array type (`%s::uuid[]`): the string means nothing without the cast.

Many rows as one JSON document (`json_text`), read by `jsonb_to_recordset` or
`jsonb_populate_recordset(NULL::<table>, %s::jsonb)` in one statement, where executemany
adapted every parameter of every row in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson


def array(values: Iterable[object]) -> str:
    """The array literal of the values' text (None as NULL), for `%s::<type>[]`."""
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    # Quoted always: a comma, a brace, a space or the word NULL are data inside quotes.
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_text(value: Any) -> str:
    """JSON text for a jsonb parameter (orjson: a tenth of the json module's time). Anything
    not JSON already is written as its str(), as json.dumps's default=str did (datetimes
    included, not orjson's own format): Decimal amounts stay exact, as text."""
    return orjson.dumps(
        value, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    ).decode()
