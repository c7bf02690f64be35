"""Synchronous commands over HTTP: the records they create, and every refusal as problem+json
with its reason code and nothing recorded."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.bootstrap import Hub
from tests.integration.conftest import Tokens

PROBLEM = "application/problem+json"


def _client_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": f"Northwind {uuid.uuid4().hex[:8]} GmbH",
        "country": "DE",
        "billing_currency": "EUR",
        "tax_id": "DE811907980",
        "contacts": [{"name": "Erika Mustermann", "email": "erika@example.com"}],
    }
    body.update(overrides)
    return body


def _register(api: TestClient, tokens: Tokens, **overrides: Any) -> dict[str, Any]:
    resp = api.post(
        "/v1/commands/register-client",
        json=_client_body(**overrides),
        headers=tokens.headers("write:hub", "read:pii"),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _engagement_body(client_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": client_id,
        "code": f"ENG-{uuid.uuid4().hex[:8]}",
        "name": "Finance transformation",
        "currency": "EUR",
        "service_line": "advisory",
        "region": "EMEA",
        "legal_entity": "pshub-de",
        "start_date": "2026-01-05",
        "end_date": "2026-06-30",
        "budget": {"amount": "250000.00", "currency": "EUR"},
    }
    body.update(overrides)
    return body


def head(hub: Hub) -> int:
    return hub.app.hub_recorder.select_head()[0]


def test_registers_a_client_and_reads_it_back(api: TestClient, tokens: Tokens) -> None:
    created = _register(api, tokens)
    assert created["position"] > 0
    assert created["status"] == "active"
    assert created["contacts"][0]["email"] == "erika@example.com"
    read = api.get(f"/v1/clients/{created['id']}", headers=tokens.headers("read", "read:pii"))
    assert read.status_code == 200
    assert read.json()["legal_name"] == created["legal_name"]
    assert read.headers["ETag"] == '"1"'


def test_a_read_without_read_pii_leaves_contacts_out(api: TestClient, tokens: Tokens) -> None:
    created = _register(api, tokens)
    read = api.get(f"/v1/clients/{created['id']}", headers=tokens.headers("read"))
    assert read.status_code == 200
    assert "contacts" not in read.json()


def test_if_none_match_with_the_current_etag_answers_304(api: TestClient, tokens: Tokens) -> None:
    created = _register(api, tokens)
    resp = api.get(
        f"/v1/clients/{created['id']}", headers={**tokens.headers("read"), "If-None-Match": '"1"'}
    )
    assert resp.status_code == 304


def test_creates_an_engagement_for_an_active_client(api: TestClient, tokens: Tokens) -> None:
    client = _register(api, tokens)
    resp = api.post(
        "/v1/commands/create-engagement",
        json=_engagement_body(client["id"]),
        headers=tokens.headers("write:hub"),
    )
    assert resp.status_code == 201, resp.text
    engagement = resp.json()
    assert engagement["status"] == "pipeline"
    assert engagement["budget"] == {"amount": "250000.00", "currency": "EUR"}
    assert engagement["position"] > client["position"]
    read = api.get(f"/v1/engagements/{engagement['id']}", headers=tokens.headers("read"))
    assert read.json()["client_id"] == client["id"]


def _expect_refusal(
    hub: Hub,
    api: TestClient,
    tokens: Tokens,
    path: str,
    status: int,
    reason: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    before = head(hub)
    headers = {**tokens.headers("write:hub")}
    if content is not None:
        headers["Content-Type"] = "application/json"
    resp = api.post(path, json=json, content=content, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    problem = resp.json()
    assert problem["reason"] == reason
    assert problem["type"] == f"urn:pshub:problem:{reason}"
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem
    assert head(hub) == before, "a refused command must record nothing"
    return problem


def test_refuses_malformed_json_with_400(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        400,
        "MALFORMED_PAYLOAD",
        content=b'{"legal_name": "Broken",',
    )


def test_refuses_wrong_types(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        422,
        "SCHEMA_VIOLATION",
        json=_client_body(legal_name=12345, contacts="nobody"),
        field="legal_name",
    )


def test_refuses_a_body_that_is_not_an_object(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        422,
        "SCHEMA_VIOLATION",
        json=["not", "an", "object"],
    )


def test_refuses_unknown_fields(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    problem = _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        422,
        "SCHEMA_VIOLATION",
        json=_client_body(favourite_colour="blue"),
        field="favourite_colour",
    )
    assert problem["errors"][0]["rule"] == "unknown_field"


@pytest.mark.parametrize("code", ["XYZ", "usd", "US$", "GBR", "XAU"])
def test_refuses_an_unknown_currency_code(
    hub: Hub, api: TestClient, tokens: Tokens, code: str
) -> None:
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        422,
        "INVALID_CURRENCY",
        json=_client_body(billing_currency=code),
        field="billing_currency",
    )


def test_refuses_an_engagement_for_an_unknown_client(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "UNKNOWN_AGGREGATE",
        json=_engagement_body(str(uuid.uuid4())),
        field="client_id",
    )


def test_refuses_a_negative_budget(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    client = _register(api, tokens)
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "NEGATIVE_QUANTITY",
        json=_engagement_body(client["id"], budget={"amount": "-1.00", "currency": "EUR"}),
        field="budget",
    )


def test_refuses_money_sent_as_a_json_number(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    client = _register(api, tokens)
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "SCHEMA_VIOLATION",
        json=_engagement_body(client["id"], budget={"amount": 100.1, "currency": "EUR"}),
        field="budget.amount",
    )


def test_refuses_more_fraction_digits_than_the_currency_has(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    client = _register(api, tokens)
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "SCHEMA_VIOLATION",
        json=_engagement_body(
            client["id"], currency="JPY", budget={"amount": "100.5", "currency": "JPY"}
        ),
        field="budget",
    )


def test_refuses_an_end_date_before_the_start_date(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    client = _register(api, tokens)
    problem = _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "RULE_VIOLATION",
        json=_engagement_body(client["id"], start_date="2026-03-01", end_date="2026-02-28"),
        field="end_date",
    )
    assert problem["rule"] == "date_order"


def test_refuses_an_engagement_for_a_closed_client(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    from uuid import UUID

    from domain.client import Client
    from hub.store.recorder import EventMeta

    created = _register(api, tokens)
    client = hub.app.get(UUID(created["id"]), Client)
    client.close()
    hub.app.record(client, meta=EventMeta(actor="test"))
    problem = _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "RULE_VIOLATION",
        json=_engagement_body(created["id"]),
        field="client_id",
    )
    assert problem["rule"] == "client_active"


def test_refuses_a_duplicate_registration_of_the_same_source_record(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    xref = {
        "system": "salesforce",
        "tenant": "00D5e000000XXXX",
        "type": "Account",
        "id": f"001{uuid.uuid4().hex[:15]}",
    }
    _register(api, tokens, xref=xref)
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        409,
        "DUPLICATE",
        json=_client_body(xref=xref),
    )


def test_refuses_a_second_engagement_with_the_same_code(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    client = _register(api, tokens)
    body = _engagement_body(client["id"])
    first = api.post(
        "/v1/commands/create-engagement", json=body, headers=tokens.headers("write:hub")
    )
    assert first.status_code == 201
    _expect_refusal(hub, api, tokens, "/v1/commands/create-engagement", 409, "DUPLICATE", json=body)


def test_refuses_a_missing_client_id_as_missing_required_id(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    body = _engagement_body(str(uuid.uuid4()))
    del body["client_id"]
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/create-engagement",
        422,
        "MISSING_REQUIRED_ID",
        json=body,
        field="client_id",
    )


def test_refuses_an_oversized_body_with_413(hub: Hub, api: TestClient, tokens: Tokens) -> None:
    huge = b'{"legal_name": "' + b"x" * (hub.settings.max_body_bytes + 10) + b'"}'
    _expect_refusal(
        hub, api, tokens, "/v1/commands/register-client", 413, "PAYLOAD_TOO_LARGE", content=huge
    )


def test_refuses_a_nul_character_in_a_body_with_400(
    hub: Hub, api: TestClient, tokens: Tokens
) -> None:
    _expect_refusal(
        hub,
        api,
        tokens,
        "/v1/commands/register-client",
        400,
        "MALFORMED_PAYLOAD",
        content=b'{"legal_name": "Nul\\u0000 Ltd", "country": "GB", "billing_currency": "GBP"}',
    )
