"""PSHUB_LEGAL_ENTITIES: legal entity -> ISO country, refused with a message when malformed."""

from __future__ import annotations

import pytest

from hub.readiness.entities import parse


def test_a_table_maps_entities_to_countries() -> None:
    assert parse('{"PS-UK-LTD": "GB", "PS-US-LLC": "US"}') == {"PS-UK-LTD": "GB", "PS-US-LLC": "US"}
    assert parse(None) == {}
    assert parse("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('["GB"]', "must map"),
        ('{"PS-UK-LTD": "United Kingdom"}', "PS-UK-LTD"),
        ('{"PS-UK-LTD": ""}', "country code is required"),
        ('{"PS-UK-LTD": 44}', "country code is required"),
    ],
)
def test_a_malformed_table_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)
