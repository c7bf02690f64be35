"""Every /v1 route needs a token: 401 without, 403 with the wrong scope; probes are open."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from hub.auth import TokenStore
from hub.bootstrap import Hub
from tests.integration.conftest import Tokens


def _v1_routes(api: TestClient) -> list[tuple[str, str]]:
    routes = []
    for path, item in api.app.openapi()["paths"].items():
        if path.startswith("/v1"):
            routes.extend((method.upper(), path) for method in item)
    return routes


_EXAMPLES = {
    "{id}": str(uuid.uuid4()),
    "{system}": "harvest",
    "{type}": "Client",
    "{source_id}": "1",
    "{message_id}": "m1",
    "{entity}": "client",
}


def _concrete(template: str) -> str:
    for name, value in _EXAMPLES.items():
        template = template.replace(name, value)
    return template


def test_every_v1_route_answers_401_without_a_token(api: TestClient) -> None:
    routes = _v1_routes(api)
    assert routes
    for method, template in routes:
        path = _concrete(template)
        resp = api.request(method, path, json={})
        assert resp.status_code == 401, (method, path)
        assert resp.json()["reason"] == "FORBIDDEN"
        assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_an_unknown_token_answers_401(api: TestClient) -> None:
    resp = api.get(f"/v1/clients/{uuid.uuid4()}", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401


def test_a_read_token_may_not_issue_commands(api: TestClient, tokens: Tokens) -> None:
    resp = api.post("/v1/commands/register-client", json={}, headers=tokens.headers("read"))
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_a_write_token_may_not_read(api: TestClient, tokens: Tokens) -> None:
    resp = api.get(f"/v1/clients/{uuid.uuid4()}", headers=tokens.headers("write:hub"))
    assert resp.status_code == 403


def test_a_revoked_token_stops_working(hub: Hub, api: TestClient) -> None:
    store = TokenStore(hub.database_url)
    name = f"revoke-me-{uuid.uuid4().hex[:6]}"
    token = store.create(name, ["read"])
    # A fresh token is not cached yet, so its revocation takes effect at once.
    store.revoke(name)
    resp = api.get(f"/v1/clients/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_tokens_are_stored_only_as_hashes(hub: Hub) -> None:
    import psycopg

    store = TokenStore(hub.database_url)
    token = store.create(f"hashed-{uuid.uuid4().hex[:6]}", ["read"])
    with psycopg.connect(hub.database_url) as conn:
        stored = [row[0] for row in conn.execute("SELECT token_hash FROM hub_tokens")]
    assert token not in stored
    assert all(len(h) == 64 for h in stored)


@pytest.mark.parametrize("path", ["/health", "/ready", "/openapi.json"])
def test_probes_and_the_openapi_document_are_open(api: TestClient, path: str) -> None:
    resp = api.get(path)
    assert resp.status_code == 200, resp.text


def test_ready_reports_store_and_nats(api: TestClient) -> None:
    assert api.get("/ready").json() == {"status": "ready", "checks": {"store": "ok", "nats": "ok"}}
