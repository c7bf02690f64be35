"""A stored event as the relay's CloudEvent: attributes, metadata extensions, and data in the
contract's JSON forms (Money as amount and currency, dates ISO, ids as UUID text)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex

from domain.engagement import Engagement
from domain.registry import VALUE_TYPES
from domain.resource import Resource
from domain.values import Money, SourceRef
from hub.relay.envelope import Envelopes, event_attributes
from hub.store.transcodings import register_value_types
from hub.streams import Streams

RECORDED = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)


def _mapper() -> Mapper[uuid.UUID]:
    # The hub application's transcoder: the library's defaults plus the domain's value types.
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_value_types(transcoder, VALUE_TYPES)
    return Mapper(transcoder=transcoder)


def _row(event: Any, entity: str, position: int, **meta: Any) -> tuple[Any, ...]:
    stored = _mapper().to_stored_event(event)
    return (
        position,
        entity,
        str(stored.originator_id),
        stored.originator_version,
        stored.topic,
        stored.state,
        RECORDED,
        meta.get("occurred_at"),
        meta.get("system", "harvest"),
        meta.get("message_id"),
        meta.get("correlation_id"),
        meta.get("causation_id"),
        meta.get("actor", "ingest:harvest"),
    )


def _engagement() -> Engagement:
    return Engagement.create(
        id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        code="ENG-7",
        name="Close the books",
        currency="JPY",
        start_date=date(2026, 4, 1),
        budget=Money(Decimal(1200000), "JPY"),
        xrefs=[SourceRef("harvest", "123", "Project", "P7")],
    )


def test_an_event_becomes_a_structured_cloudevent_on_its_subject() -> None:
    engagement = _engagement()
    occurred = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    row = _row(
        engagement.collect_events()[0],
        "engagement",
        42,
        message_id="m-1",
        correlation_id="c-1",
        causation_id="m-0",
        occurred_at=occurred,
    )
    subject, body = Envelopes(Streams("P_"), "/pshub/P").encode(row)

    assert subject == "P_events.engagement.Created"
    event = JSONFormat().read(None, body)  # valid for the CloudEvents SDK
    assert event.get_attributes() == {
        "specversion": "1.0",
        "id": "P_PSHUB_EVENTS:42",
        "source": "/pshub/P",
        "type": "pshub.engagement.Created.v1",
        "subject": str(engagement.id),
        "time": RECORDED,
        "sequence": "00000000000000000042",
        "datacontenttype": "application/json",
        "aggregateversion": 1,
        "system": "harvest",
        "messageid": "m-1",
        "correlationid": "c-1",
        "causationid": "m-0",
        "actor": "ingest:harvest",
        "occurredat": "2026-03-02T09:00:00Z",
    }
    assert event.get_data() == {
        "client_id": str(engagement.client_id),
        "code": "ENG-7",
        "name": "Close the books",
        "currency": "JPY",
        "service_line": "",
        "region": "",
        "legal_entity": "",
        "start_date": "2026-04-01",
        "end_date": None,
        "budget": {"amount": "1200000", "currency": "JPY"},
        "manager_id": None,
        "status": "pipeline",
        "xrefs": [{"system": "harvest", "tenant": "123", "type": "Project", "id": "P7"}],
        "details": {},
    }


def test_metadata_an_event_lacks_is_left_out_rather_than_null() -> None:
    row = _row(_engagement().collect_events()[0], "engagement", 7, system="api", actor="ops")
    event = json.loads(Envelopes(Streams(), "/pshub").encode(row)[1])
    assert event["id"] == "PSHUB_EVENTS:7"
    assert not {"messageid", "correlationid", "causationid", "occurredat"} & set(event)


def test_a_revision_publishes_only_the_fields_a_reader_may_see() -> None:
    resource = Resource.register(
        id=uuid.uuid4(),
        name="Ada Example",
        email="ada@example.com",
        role="consultant",
        time_zone="Europe/London",
        cost_rate=Money(Decimal("95.00"), "GBP"),
        details={"phone": "+44 20 7946 0000", "department": "Audit"},
    )
    resource.revise(
        email="ada.e@example.com", cost_rate=Money(Decimal("99.00"), "GBP"), role="lead"
    )
    registered, revised = resource.collect_events()
    envelopes = Envelopes(Streams(), "/pshub")
    created = json.loads(envelopes.encode(_row(registered, "resource", 1))[1])["data"]
    changed = json.loads(envelopes.encode(_row(revised, "resource", 2))[1])["data"]
    assert created == {"role": "consultant", "home_region": "", "time_zone": "Europe/London",
                       "xrefs": [], "details": {"department": "Audit"}}  # fmt: skip
    assert changed == {"changes": {"role": "lead"}}


def test_stored_state_becomes_plain_json_values() -> None:
    state = json.dumps(
        {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-02T09:00:00+00:00"},
            "originator_topic": "domain.client:Client",
            "id": {"_type_": "uuid_hex", "_data_": "0123456789abcdef0123456789abcdef"},
            "hours": {"_type_": "decimal_str", "_data_": "7.50"},
            "lines": [{"_type_": "Money", "_data_": {
                "amount": {"_type_": "decimal_str", "_data_": "10.000"}, "currency": "KWD"}}],
        }
    ).encode()  # fmt: skip
    assert event_attributes(state) == {
        "id": "01234567-89ab-cdef-0123-456789abcdef",
        "hours": "7.50",
        "lines": [{"amount": "10.000", "currency": "KWD"}],
    }


def test_a_message_id_names_its_position() -> None:
    envelopes = Envelopes(Streams("T1_"), "/pshub/T1")
    assert envelopes.position_of(envelopes.message_id(123456789)) == 123456789
    assert envelopes.position_of("someone-else") is None


def test_integers_beyond_64_bits_stay_exact() -> None:
    state = b'{"code": 123456789012345678901234567890, "name": 0.25}'
    assert event_attributes(state) == {"code": 123456789012345678901234567890, "name": "0.25"}
    row = list(_row(_engagement().collect_events()[0], "engagement", 1))
    row[5] = state
    body = Envelopes(Streams(), "/pshub").encode(tuple(row))[1]
    assert b'"code":123456789012345678901234567890' in body


def test_an_event_too_large_for_nats_goes_without_its_data() -> None:
    engagement = _engagement()
    row = _row(engagement.collect_events()[0], "engagement", 9)
    _, body = Envelopes(Streams(), "/pshub", max_bytes=600).encode(row)
    event = JSONFormat().read(None, body)
    assert len(body) <= 600
    assert event.get_data() == {}
    assert event.get_extension("dataomitted") == "too_large"
    assert event.get_subject() == str(engagement.id)  # a consumer reads it over HTTP
