"""What a target's answer means for a delivery: Retry-After, retryability, exact numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from adapters.target_answers import failure, retry_after, wire

NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after({"Retry-After": "120"}) == 120.0
    assert retry_after({"Retry-After": "Mon, 02 Mar 2026 10:00:30 GMT"}, NOW) == 30.0
    assert retry_after({"Retry-After": "Mon, 02 Mar 2026 09:00:00 GMT"}, NOW) == 0.0
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({"Retry-After": "-5"}) is None
    assert retry_after({}) is None


def test_payload_faults_are_final_and_throttles_and_server_faults_are_not() -> None:
    def explain(body: object) -> str:
        return "the target's words"

    for status, expected in [
        (400, False),
        (404, False),
        (409, False),
        (422, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
    ]:
        response = httpx.Response(status, json={"x": 1}, headers={"Retry-After": "3"})
        failed = failure(response, "POST thing", explain)
        assert failed.retryable is expected, status
        assert failed.reason == ("DOWNSTREAM_TIMEOUT" if expected else "DOWNSTREAM_REJECTED")
        assert failed.status == status and "the target's words" in str(failed)
        assert failed.retry_after == (3.0 if expected else None)


def test_a_body_that_is_not_the_targets_error_shape_is_quoted() -> None:
    failed = failure(httpx.Response(502, text="<html>Bad gateway</html>"), "GET x", lambda b: None)
    assert "Bad gateway" in str(failed) and failed.retryable


def test_wire_writes_decimal_strings_as_exact_json_numbers_only_where_named() -> None:
    payload = {
        "Line": [{"Amount": "123456789012345678.91", "Qty": "0.333333", "Description": "7.50"}],
        "DocNumber": "1001",
        "Exact": Decimal("0.1"),
        "Flag": True,
        "Nothing": None,
    }
    text = wire(payload, frozenset({"Amount", "Qty", "DocNumber"}))
    parsed = json.loads(text, parse_float=Decimal)
    line = parsed["Line"][0]
    assert line["Amount"] == Decimal("123456789012345678.91")  # beyond a float's digits
    assert line["Qty"] == Decimal("0.333333") and line["Description"] == "7.50"
    assert parsed["DocNumber"] == 1001 and parsed["Exact"] == Decimal("0.1")
    assert parsed["Flag"] is True and parsed["Nothing"] is None


def test_wire_keeps_a_named_field_that_is_not_a_number_a_string() -> None:
    assert json.loads(wire({"Qty": "1e5; drop"}, frozenset({"Qty"}))) == {"Qty": "1e5; drop"}
