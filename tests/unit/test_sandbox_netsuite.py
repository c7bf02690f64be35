"""The loopback NetSuite (hub/sandbox/netsuite.py) refuses what NetSuite refuses, so the feeds'
handling of a refusal is exercised as it would be against the real one."""

from __future__ import annotations

import json

from hub.sandbox.netsuite import PREFIX, NetSuite
from hub.sandbox.server import Request


def put_employee(netsuite: NetSuite, body: dict[str, object]) -> tuple[int, object]:
    answer = netsuite.handle(
        Request(
            "PUT",
            f"{PREFIX}employee/eid:pshub-1",
            {},
            {"authorization": "Bearer t"},
            json.dumps(body).encode(),
        )
    )
    return answer.status, answer.body


def test_an_employee_without_a_subsidiary_is_refused_as_netsuite_refuses_it() -> None:
    netsuite = NetSuite()
    status, body = put_employee(netsuite, {"firstName": "Ann", "lastName": "Berg"})
    assert status == 400
    assert body["o:errorDetails"][0]["detail"] == "Please enter value(s) for: Subsidiary"  # type: ignore[index]
    assert netsuite.created["employee"] == 0
    booked = {"firstName": "Ann", "lastName": "Berg", "subsidiary": {"refName": "Fjord AS"}}
    assert put_employee(netsuite, booked)[0] == 204
    [employee] = netsuite.records["employee"].values()
    assert employee["subsidiary"] == {"refName": "Fjord AS"}
