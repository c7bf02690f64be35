"""Confluence end to end: page webhooks in (the event named by `?event=`, as Connect registers
one URL per event), knowledge asset golden records and their xrefs out of ingest."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from tests.e2e.adapter_support import (
    accepted,
    applied,
    fixture,
    known_engagement,
    problem,
    raw,
    record,
    stream_messages,
)
from tests.support.running import Running

SITE = "northwind-advisory"
PAGE = "2785247233"
URI = (
    "https://northwind-advisory.atlassian.net/wiki/spaces/CONTOSO/pages/2785247233/"
    "Contoso+Pharma+-+Market+entry+proposal"
)
TITLE = "Contoso Pharma - Market entry proposal"


@pytest.fixture
def space(running: Running, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The CONTOSO space belongs to a client and an engagement the hub knows."""
    client_id, engagement_id = known_engagement(
        running, code="ENG-2025-0147", currency="USD", client="HC-147"
    )
    client_ref = {"system": "harvest", "tenant": "t1", "type": "Client", "id": "HC-147"}
    monkeypatch.setenv("PSHUB_ADAPTER_CONFLUENCE_TENANT", SITE)
    monkeypatch.setenv(
        "PSHUB_ADAPTER_CONFLUENCE_SPACE_CLIENTS", json.dumps({"CONTOSO": client_ref})
    )
    monkeypatch.setenv(
        "PSHUB_ADAPTER_CONFLUENCE_SPACE_ENGAGEMENTS",
        json.dumps({"CONTOSO": "hub:engagement_code:ENG-2025-0147"}),
    )
    monkeypatch.setenv(
        "PSHUB_ADAPTER_CONFLUENCE_SPACE_CLASSIFICATIONS", json.dumps({"CONTOSO": "confidential"})
    )
    return client_id, engagement_id


def deliver(running: Running, event: str, payload: dict[str, Any]) -> list[str]:
    return accepted(running.webhook("confluence", raw(payload), params={"event": event}))


def edited(title: str) -> dict[str, Any]:
    """The captured page_updated body, for an edit that also renamed the page."""
    payload = fixture("confluence", "page_updated.json")
    payload["page"]["title"] = title
    return payload


def test_a_created_then_updated_page_is_a_published_knowledge_asset_with_its_uri_and_title(
    running: Running, space: tuple[str, str]
) -> None:
    client_id, engagement_id = space

    [created] = deliver(running, "page_created", fixture("confluence", "page_created.json"))
    [asset_id] = applied(running, [created])
    asset = record(running, "confluence", "page", PAGE)
    assert asset["id"] == asset_id
    assert asset["xrefs"] == [{"system": "confluence", "tenant": SITE, "type": "page", "id": PAGE}]
    assert (asset["title"], asset["uri"], asset["kind"]) == (TITLE, URI, "page")
    assert (asset["status"], asset["classification"]) == ("published", "confidential")
    # The space's settings name the client and, by its code, the engagement.
    assert (asset["client_id"], asset["engagement_id"]) == (client_id, engagement_id)

    [updated] = deliver(running, "page_updated", edited(f"{TITLE} (final)"))
    assert applied(running, [updated]) == [asset_id]
    revised = record(running, "confluence", "page", PAGE)
    assert revised["title"] == f"{TITLE} (final)"
    assert (revised["uri"], revised["status"]) == (URI, "published")
    assert revised["version"] > asset["version"]
    # Version 4's change is ordered by the page version, not by arrival.
    assert running.outcome(updated)["sequence"].startswith("0000000004|")


def test_a_trashed_page_is_archived_and_a_restored_one_is_published_again(
    running: Running, space: tuple[str, str]
) -> None:
    [created] = deliver(running, "page_created", fixture("confluence", "page_created.json"))
    [updated] = deliver(running, "page_updated", fixture("confluence", "page_updated.json"))
    [asset_id] = set(applied(running, [created, updated]))

    [trashed] = deliver(running, "page_trashed", fixture("confluence", "page_trashed.json"))
    assert applied(running, [trashed]) == [asset_id]
    assert record(running, "confluence", "page", PAGE)["status"] == "archived"

    [restored] = deliver(running, "page_restored", fixture("confluence", "page_restored.json"))
    assert applied(running, [restored]) == [asset_id]
    asset = record(running, "confluence", "page", PAGE)
    assert (asset["status"], asset["title"], asset["uri"]) == ("published", TITLE, URI)


def test_a_removed_page_is_a_tombstone_answering_410(
    running: Running, space: tuple[str, str]
) -> None:
    [created] = deliver(running, "page_created", fixture("confluence", "page_created.json"))
    [trashed] = deliver(running, "page_trashed", fixture("confluence", "page_trashed.json"))
    [asset_id] = set(applied(running, [created, trashed]))

    [removed] = deliver(running, "page_removed", fixture("confluence", "page_removed.json"))

    assert applied(running, [removed]) == [asset_id]
    gone = running.xref("confluence", "page", PAGE)
    problem(gone, 410, "UNKNOWN_AGGREGATE")
    assert gone.json()["record"]["deleted"] is True
    assert gone.json()["record"]["title"] == TITLE
    by_id = running.api.get(f"/v1/knowledge-assets/{asset_id}", headers=running.auth)
    assert by_id.status_code == 410, by_id.text


def test_a_data_center_page_signed_with_x_hub_signature_is_published(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "dc-webhook-secret-0c4d"
    monkeypatch.setenv("PSHUB_ADAPTER_CONFLUENCE_SIGNING_SECRET", secret)
    body = raw(fixture("confluence", "datacenter_page_updated.json"))
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    before = stream_messages(running)

    forged = {"X-Hub-Signature": "sha256=" + "0" * 64}
    problem(
        running.webhook("confluence", body, params={"event": "page_updated"}, headers=forged),
        401,
        "FORBIDDEN",
    )
    assert stream_messages(running) == before
    response = running.webhook(
        "confluence",
        body,
        params={"event": "page_updated", "tenant": "dc-prod"},
        headers={"X-Hub-Signature": f"sha256={digest}"},
    )

    [asset_id] = applied(running, accepted(response))
    asset = record(running, "confluence", "page", "98304017")
    assert asset["id"] == asset_id
    assert asset["xrefs"] == [
        {"system": "confluence", "tenant": "dc-prod", "type": "page", "id": "98304017"}
    ]
    assert (asset["title"], asset["status"]) == ("Engagement kick-off checklist", "published")
    assert asset["uri"] == (
        "https://confluence.northwind-advisory.example/display/PMO/Engagement+kick-off+checklist"
    )
    assert asset["classification"] == "internal"


def test_a_body_that_is_not_json_is_refused_as_malformed_and_nothing_is_published(
    running: Running,
) -> None:
    before = stream_messages(running)

    response = running.webhook(
        "confluence", b'{"page": {"idAsString": "2785247233",', params={"event": "page_updated"}
    )

    problem(response, 400, "MALFORMED_PAYLOAD")
    assert stream_messages(running) == before
