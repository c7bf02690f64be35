"""Lists as query parameters, written as PostgreSQL array literals.

psycopg adapts a Python list element by element in Python: 3 µs an element for text, 10 µs
for a UUID (a uuid[] of 500 took 5 ms of client CPU; the feeds worker spent 6 % of its time
there, ops/bench/feeds.py --profile). The literal is one string, built in a tenth of that and
parsed by PostgreSQL's array input in C. The query casts the parameter to its array type
(`%s::uuid[]`): the string means nothing without the cast.
"""

from __future__ import annotations

from collections.abc import Iterable


def array(values: Iterable[object]) -> str:
    """The array literal of the values' text (None as NULL), for `%s::<type>[]`."""
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    # Quoted always: a comma, a brace, a space or the word NULL are data inside quotes.
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
