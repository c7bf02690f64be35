"""The projections of a process decode each canonical event of the log once (SharedDecoding):
one decoded event builds independent aggregates, and other aggregates' events (an exception
case grows its history in place) are decoded afresh for each projection."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    Mapper,
    Notification,
    UUIDAsHex,
)

from domain.client import Client
from domain.registry import VALUE_TYPES
from domain.values import SourceRef
from hub.exceptions import ExceptionCase
from hub.store.transcodings import OrjsonTranscoder, register_value_types
from projections.decoded import SharedDecoding, shareable


class Counting(Mapper[Any]):
    decoded = 0

    def to_domain_event(self, stored: Any) -> Any:
        self.decoded += 1
        return super().to_domain_event(stored)


def mapper() -> Counting:
    transcoder = OrjsonTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_value_types(transcoder, VALUE_TYPES)
    return Counting(transcoder=transcoder)


def notifications(codec: Mapper[Any], aggregate: Any, start: int) -> list[Notification]:
    return [
        Notification(id=start + n, **vars(codec.to_stored_event(event)))
        for n, event in enumerate(aggregate.collect_events())
    ]


def test_a_canonical_event_is_decoded_once_and_builds_independent_aggregates() -> None:
    codec = mapper()
    client = Client.register(
        id=uuid4(), legal_name="Fjord Analytics AS", country="NO", billing_currency="NOK"
    )
    client.add_xref(SourceRef("harvest", "t", "Client", "1"))
    shared = SharedDecoding(codec)
    first = second = None
    for note in notifications(codec, client, 1):
        first = shared.to_domain_event(note).mutate(first)
        second = shared.to_domain_event(note).mutate(second)
    assert codec.decoded == 2, "two events, each decoded once for both projections"
    assert first is not second
    first.add_xref(SourceRef("netsuite", "t", "customer", "9"))
    assert [x.system for x in second.xrefs] == ["harvest"], "the copies do not share state"


def test_other_aggregates_events_are_decoded_afresh_and_the_cache_is_bounded() -> None:
    codec = mapper()
    case = ExceptionCase.open(
        message_id="m-1", reason="DRIFT", rule="r", detail="d", entity="client",
        system="netsuite", subject="s", canonical_ids=[uuid4()], key=("k",), raised_by="test",
    )  # fmt: skip
    [note] = notifications(codec, case, 1)
    assert not shareable(note.topic)
    shared = SharedDecoding(codec, size=2)
    shared.to_domain_event(note)
    shared.to_domain_event(note)
    assert codec.decoded == 2
    client = Client.register(
        id=uuid4(), legal_name="Acme Ltd", country="GB", billing_currency="GBP"
    )
    [created] = notifications(codec, client, 10)
    for position in (10, 11, 12):
        shared.to_domain_event(replace(created, id=position))
    shared.to_domain_event(replace(created, id=10))  # pushed out by 11 and 12
    assert codec.decoded == 2 + 4
