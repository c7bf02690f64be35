"""SharedRecords: each aggregate serialised once per version for every projection of a
process."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

from projections.serialised import SharedRecords


def test_a_version_is_serialised_once_and_each_new_version_again() -> None:
    made = []

    def to_record(aggregate: SimpleNamespace) -> dict:
        made.append((aggregate.id, aggregate.version))
        return {"id": str(aggregate.id), "version": aggregate.version}

    shared = SharedRecords(to_record)
    one = SimpleNamespace(id=uuid4(), version=1)
    # Three feeds ask for the record at the same event: serialised once, the same record.
    first = shared(one)
    assert shared(one) is first and shared(SimpleNamespace(id=one.id, version=1)) is first
    assert made == [(one.id, 1)]
    assert shared(SimpleNamespace(id=one.id, version=2)) == {"id": str(one.id), "version": 2}
    assert made == [(one.id, 1), (one.id, 2)]


def test_the_oldest_records_go_first_past_its_size() -> None:
    made = []
    shared = SharedRecords(lambda a: made.append(a.id) or {"id": a.id}, size=2)
    a, b, c = (SimpleNamespace(id=uuid4(), version=1) for _ in range(3))
    for aggregate in (a, b, c, c, b, a):
        shared(aggregate)
    # a was the oldest when c came, so it is serialised again; b and c were still kept.
    assert made == [a.id, b.id, c.id, a.id]
