"""Body shapes (issue 8, part 5): through POST /v1/adapters/{system}/webhook, a JSON body that is
none of the source's shapes (a bare array, a scalar, null, {}, another vendor's payload) is
refused at once as problem+json naming the field and the rule, and nothing reaches the ingest
stream; the empty inputs a source really sends are answered 200 with the reason there is
nothing to do. `pshub adapter <system> publish` refuses the same bodies (exit code 1) and says
why; see test_publish_shapes.py.

Every adapter answers, in the same way:
- 400 MALFORMED_PAYLOAD: an empty body (outside Graph's handshake), bytes that are not UTF-8,
  text that is not JSON;
- 422 SCHEMA_VIOLATION: JSON that is not the source's shape;
- 200 {"message_ids": [], "ignored": why}: a handshake (Xero's intent to receive; Graph's
  validation, whose token is echoed as text/plain; a Graph lifecycle notification) or an empty
  page (Harvest, NetSuite, an Odoo search_read result, a Graph delta page, whose deltaLink is
  still kept as the cursor);
- 202 {"message_ids": [...]}: change events published (or fetches run and their failures
  recorded as exception cases), never an empty list without a reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hub.intake import load_cursor
from tests.e2e.shape_cases import BAD_BODIES, EVENT, SYSTEMS, WHOLE_BODY
from tests.support import vendor_bodies as vendor
from tests.support.adapter_flow import ingest_last_sequence
from tests.support.running import Running, running_hub


@pytest.fixture(scope="module")
def hub(settings: Any, make_database: Any, nats_url: str) -> Iterator[Running]:
    """One hub for the whole matrix: refusals never change its state."""
    with running_hub(settings, make_database, nats_url) as running:
        yield running


@pytest.fixture(scope="module")
def writers(hub: Running) -> dict[str, dict[str, str]]:
    """A write:<system> token per adapter."""
    return {system: hub.token(f"write:{system}") for system in SYSTEMS}


def post(
    hub: Running,
    writers: dict[str, dict[str, str]],
    system: str,
    body: bytes,
    **params: str,
) -> Any:
    return hub.api.post(
        f"/v1/adapters/{system}/webhook",
        content=body,
        params=params or None,
        headers={**writers[system], "Content-Type": "application/json"},
    )


def refused(response: Any, status: int, reason: str) -> dict[str, Any]:
    """A problem+json refusal with the reason, naming the field and the rule it broke."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert (problem["reason"], problem["type"]) == (reason, f"urn:pshub:problem:{reason}")
    [error] = problem["errors"]
    assert error["field"] and error["rule"] and error["message"], problem
    return problem


@pytest.mark.parametrize("shape", list(BAD_BODIES))
@pytest.mark.parametrize("system", SYSTEMS)
def test_a_body_of_no_source_shape_is_refused_at_once_and_publishes_nothing(
    hub: Running, writers: dict[str, dict[str, str]], system: str, shape: str
) -> None:
    body, status, reason = BAD_BODIES[shape]
    before = ingest_last_sequence(hub)

    response = post(
        hub, writers, system, body, **({"event": EVENT[system]} if system in EVENT else {})
    )

    problem = refused(response, status, reason)
    if shape in WHOLE_BODY:
        assert problem["errors"][0]["field"] == "body", problem
    assert ingest_last_sequence(hub) == before


@pytest.mark.parametrize(
    ("sender", "system"),
    [(sender, system) for sender in SYSTEMS for system in SYSTEMS if sender != system],
)
def test_another_vendors_payload_is_a_schema_violation_and_publishes_nothing(
    hub: Running, writers: dict[str, dict[str, str]], sender: str, system: str
) -> None:
    before = ingest_last_sequence(hub)

    response = post(
        hub,
        writers,
        system,
        json.dumps(vendor.OWN_SHAPES[sender]).encode(),
        **({"event": EVENT[system]} if system in EVENT else {}),
    )

    refused(response, 422, "SCHEMA_VIOLATION")
    assert ingest_last_sequence(hub) == before


@pytest.mark.parametrize(
    ("system", "body", "why"),
    [
        ("xero", vendor.XERO_INTENT_TO_RECEIVE, "intent to receive"),
        ("harvest", vendor.HARVEST_EMPTY_EXPENSES_PAGE, "empty expenses page"),
        ("odoo", vendor.ODOO_EMPTY_RESULT, "empty search_read result"),
        ("netsuite", vendor.NETSUITE_EMPTY_QUERY_PAGE, "empty page"),
        ("sharepoint", vendor.GRAPH_REAUTHORIZATION, "lifecycle"),
    ],
    ids=[
        "xero-intent-to-receive",
        "harvest-empty-page",
        "odoo-empty-result",
        "netsuite-empty-page",
        "graph-lifecycle",
    ],
)
def test_an_empty_input_the_source_really_sends_is_answered_200_with_the_reason(
    hub: Running, writers: dict[str, dict[str, str]], system: str, body: Any, why: str
) -> None:
    before = ingest_last_sequence(hub)

    response = post(hub, writers, system, json.dumps(body).encode())

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["message_ids"] == []
    assert why in answer["ignored"]
    assert ingest_last_sequence(hub) == before


def test_graphs_validation_handshake_echoes_its_token_and_an_empty_body_without_one_is_refused(
    hub: Running, writers: dict[str, dict[str, str]]
) -> None:
    before = ingest_last_sequence(hub)
    token = "Validation: Testing client application reachability for subscription 7f105c7d"

    echoed = post(hub, writers, "sharepoint", b"", validationToken=token)
    assert echoed.status_code == 200, echoed.text
    assert echoed.headers["content-type"].startswith("text/plain")
    assert echoed.text == token

    # The token does not make a body of another shape a handshake.
    refused(post(hub, writers, "sharepoint", b"[]", validationToken=token), 422, "SCHEMA_VIOLATION")
    refused(post(hub, writers, "sharepoint", b""), 400, "MALFORMED_PAYLOAD")
    assert ingest_last_sequence(hub) == before


def test_an_empty_delta_page_publishes_nothing_but_keeps_its_delta_link_as_the_cursor(
    hub: Running, writers: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_SHAREPOINT_TENANT", "kestrel-shapes")
    before = ingest_last_sequence(hub)

    response = post(hub, writers, "sharepoint", json.dumps(vendor.GRAPH_EMPTY_DELTA_PAGE).encode())

    assert response.status_code == 200, response.text
    assert response.json() == {
        "message_ids": [],
        "ignored": "no file changed in this delta page (it is empty or holds folders only)",
    }
    assert ingest_last_sequence(hub) == before
    cursor = load_cursor(hub.hub.app, "sharepoint", "kestrel-shapes")
    assert cursor == vendor.GRAPH_LATEST_DELTA_LINK


@pytest.mark.parametrize(
    ("system", "body", "field"),
    [
        # An array of the right kind, holding something that is not one of its items.
        ("salesforce", [vendor.SALESFORCE_OPPORTUNITY_CREATE, []], "1"),
        ("quickbooks", [*vendor.QUICKBOOKS_CLOUDEVENTS, {"type": "qbo.invoice.updated.v1"}], "1"),
        ("odoo", {"jsonrpc": "2.0", "id": 3, "result": [7, 8]}, "result.0"),
        ("odoo", {"jsonrpc": "2.0", "id": 3, "result": {"id": 7}}, "result"),
        ("netsuite", {"items": ["5310"], "count": 1, "hasMore": False}, "items.0"),
        ("netsuite", {"items": {"id": "5310"}}, "items"),
        # Envelopes that name the source's keys but hold nothing the source ever sends.
        ("xero", {"events": [{}]}, "events.0.eventCategory"),
        ("quickbooks", {"eventNotifications": []}, "eventNotifications"),
        (
            "quickbooks",
            {"eventNotifications": [{"realmId": "4620816365203874", "dataChangeEvent": {}}]},
            "eventNotifications.0.dataChangeEvent.entities",
        ),
        ("sharepoint", {"value": []}, "@odata.deltaLink"),
        ("sharepoint", {"value": [{"subscriptionId": "7f105c7d"}]}, "value.0.changeType"),
        ("sharepoint", {"value": "01HBLXK7Q2VZ"}, "value"),
        ("harvest", {"time_entries": {"id": 2711904417}}, "body"),
        ("harvest", {"hours": 2.0, "spent_date": "2025-03-05", "first_name": "Priya"}, "event"),
        ("harvest", {"id": 1, "amount": 180.0, "start_date": "2025-01-01"}, "body"),
        ("confluence", {"page": "3301769217"}, "body"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_source_envelope_with_contents_of_another_shape_is_refused_naming_the_field(
    hub: Running, writers: dict[str, dict[str, str]], system: str, body: Any, field: str
) -> None:
    before = ingest_last_sequence(hub)

    response = post(
        hub,
        writers,
        system,
        json.dumps(body).encode(),
        **({"event": EVENT[system]} if system in EVENT else {}),
    )

    problem = refused(response, 422, "SCHEMA_VIOLATION")
    assert problem["errors"][0]["field"] == field, problem
    assert ingest_last_sequence(hub) == before
