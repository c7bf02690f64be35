"""Stewardship over HTTP: unresolved links listed with counts per system, map-xref resolving
every record linked to a source record, and the xref route's 410 for a record deleted before
the hub saw it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from hub.bootstrap import Hub
from tests.integration.conftest import Tokens
from tests.support.changes import incoming, ref

PROBLEM = "application/problem+json"


def _tenant() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def _invoice(tenant: str, source: str, contact: str) -> Any:
    return incoming(
        "xero",
        "invoice",
        {
            "id": source,
            "kind": "invoice",
            "client": ref("Contact", contact),
            "number": source,
            "currency": "AUD",
            "status": "draft",
            "lines": [{"description": "Workshop", "quantity": "1", "unit_price": "900.00"}],
        },
        source_type="Invoice",
        tenant=tenant,
    )


def _client(api: TestClient, tokens: Tokens) -> str:
    resp = api.post(
        "/v1/commands/register-client",
        json={
            "legal_name": f"Wallaby {uuid.uuid4().hex[:6]} Pty Ltd",
            "country": "AU",
            "billing_currency": "AUD",
        },
        headers=tokens.headers("write:hub"),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_unresolved_links_are_listed_with_counts_and_a_steward_maps_them(
    api: TestClient, hub: Hub, tokens: Tokens
) -> None:
    tenant = _tenant()
    engine = hub.ingest_engine()
    engine.process([_invoice(tenant, "A-1", "C-7"), _invoice(tenant, "A-2", "C-7")])
    listed = api.get("/v1/unresolved-links?system=xero", headers=tokens.headers("read"))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    [mine] = [i for i in body["items"] if i["tenant"] == tenant]
    assert (mine["type"], mine["id"], mine["entity"], mine["waiting"]) == (
        "Contact",
        "C-7",
        "client",
        2,
    )
    assert {h["field"] for h in mine["holders"]} == {"client_id"}
    assert body["counts"]["by_system"]["xero"] >= 1
    assert body["counts"]["total"] >= body["counts"]["by_system"]["xero"]

    client_id = _client(api, tokens)
    mapping = {
        "system": "xero",
        "tenant": tenant,
        "type": "Contact",
        "id": "C-7",
        "canonical_id": client_id,
    }
    refused = api.post("/v1/commands/map-xref", json=mapping, headers=tokens.headers("read"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    done = api.post("/v1/commands/map-xref", json=mapping, headers=tokens.headers("operate"))
    assert done.status_code == 200, done.text
    assert len(done.json()["resolved"]) == 2
    assert done.json()["record"]["id"] == client_id
    for holder in mine["holders"]:
        invoice = api.get(
            f"/v1/invoices/{holder['id']}?min_position={done.json()['position']}",
            headers=tokens.headers("read"),
        )
        assert invoice.json()["client_id"] == client_id
        assert invoice.json()["pending_links"] == []
    listed = api.get("/v1/unresolved-links?system=xero", headers=tokens.headers("read"))
    assert [i for i in listed.json()["items"] if i["tenant"] == tenant] == []
    # The same mapping again changes nothing; to another record it is a conflict.
    again = api.post("/v1/commands/map-xref", json=mapping, headers=tokens.headers("operate"))
    assert (again.status_code, again.json()["position"]) == (200, None)
    other = api.post(
        "/v1/commands/map-xref",
        json={**mapping, "canonical_id": _client(api, tokens)},
        headers=tokens.headers("operate"),
    )
    assert other.status_code == 409
    assert other.json()["reason"] == "DUPLICATE"


def test_map_xref_refusals_name_the_field(api: TestClient, tokens: Tokens) -> None:
    headers = tokens.headers("operate")
    unknown = api.post(
        "/v1/commands/map-xref",
        json={"system": "xero", "type": "Contact", "id": "Z", "canonical_id": str(uuid.uuid4())},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["reason"] == "UNKNOWN_AGGREGATE"
    assert unknown.json()["errors"][0]["field"] == "canonical_id"
    for body in (
        {"system": "Xero!", "type": "Contact", "id": "Z", "canonical_id": str(uuid.uuid4())},
        {"system": "xero", "type": "Contact", "id": "", "canonical_id": str(uuid.uuid4())},
        {"system": "xero", "type": "Contact", "id": "Z", "canonical_id": "not-a-uuid"},
        {
            "system": "xero",
            "type": "Contact",
            "id": "Z",
            "canonical_id": str(uuid.uuid4()),
            "extra": 1,
        },
        [],
    ):
        resp = api.post("/v1/commands/map-xref", json=body, headers=headers)
        assert resp.status_code in (400, 422), (body, resp.text)
        assert resp.headers["content-type"].startswith(PROBLEM)


def test_a_bad_unresolved_links_cursor_is_a_400(api: TestClient, tokens: Tokens) -> None:
    resp = api.get("/v1/unresolved-links?cursor=%%%", headers=tokens.headers("read"))
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "cursor"


def test_the_xref_of_a_record_deleted_before_it_was_seen_answers_410(
    api: TestClient, hub: Hub, tokens: Tokens
) -> None:
    tenant = _tenant()
    hub.ingest_engine().process(
        [
            incoming(
                "salesforce",
                "client",
                {"id": "001X"},
                source_type="Account",
                tenant=tenant,
                deleted=True,
            )
        ]
    )
    resp = api.get(
        f"/v1/xref/salesforce/account/001X?tenant={tenant}", headers=tokens.headers("read")
    )
    assert resp.status_code == 410
    body = resp.json()
    assert body["entity"] == "client"
    assert body["xref"] == {
        "system": "salesforce",
        "tenant": tenant,
        "type": "Account",
        "id": "001X",
    }
