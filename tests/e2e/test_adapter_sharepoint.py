"""SharePoint end to end: Microsoft Graph driveItem delta pages posted to the webhook, and
change notifications on which the hub runs delta against a loopback Graph, become knowledge
asset golden records (files only, each item's last occurrence) and their xrefs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.intake import load_cursor
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
from tests.support.http_source import Request, Response, SourceServer, serve
from tests.support.running import Running

GRAPH = "https://graph.microsoft.com"
TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
CLIENT_STATE = "pshub-5e1f0c2d9a7b"
DRIVE = "b!8Xk2yq3Wz0-Lm5gQd2nT4hQ0v1pS9eR7uY6tK3jH2gF1dS0aP9oI8uY7tR6eW5qA"
DELTA_PATH = f"/v1.0/drives/{DRIVE}/root/delta"
PROPOSAL = "01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K"
CASE_STUDY = "01BYE5RZ2KXHVV4P5RDBH2S6LXMD7XJCQB"
GONE_FILE = "01BYE5RZ3TQ7LD5QEGLJEYJV2HV7KZ3B6M"
FOLDER = "01BYE5RZ4YQ3G2ZRDMGZBLLDKWZC7J3KQH"
SITE = "https://northwindadvisory.sharepoint.com/sites/Clients-Contoso/Shared%20Documents"
PROPOSAL_URI = f"{SITE}/Proposals/Contoso%20market%20entry%20proposal.docx"
CASE_STUDY_URI = f"{SITE}/Proposals/Case%20study%20-%20Fabrikam%20pricing.pptx"


@pytest.fixture
def drive(running: Running, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The Contoso document library belongs to a client and an engagement the hub knows."""
    client_id, engagement_id = known_engagement(
        running, code="ENG-2025-0147", currency="USD", client="HC-147"
    )
    client_ref = {"system": "harvest", "tenant": "t1", "type": "Client", "id": "HC-147"}
    settings = {
        "TENANT": TENANT,
        "SIGNING_SECRET": CLIENT_STATE,
        "TOKEN": "graph-access-token",
        "BACKOFF": "0",
        "DRIVE_CLIENTS": json.dumps({DRIVE: client_ref}),
        "DRIVE_ENGAGEMENTS": json.dumps({DRIVE: "hub:engagement_code:ENG-2025-0147"}),
        "DRIVE_CLASSIFICATIONS": json.dumps({DRIVE: "confidential"}),
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"PSHUB_ADAPTER_SHAREPOINT_{name}", value)
    return client_id, engagement_id


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceServer]:
    """A loopback Graph: the drive's delta in two pages, linked by nextLink, then a deltaLink
    (the captured pages, with their links on this server's origin)."""
    pages: dict[str, Any] = {}

    def delta(request: Request) -> Response:
        return Response(200, pages["2" if "token" in request.query else "1"])

    with serve({("GET", DELTA_PATH): delta}) as server:
        for number in ("1", "2"):
            text = json.dumps(fixture("sharepoint", f"delta_page_{number}.json"))
            pages[number] = json.loads(text.replace(f"{GRAPH}/v1.0/", f"{server.base_url}/v1.0/"))
        monkeypatch.setenv("PSHUB_ADAPTER_SHAREPOINT_BASE_URL", server.base_url)
        yield server


def delta_page(name: str) -> dict[str, Any]:
    return fixture("sharepoint", name)


def deleted(item_id: str) -> dict[str, Any]:
    """A delta page whose one item is a file deleted since (the captured deleted facet)."""
    page = delta_page("delta_page_2.json")
    [item] = [i for i in page["value"] if i["id"] == GONE_FILE]
    page["value"] = [{**item, "id": item_id}]
    return page


def outcomes_by_source(running: Running, message_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {o["source"]["id"]: o for o in running.settle(message_ids)}


def test_a_posted_delta_page_publishes_each_file_once_at_its_last_occurrence(
    running: Running, drive: tuple[str, str]
) -> None:
    client_id, engagement_id = drive
    page = delta_page("delta_repeated_item.json")

    messages = accepted(running.webhook("sharepoint", raw(page)))

    # The proposal appears twice (eTag 3, then 5) and the folder once: two files, one each.
    outcomes = outcomes_by_source(running, messages)
    assert sorted(outcomes) == sorted([PROPOSAL, CASE_STUDY])
    assert all(o["status"] == "applied" for o in outcomes.values())
    assert outcomes[PROPOSAL]["sequence"].startswith("2025-04-23T11:02:45")
    proposal = record(running, "sharepoint", "driveItem", PROPOSAL)
    assert proposal["id"] == outcomes[PROPOSAL]["canonical_ids"][0]
    assert proposal["xrefs"] == [
        {"system": "sharepoint", "tenant": TENANT, "type": "driveItem", "id": PROPOSAL}
    ]
    assert (proposal["title"], proposal["uri"]) == (
        "Contoso market entry proposal.docx",
        PROPOSAL_URI,
    )
    assert (proposal["kind"], proposal["status"], proposal["classification"]) == (
        "document",
        "published",
        "confidential",
    )
    assert (proposal["client_id"], proposal["engagement_id"]) == (client_id, engagement_id)
    case_study = record(running, "sharepoint", "driveItem", CASE_STUDY)
    assert (case_study["title"], case_study["uri"]) == (
        "Case study - Fabrikam pricing.pptx",
        CASE_STUDY_URI,
    )
    assert running.xref("sharepoint", "driveItem", FOLDER).status_code == 404
    # The page's deltaLink is where the next delta run starts.
    assert load_cursor(running.hub.app, "sharepoint", TENANT) == page["@odata.deltaLink"]


def test_a_deleted_facet_in_a_delta_page_tombstones_the_file(
    running: Running, drive: tuple[str, str]
) -> None:
    messages = accepted(running.webhook("sharepoint", raw(delta_page("delta_repeated_item.json"))))
    case_study_id = outcomes_by_source(running, messages)[CASE_STUDY]["canonical_ids"][0]

    [deletion] = accepted(running.webhook("sharepoint", raw(deleted(CASE_STUDY))))

    assert applied(running, [deletion]) == [case_study_id]
    gone = running.xref("sharepoint", "driveItem", CASE_STUDY)
    problem(gone, 410, "UNKNOWN_AGGREGATE")
    assert gone.json()["record"]["deleted"] is True
    assert gone.json()["record"]["uri"] == CASE_STUDY_URI
    assert record(running, "sharepoint", "driveItem", PROPOSAL)["deleted"] is False


def test_a_change_notification_runs_delta_against_graph_to_the_delta_link(
    running: Running, drive: tuple[str, str], graph: SourceServer
) -> None:
    client_id, _ = drive
    notification = raw(fixture("sharepoint", "notification.json"))

    messages = accepted(running.webhook("sharepoint", notification))

    # A fresh enumeration of the notified drive, then its nextLink, with the hub's token.
    assert [(r.path, sorted(r.query)) for r in graph.requests] == [
        (DELTA_PATH, []),
        (DELTA_PATH, ["token"]),
    ]
    assert {r.headers["Authorization"] for r in graph.requests} == {"Bearer graph-access-token"}
    outcomes = outcomes_by_source(running, messages)
    assert sorted(outcomes) == sorted([PROPOSAL, CASE_STUDY, GONE_FILE])
    # The proposal's last occurrence (page 2, eTag 5) is the one applied.
    assert outcomes[PROPOSAL]["status"] == "applied"
    assert outcomes[PROPOSAL]["sequence"].startswith("2025-04-23T11:02:45")
    assert outcomes[CASE_STUDY]["status"] == "applied"
    # A file deleted before the hub ever saw it is a tombstone of its xref, never a record.
    assert outcomes[GONE_FILE]["status"] == "applied"
    assert running.xref("sharepoint", "driveItem", GONE_FILE).status_code == 410
    proposal = record(running, "sharepoint", "driveItem", PROPOSAL)
    assert (proposal["title"], proposal["uri"], proposal["status"]) == (
        "Contoso market entry proposal.docx",
        PROPOSAL_URI,
        "published",
    )
    assert proposal["client_id"] == client_id
    assert proposal["xrefs"][0]["tenant"] == TENANT
    # The deltaLink of the last page is kept as the cursor for the next run.
    cursor = load_cursor(running.hub.app, "sharepoint", TENANT)
    assert cursor == f"{graph.base_url}{DELTA_PATH}?token=" + (
        "MzslMjM0OzE7MzsxOzQ7NjM4ODE0MTE2MTE1MjQwMDAwOzg2ODEzOTQyNzsxMDA7"
    )


def test_the_next_notification_resumes_from_the_saved_delta_link(
    running: Running, drive: tuple[str, str], graph: SourceServer
) -> None:
    notification = raw(fixture("sharepoint", "notification.json"))
    running.settle(accepted(running.webhook("sharepoint", notification)))
    cursor = load_cursor(running.hub.app, "sharepoint", TENANT)
    assert cursor is not None
    graph.requests.clear()

    running.settle(accepted(running.webhook("sharepoint", notification)))

    # No second listing of the whole drive: one request, from the kept deltaLink.
    assert [(r.path, sorted(r.query)) for r in graph.requests] == [(DELTA_PATH, ["token"])]
    assert graph.requests[0].query["token"] == [cursor.split("token=")[1]]


def test_the_command_line_also_resumes_from_the_saved_delta_link(
    running: Running, drive: tuple[str, str], graph: SourceServer, tmp_path: Path
) -> None:
    notification = raw(fixture("sharepoint", "notification.json"))
    running.settle(accepted(running.webhook("sharepoint", notification)))
    cursor = load_cursor(running.hub.app, "sharepoint", TENANT)
    assert cursor is not None
    graph.requests.clear()
    file = tmp_path / "notification.json"
    file.write_bytes(notification)
    env = {
        **os.environ,  # the drive fixture's PSHUB_ADAPTER_SHAREPOINT_* settings included
        "PSHUB_DATABASE_URL": running.hub.database_url,
        "PSHUB_NATS_URL": running.nats_url,
        "PSHUB_NATS_PREFIX": running.hub.settings.nats_prefix,
    }
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "adapter", "sharepoint", "publish", str(file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [(r.path, sorted(r.query)) for r in graph.requests] == [(DELTA_PATH, ["token"])]
    running.settle(done.stdout.split())


def test_a_notification_with_another_client_state_is_refused_and_runs_no_delta(
    running: Running, drive: tuple[str, str], graph: SourceServer
) -> None:
    notification = fixture("sharepoint", "notification.json")
    notification["value"][0]["clientState"] = "someone-else"
    before = stream_messages(running)

    problem(running.webhook("sharepoint", raw(notification)), 401, "FORBIDDEN")

    assert graph.requests == []
    assert stream_messages(running) == before


def test_the_validation_handshake_echoes_the_token_as_text_and_publishes_nothing(
    running: Running, drive: tuple[str, str], graph: SourceServer
) -> None:
    token = (
        "Validation: Testing client application reachability for subscription "
        "Request-Id: b7d5c1e2-3f4a-4b6c-8d9e-0a1b2c3d4e5f"
    )
    before = stream_messages(running)

    response = running.webhook(
        "sharepoint",
        b"",
        params={"validationToken": token},
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == token
    # A lifecycle notification that asks for no delta run publishes nothing either.
    lifecycle = running.webhook(
        "sharepoint", raw(fixture("sharepoint", "notification_lifecycle.json"))
    )
    assert lifecycle.status_code == 200, lifecycle.text
    assert lifecycle.json()["message_ids"] == []
    assert graph.requests == []
    assert stream_messages(running) == before


def test_a_body_that_is_not_json_is_refused_as_malformed_and_nothing_is_published(
    running: Running, drive: tuple[str, str], graph: SourceServer
) -> None:
    before = stream_messages(running)

    response = running.webhook("sharepoint", b'{"value": [{"id": "01BYE5RZ6QN3"')

    problem(response, 400, "MALFORMED_PAYLOAD")
    assert graph.requests == []
    assert stream_messages(running) == before
