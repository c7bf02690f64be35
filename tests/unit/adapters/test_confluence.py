"""Confluence adapter: page webhooks to knowledge asset changes."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.confluence import ADAPTER
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    FetchRequest,
    SourceAdapter,
    message_id,
)
from hub.contracts.changes import ChangeEnvelope

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "confluence"
PAGE_ID = "2785247233"
PAGE_URL = (
    "https://northwind-advisory.atlassian.net/wiki/spaces/CONTOSO/pages/2785247233/"
    "Contoso+Pharma+-+Market+entry+proposal"
)
SECRET = "dc-webhook-secret-4b7e"
CONFIG = AdapterConfig(tenant="northwind-advisory.atlassian.net")


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def map_one(
    name: str | dict[str, Any], event: str, config: AdapterConfig = CONFIG
) -> ChangeEnvelope:
    payload = load(name) if isinstance(name, str) else name
    mapped = ADAPTER.map_payload(body(payload), config=config, event=event)
    assert len(mapped.events) == 1, mapped
    return mapped.events[0]


def refusal(payload: dict[str, Any] | bytes, event: str | None = "page_updated") -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=CONFIG, event=event)
    return caught.value


def sign(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    }


def test_adapter_satisfies_the_source_adapter_protocol() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "confluence"


def test_created_page_is_a_published_knowledge_asset_page() -> None:
    event = map_one("page_created.json", "page_created")
    assert event.type == "pshub.knowledge_asset.changed.v1"
    assert (event.sourcetype, event.subject) == ("page", PAGE_ID)
    assert event.tenant == "northwind-advisory.atlassian.net"
    assert event.time.isoformat() == "2025-04-23T09:00:00.412000+00:00"
    assert {k: event.data[k] for k in ("id", "title", "kind", "uri", "status")} == {
        "id": PAGE_ID,
        "title": "Contoso Pharma - Market entry proposal",
        "kind": "page",
        "uri": PAGE_URL,
        "status": "published",
    }


@pytest.mark.parametrize(
    ("fixture", "event", "status"),
    [
        ("page_updated.json", "page_updated", "published"),
        ("page_restored.json", "page_restored", "published"),
        ("page_trashed.json", "page_trashed", "archived"),
    ],
)
def test_page_events_set_the_asset_status(fixture: str, event: str, status: str) -> None:
    assert map_one(fixture, event).data["status"] == status


def test_removed_page_becomes_a_deletion_event() -> None:
    event = map_one("page_removed.json", "page_removed")
    assert event.type == "pshub.knowledge_asset.deleted.v1"
    assert event.data == {"id": PAGE_ID}


def test_event_name_is_required() -> None:
    error = refusal(load("page_updated.json"), event=None)
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "event")


def test_event_name_in_the_body_is_used_when_the_route_gives_none() -> None:
    payload = load("page_trashed.json")
    payload["webhookEvent"] = "page_trashed"
    mapped = ADAPTER.map_payload(body(payload), config=CONFIG)
    assert mapped.events[0].data["status"] == "archived"


def test_events_about_other_content_are_ignored() -> None:
    mapped = ADAPTER.map_payload(
        body(load("page_updated.json")), config=CONFIG, event="blog_created"
    )
    assert mapped.events == []
    assert mapped.ignored


def test_data_center_body_with_a_numeric_id_maps_the_same_way() -> None:
    event = map_one("datacenter_page_updated.json", "page_updated")
    assert event.subject == "98304017"
    assert event.data["title"] == "Engagement kick-off checklist"
    assert event.sequence.startswith("0000000007|")


def test_space_mapped_to_a_client_gives_the_asset_its_client() -> None:
    config = AdapterConfig(
        extra={
            "space_clients": json.dumps({"CONTOSO": "salesforce:Account:001Hs00002XyZ12AAB"}),
            "space_engagements": json.dumps(
                {"contoso": {"system": "hub", "type": "engagement_code", "id": "ENG-7"}}
            ),
            "space_classifications": json.dumps({"CONTOSO": "confidential"}),
        }
    )
    data = map_one("page_updated.json", "page_updated", config).data
    assert data["client"] == {"type": "Account", "id": "001Hs00002XyZ12AAB", "system": "salesforce"}
    assert data["engagement"] == {"type": "engagement_code", "id": "ENG-7", "system": "hub"}
    assert data["classification"] == "confidential"


def test_unmapped_space_leaves_the_client_unreported() -> None:
    config = AdapterConfig(extra={"space_clients": json.dumps({"OTHER": "salesforce:Account:1"})})
    assert "client" not in map_one("page_updated.json", "page_updated", config).data


def test_malformed_space_mapping_is_a_schema_violation_naming_the_setting() -> None:
    config = AdapterConfig(extra={"space_clients": json.dumps({"CONTOSO": "Account-001"})})
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(load("page_updated.json")), config=config, event="page_updated")
    assert (caught.value.reason, caught.value.field) == (
        "SCHEMA_VIOLATION",
        "space_clients.CONTOSO",
    )
    config = AdapterConfig(extra={"space_clients": "CONTOSO=salesforce:Account:1"})
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(load("page_updated.json")), config=config, event="page_updated")
    assert (caught.value.reason, caught.value.field) == ("SCHEMA_VIOLATION", "space_clients")


def test_unknown_classification_for_a_space_is_a_schema_violation() -> None:
    config = AdapterConfig(extra={"space_classifications": json.dumps({"CONTOSO": "secret"})})
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(load("page_updated.json")), config=config, event="page_updated")
    assert caught.value.reason == "SCHEMA_VIOLATION"


def test_newer_version_orders_after_the_older_one() -> None:
    created = map_one("page_created.json", "page_created")
    updated = map_one("page_updated.json", "page_updated")
    assert created.sequence < updated.sequence


def test_trash_restore_and_purge_of_one_version_order_by_their_time() -> None:
    updated = map_one("page_updated.json", "page_updated")
    trashed = map_one("page_trashed.json", "page_trashed")
    restored = map_one("page_restored.json", "page_restored")
    removed = map_one("page_removed.json", "page_removed")
    assert updated.sequence < trashed.sequence < restored.sequence < removed.sequence


def test_an_older_version_delivered_late_orders_before_a_newer_one() -> None:
    late = load("page_updated.json")
    late["page"]["version"] = 3
    late["timestamp"] = 1745999999999
    assert (
        map_one(late, "page_updated").sequence
        < map_one("page_updated.json", "page_updated").sequence
    )


def test_message_id_comes_from_page_version_and_event() -> None:
    first = map_one("page_updated.json", "page_updated")
    assert first.id == map_one("page_updated.json", "page_updated").id
    assert first.id == message_id("confluence", PAGE_ID, 4, "page_updated")
    assert first.id != map_one("page_trashed.json", "page_trashed").id


def test_page_without_an_id_is_missing_required_id() -> None:
    payload = load("page_updated.json")
    del payload["page"]["id"], payload["page"]["idAsString"]
    error = refusal(payload)
    assert (error.reason, error.field) == ("MISSING_REQUIRED_ID", "page.id")


def test_body_without_a_page_is_a_schema_violation() -> None:
    error = refusal({"userAccountId": "557058:x", "timestamp": 1745485260981})
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "page")


def test_page_without_a_version_is_a_schema_violation() -> None:
    payload = load("page_updated.json")
    del payload["page"]["version"]
    assert refusal(payload).field == "page.version"


def test_unparseable_body_is_a_malformed_payload_with_status_400() -> None:
    error = refusal(b"page_updated")
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_valid_data_center_signature_is_accepted() -> None:
    raw = body(load("datacenter_page_updated.json"))
    config = AdapterConfig(signing_secret=SECRET)
    assert ADAPTER.verify_signature(raw, sign(raw), config)
    assert ADAPTER.map_payload(raw, config=config, headers=sign(raw), event="page_updated").events


def test_invalid_signature_is_refused() -> None:
    raw = body(load("datacenter_page_updated.json"))
    config = AdapterConfig(signing_secret=SECRET)
    assert not ADAPTER.verify_signature(raw, sign(raw, "another-secret"), config)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config, headers=sign(raw, "x"), event="page_updated")
    assert (caught.value.reason, caught.value.status) == ("FORBIDDEN", 401)


def test_absent_signature_is_refused_when_a_secret_is_configured() -> None:
    raw = body(load("datacenter_page_updated.json"))
    assert not ADAPTER.verify_signature(raw, {}, AdapterConfig(signing_secret=SECRET))
    assert ADAPTER.verify_signature(raw, {}, AdapterConfig())


def test_there_is_nothing_to_fetch() -> None:
    with httpx.Client() as client, pytest.raises(AdapterError):
        ADAPTER.fetch(
            FetchRequest(kind="page", id=PAGE_ID, tenant=""), client=client, config=CONFIG
        )


def test_out_of_range_numbers_are_refused_as_schema_violations() -> None:
    payload = load("page_updated.json")
    payload["page"]["version"] = 10**12
    assert refusal(payload).reason == "SCHEMA_VIOLATION"
    payload = load("page_updated.json")
    payload["timestamp"] = 10**20
    assert refusal(payload).reason == "SCHEMA_VIOLATION"
