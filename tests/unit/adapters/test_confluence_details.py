"""Confluence: a page's space, people, times and version from the webhook body (Cloud and
Data Center differ), and what only REST v2 gives (parent page, owner, version note); bodies
written from DOMAIN.md 2.12 (epoch milliseconds, account ids opaque)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.confluence import ADAPTER
from hub.contracts.adapters import AdapterConfig, AdapterError

SITE = "lumen-consulting.atlassian.net"
CONFIG = AdapterConfig(tenant=SITE, base_url="https://lumen-consulting.atlassian.net")
ACCOUNT = "712020:0b3e6d1c-77aa-4f0e-9d31-5c2e1f0a9b88"


def cloud_body(**page: Any) -> bytes:
    body = {
        "timestamp": 1773153000123,
        "updateTrigger": "edit_page",
        "userAccountId": ACCOUNT,
        "page": {
            "version": 12,
            "title": "Lessons learned - ERP rollout",
            "id": "491520013",
            "spaceKey": "PMO",
            "spaceId": 65538,
            "creationDate": 1772000000000,
            "modificationDate": 1773153000000,
            "creatorAccountId": "557058:aa11bb22-cc33-4d44-8e55-ff6677889900",
            "lastModifierAccountId": ACCOUNT,
            "self": "https://lumen-consulting.atlassian.net/wiki/spaces/PMO/pages/491520013",
            **page,
        },
    }
    return json.dumps(body).encode()


def data(payload: bytes, event: str | None = "page_updated") -> dict[str, Any]:
    [change] = ADAPTER.map_payload(payload, config=CONFIG, event=event).events
    return change.data


def test_a_cloud_page_keeps_its_space_people_times_and_version() -> None:
    page = data(cloud_body())
    assert (page["space_key"], page["space_id"]) == ("PMO", "65538")
    assert page["author"] == {"type": "user", "id": "557058:aa11bb22-cc33-4d44-8e55-ff6677889900"}
    assert page["modified_by"] == {"type": "user", "id": ACCOUNT}
    assert (page["created_at"], page["modified_at"]) == (
        "2026-02-25T06:13:20Z",
        "2026-03-10T14:30:00Z",
    )
    assert (page["revision"], page["source_status"]) == (12, "current")


def test_a_trashed_page_says_so_beside_the_archived_status() -> None:
    page = data(cloud_body(), "page_trashed")
    assert (page["status"], page["source_status"]) == ("archived", "trashed")


def test_a_data_center_body_names_people_by_key_and_user_name() -> None:
    body = {
        "page": {
            "id": 98304222,
            "title": "Rate card FY26",
            "spaceKey": "FIN",
            "version": 3,
            "creatorKey": "8a7f80828f6d2c4a018f6d2e1b3c0002",
            "creatorName": "mchan",
            "lastModifierKey": "8a7f80828f6d2c4a018f6d2e1b3c0002",
            "lastModifierName": "mchan",
            "modificationDate": 1773153000000,
            "self": "https://wiki.lumen.example/display/FIN/Rate+card+FY26",
        },
        "timestamp": 1773153000400,
    }
    page = data(json.dumps(body).encode())
    assert page["author"] == {
        "type": "user",
        "id": "8a7f80828f6d2c4a018f6d2e1b3c0002",
        "name": "mchan",
    }
    for absent in ("space_id", "created_at"):
        assert absent not in page  # the body lacks them: not reported, kept as they are


def rest_page(**changes: Any) -> dict[str, Any]:
    page: dict[str, Any] = {
        "id": "491520013",
        "status": "current",
        "title": "Lessons learned - ERP rollout",
        "spaceId": "65538",
        "parentId": "491520001",
        "parentType": "page",
        "authorId": "557058:aa11bb22-cc33-4d44-8e55-ff6677889900",
        "ownerId": ACCOUNT,
        "createdAt": "2026-02-25T06:13:20.000Z",
        "version": {
            "number": 13,
            "message": "Added the data-migration section",
            "minorEdit": False,
            "authorId": ACCOUNT,
            "createdAt": "2026-03-11T08:00:00.000Z",
        },
        "_links": {"webui": "/spaces/PMO/pages/491520013/Lessons+learned"},
    }
    page.update(changes)
    return page


def test_a_rest_page_gives_its_parent_owner_and_version_note() -> None:
    page = data(json.dumps(rest_page()).encode(), event=None)
    assert (page["parent_id"], page["parent_type"]) == ("491520001", "page")
    assert page["owner"] == {"type": "user", "id": ACCOUNT}
    assert page["modified_by"] == {"type": "user", "id": ACCOUNT}
    assert (page["revision"], page["version_message"]) == (13, "Added the data-migration section")
    assert page["modified_at"] == "2026-03-11T08:00:00Z"
    # The web URL from the page's own link and the configured site.
    assert page["uri"] == (
        "https://lumen-consulting.atlassian.net/wiki/spaces/PMO/pages/491520013/Lessons+learned"
    )
    assert page["status"] == "published"


def test_a_rest_page_orders_by_its_version_like_the_webhook() -> None:
    [rest] = ADAPTER.map_payload(json.dumps(rest_page()).encode(), config=CONFIG).events
    [hook] = ADAPTER.map_payload(cloud_body(), config=CONFIG, event="page_updated").events
    assert (hook.sequence or "") < (rest.sequence or "")  # version 12 before 13


def test_rest_page_statuses() -> None:
    trashed = data(json.dumps(rest_page(status="trashed")).encode(), event=None)
    assert (trashed["status"], trashed["source_status"]) == ("archived", "trashed")
    [deleted] = ADAPTER.map_payload(
        json.dumps(rest_page(status="deleted")).encode(), config=CONFIG
    ).events
    assert deleted.type == "pshub.knowledge_asset.deleted.v1"
    historical = ADAPTER.map_payload(
        json.dumps(rest_page(status="historical")).encode(), config=CONFIG
    )
    assert historical.events == [] and historical.ignored
    with pytest.raises(AdapterError) as refused:
        ADAPTER.map_payload(json.dumps(rest_page(status="weird")).encode(), config=CONFIG)
    assert refused.value.reason == "SCHEMA_VIOLATION"
