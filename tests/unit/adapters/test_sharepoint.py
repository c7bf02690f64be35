"""SharePoint adapter: Graph driveItem delta pages and change notifications."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.sharepoint import ADAPTER, SharePointAdapter
from hub.contracts.adapters import (
    AdapterConfig,
    AdapterError,
    FetchRequest,
    SourceAdapter,
    message_id,
)
from tests.support.http_source import Request, Response, serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sharepoint"
GRAPH = "https://graph.microsoft.com"
DRIVE = "b!8Xk2yq3Wz0-Lm5gQd2nT4hQ0v1pS9eR7uY6tK3jH2gF1dS0aP9oI8uY7tR6eW5qA"
DELTA_PATH = f"/v1.0/drives/{DRIVE}/root/delta"
AAD_TENANT = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
PROPOSAL = "01BYE5RZ6QN3ZWBTUFOFD3GSPGOHDJD36K"
CASE_STUDY = "01BYE5RZ2KXHVV4P5RDBH2S6LXMD7XJCQB"
DELETED_FILE = "01BYE5RZ3TQ7LD5QEGLJEYJV2HV7KZ3B6M"
CLIENT_STATE = "pshub-5e1f0c2d9a7b"
RECEIVED = datetime(2025, 4, 24, 6, 0, tzinfo=UTC)
CONFIG = AdapterConfig(tenant=AAD_TENANT, extra={"retries": "2", "backoff": "0"})


def load(name: str, base_url: str = GRAPH) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text().replace(GRAPH, base_url))


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def adapter() -> SharePointAdapter:
    return SharePointAdapter(clock=lambda: RECEIVED)


def test_adapter_satisfies_the_source_adapter_protocol() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "sharepoint"


def test_files_of_a_delta_page_become_documents_and_folders_are_ignored() -> None:
    mapped = adapter().map_payload(body(load("delta_page_1.json")), config=CONFIG)
    assert [e.subject for e in mapped.events] == [PROPOSAL, CASE_STUDY]
    event = mapped.events[0]
    assert event.type == "pshub.knowledge_asset.changed.v1"
    assert (event.sourcetype, event.tenant) == ("driveItem", AAD_TENANT)
    assert event.time.isoformat() == "2025-04-23T08:47:12+00:00"
    assert {k: event.data[k] for k in ("id", "title", "kind", "uri", "status")} == {
        "id": PROPOSAL,
        "title": "Contoso market entry proposal.docx",
        "kind": "document",
        "uri": "https://northwindadvisory.sharepoint.com/sites/Clients-Contoso/Shared%20Documents"
        "/Proposals/Contoso%20market%20entry%20proposal.docx",
        "status": "published",
    }


def test_a_page_with_a_next_link_is_the_cursor_and_asks_for_the_rest() -> None:
    page = load("delta_page_1.json")
    mapped = adapter().map_payload(body(page), config=CONFIG)
    assert mapped.cursor == page["@odata.nextLink"]
    (request,) = mapped.fetches
    assert (request.kind, request.id, request.url) == (
        "delta",
        f"drives/{DRIVE}/root",
        page["@odata.nextLink"],
    )


def test_the_last_page_gives_the_delta_link_as_the_cursor() -> None:
    page = load("delta_page_2.json")
    mapped = adapter().map_payload(body(page), config=CONFIG)
    assert mapped.cursor == page["@odata.deltaLink"]
    assert mapped.fetches == []


def test_the_last_occurrence_of_an_item_in_a_page_wins() -> None:
    mapped = adapter().map_payload(body(load("delta_repeated_item.json")), config=CONFIG)
    assert [e.subject for e in mapped.events] == [PROPOSAL, CASE_STUDY]
    assert mapped.events[0].time.isoformat() == "2025-04-23T11:02:45+00:00"


def test_deleted_file_becomes_a_deletion_and_a_deleted_folder_is_ignored() -> None:
    mapped = adapter().map_payload(body(load("delta_page_2.json")), config=CONFIG)
    deletions = [e for e in mapped.events if e.is_deletion]
    (deletion,) = deletions
    assert deletion.type == "pshub.knowledge_asset.deleted.v1"
    assert deletion.data == {"id": DELETED_FILE}
    # Deleted items carry no time: the delta run's time orders the deletion.
    assert deletion.time == RECEIVED
    assert deletion.id == message_id("sharepoint", DRIVE, DELETED_FILE, "deleted")


def test_newer_modification_orders_after_the_older_one() -> None:
    first = adapter().map_payload(body(load("delta_page_1.json")), config=CONFIG).events[0]
    later = adapter().map_payload(body(load("delta_page_2.json")), config=CONFIG).events[0]
    assert first.subject == later.subject == PROPOSAL
    assert first.sequence < later.sequence


def test_message_id_comes_from_drive_item_and_etag() -> None:
    first = adapter().map_payload(body(load("delta_page_1.json")), config=CONFIG).events[0]
    again = adapter().map_payload(body(load("delta_page_1.json")), config=CONFIG).events[0]
    etag = '"{A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D},3"'
    assert first.id == again.id == message_id("sharepoint", DRIVE, PROPOSAL, etag)
    later = adapter().map_payload(body(load("delta_page_2.json")), config=CONFIG).events[0]
    assert later.id != first.id


def test_drive_mapped_to_a_client_gives_documents_their_client() -> None:
    config = AdapterConfig(
        tenant=AAD_TENANT,
        extra={
            "drive_clients": json.dumps({DRIVE: "salesforce:Account:001Hs00002XyZ12AAB"}),
            "drive_classifications": json.dumps({DRIVE: "confidential"}),
        },
    )
    data = adapter().map_payload(body(load("delta_page_1.json")), config=config).events[0].data
    assert data["client"] == {"type": "Account", "id": "001Hs00002XyZ12AAB", "system": "salesforce"}
    assert data["classification"] == "confidential"


def test_change_notification_asks_for_a_delta_run_of_its_drive() -> None:
    mapped = adapter().map_payload(body(load("notification.json")), config=AdapterConfig())
    assert mapped.events == []
    (request,) = mapped.fetches
    assert (request.kind, request.id, request.tenant) == (
        "delta",
        f"drives/{DRIVE}/root",
        AAD_TENANT,
    )
    assert request.url is None


def test_a_notification_from_another_tenant_is_refused_not_filed_twice() -> None:
    other = "0f0e0d0c-0b0a-4909-8807-060504030201"
    payload = load("notification.json")
    payload["value"][0]["tenantId"] = other
    with pytest.raises(AdapterError) as refused:
        adapter().map_payload(body(payload), config=CONFIG)
    assert refused.value.reason == "FORBIDDEN"
    assert other in str(refused.value) and AAD_TENANT in str(refused.value)


def test_the_configured_tenant_names_notified_records_whatever_the_case() -> None:
    payload = load("notification.json")
    payload["value"][0]["tenantId"] = AAD_TENANT.upper()
    (request,) = adapter().map_payload(body(payload), config=CONFIG).fetches
    assert request.tenant == AAD_TENANT  # the key polling uses: one xref per file


def test_missed_lifecycle_notification_asks_for_a_delta_run() -> None:
    payload = load("notification_lifecycle.json")
    payload["value"][0]["lifecycleEvent"] = "missed"
    assert adapter().map_payload(body(payload), config=CONFIG).fetches


def test_reauthorization_lifecycle_notification_is_ignored() -> None:
    mapped = adapter().map_payload(body(load("notification_lifecycle.json")), config=CONFIG)
    assert (mapped.events, mapped.fetches) == ([], [])
    assert mapped.ignored


def test_validation_handshake_maps_to_nothing() -> None:
    mapped = adapter().map_payload(
        b"", config=AdapterConfig(signing_secret=CLIENT_STATE), headers={}
    )
    assert (mapped.events, mapped.fetches) == ([], [])
    assert mapped.ignored


def test_notification_with_the_configured_client_state_is_accepted() -> None:
    raw = body(load("notification.json"))
    config = AdapterConfig(signing_secret=CLIENT_STATE)
    assert ADAPTER.verify_signature(raw, {}, config)
    assert ADAPTER.map_payload(raw, config=config, headers={}).fetches


def test_notification_with_another_client_state_is_refused() -> None:
    payload = load("notification.json")
    payload["value"][0]["clientState"] = "forged"
    config = AdapterConfig(signing_secret=CLIENT_STATE)
    assert not ADAPTER.verify_signature(body(payload), {}, config)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(payload), config=config, headers={})
    assert (caught.value.reason, caught.value.status) == ("FORBIDDEN", 401)


def test_notification_without_a_client_state_is_refused_when_one_is_configured() -> None:
    payload = load("notification.json")
    del payload["value"][0]["clientState"]
    assert not ADAPTER.verify_signature(
        body(payload), {}, AdapterConfig(signing_secret=CLIENT_STATE)
    )
    assert ADAPTER.verify_signature(body(payload), {}, AdapterConfig())


def test_item_without_an_id_is_missing_required_id() -> None:
    page = load("delta_page_1.json")
    del page["value"][2]["id"]
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(page), config=CONFIG)
    assert (caught.value.reason, caught.value.field) == ("MISSING_REQUIRED_ID", "value.2.id")


def test_file_without_a_modification_time_is_a_schema_violation() -> None:
    page = load("delta_page_1.json")
    del page["value"][2]["lastModifiedDateTime"]
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(page), config=CONFIG)
    assert (caught.value.reason, caught.value.field) == (
        "SCHEMA_VIOLATION",
        "value.2.lastModifiedDateTime",
    )


def test_notification_for_a_strange_resource_is_a_schema_violation() -> None:
    payload = load("notification.json")
    payload["value"][0]["resource"] = "drives/../../users?$select=*"
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(payload), config=CONFIG)
    assert caught.value.reason == "SCHEMA_VIOLATION"


def test_unparseable_body_is_a_malformed_payload_with_status_400() -> None:
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(b'{"value": [', config=CONFIG)
    assert (caught.value.reason, caught.value.status) == ("MALFORMED_PAYLOAD", 400)


def test_body_without_a_value_list_is_a_schema_violation() -> None:
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body({"id": PROPOSAL}), config=CONFIG)
    assert caught.value.reason == "SCHEMA_VIOLATION"


def test_notification_runs_delta_through_next_links_to_the_delta_link() -> None:
    (request,) = adapter().map_payload(body(load("notification.json")), config=CONFIG).fetches
    holder: dict[str, str] = {}

    def handle(req: Request) -> Response:
        token = req.query.get("token", [None])[0]
        name = "delta_page_2.json" if token else "delta_page_1.json"
        return Response(200, load(name, holder["base"]))

    with serve({("GET", DELTA_PATH): handle}) as source:
        holder["base"] = source.base_url
        config = AdapterConfig(base_url=source.base_url, token="graph-token", extra=CONFIG.extra)
        with httpx.Client() as client:
            mapped = adapter().fetch(request, client=client, config=config)

    assert [r.query.get("token") for r in source.requests] == [
        None,
        ["MzslMjM0OzE7MzsxOzQ7NjM4ODE0MDM2MjA0NjcwMDAwOzg2ODEyNjc4NjsxMDA7"],
    ]
    assert source.requests[0].headers["Authorization"] == "Bearer graph-token"
    assert mapped.cursor == load("delta_page_2.json", source.base_url)["@odata.deltaLink"]
    # The proposal appears on both pages: its last occurrence (eTag 5) is the one reported.
    assert [(e.subject, e.is_deletion) for e in mapped.events] == [
        (CASE_STUDY, False),
        (PROPOSAL, False),
        (DELETED_FILE, True),
    ]
    assert mapped.events[1].time.isoformat() == "2025-04-23T11:02:45+00:00"
    assert all(e.tenant == AAD_TENANT for e in mapped.events)


def test_expired_delta_token_resyncs_from_the_location_given() -> None:
    holder: dict[str, str] = {}

    def handle(req: Request) -> Response:
        token = req.query.get("token", [None])[0]
        if token == "expired":
            location = f"{holder['base']}{DELTA_PATH}?token=resync-1"
            return Response(410, load("gone_410.json"), headers={"Location": location})
        assert token == "resync-1"
        return Response(200, load("delta_resync.json", holder["base"]))

    with serve({("GET", DELTA_PATH): handle}) as source:
        holder["base"] = source.base_url
        extra = {**CONFIG.extra, "complete_listing": "true"}
        config = AdapterConfig(tenant=AAD_TENANT, base_url=source.base_url, extra=extra)
        with httpx.Client() as client:
            result = adapter().poll(
                client=client, config=config, cursor=f"{source.base_url}{DELTA_PATH}?token=expired"
            )

    assert [r.query["token"] for r in source.requests] == [["expired"], ["resync-1"]]
    assert result.cursor == load("delta_resync.json", source.base_url)["@odata.deltaLink"]
    assert [e.subject for e in result.mapped.events] == [PROPOSAL]
    assert result.complete_listings == {("knowledge_asset", "driveItem"): frozenset({PROPOSAL})}


def test_incremental_poll_offers_no_complete_listing() -> None:
    holder: dict[str, str] = {}

    def handle(_: Request) -> Response:
        return Response(200, load("delta_page_2.json", holder["base"]))

    with serve({("GET", DELTA_PATH): handle}) as source:
        holder["base"] = source.base_url
        extra = {**CONFIG.extra, "complete_listing": "true"}
        config = AdapterConfig(base_url=source.base_url, extra=extra)
        with httpx.Client() as client:
            result = adapter().poll(
                client=client, config=config, cursor=f"{source.base_url}{DELTA_PATH}?token=t1"
            )
    assert result.complete_listings == {}
    assert len(result.mapped.events) == 2


def test_a_second_410_after_resyncing_is_fetch_failed() -> None:
    def gone(req: Request) -> Response:
        return Response(410, load("gone_410.json"))

    with serve({("GET", DELTA_PATH): gone}) as source:
        config = AdapterConfig(base_url=source.base_url, extra=CONFIG.extra)
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            adapter().poll(
                client=client, config=config, cursor=f"{source.base_url}{DELTA_PATH}?token=x"
            )
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 2


def test_fetch_that_keeps_failing_is_fetch_failed_after_bounded_retries() -> None:
    request = FetchRequest(kind="delta", id=f"drives/{DRIVE}/root", tenant=AAD_TENANT)
    failing = {"error": {"code": "serviceNotAvailable", "message": "Service unavailable"}}
    with serve({("GET", DELTA_PATH): lambda _: Response(503, failing)}) as source:
        config = AdapterConfig(base_url=source.base_url, extra=CONFIG.extra)
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            adapter().fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 3


def test_fetch_that_times_out_is_fetch_failed() -> None:
    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return Response(200, {"value": [], "@odata.deltaLink": "x"})

    request = FetchRequest(kind="delta", id=f"drives/{DRIVE}/root", tenant=AAD_TENANT)
    with serve({("GET", DELTA_PATH): slow}) as source:
        extra = {"retries": "1", "backoff": "0", "timeout": "0.1"}
        config = AdapterConfig(base_url=source.base_url, extra=extra)
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            adapter().fetch(request, client=client, config=config)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 2


def test_a_next_link_to_another_host_is_not_followed() -> None:
    def handle(_: Request) -> Response:
        page = load("delta_page_1.json")
        page["@odata.nextLink"] = "https://attacker.example/v1.0/drives/x/root/delta?token=1"
        return Response(200, page)

    request = FetchRequest(kind="delta", id=f"drives/{DRIVE}/root", tenant=AAD_TENANT)
    with serve({("GET", DELTA_PATH): handle}) as source:
        config = AdapterConfig(base_url=source.base_url, token="graph-token", extra=CONFIG.extra)
        with httpx.Client() as client, pytest.raises(AdapterError) as caught:
            adapter().fetch(request, client=client, config=config)
    assert caught.value.reason == "SCHEMA_VIOLATION"
    assert len(source.requests) == 1


def test_polling_without_a_cursor_or_a_drive_is_refused() -> None:
    with httpx.Client() as client, pytest.raises(AdapterError) as caught:
        ADAPTER.poll(client=client, config=AdapterConfig(), cursor=None)
    assert (caught.value.reason, caught.value.field) == ("SCHEMA_VIOLATION", "drive_id")


def test_envelope_limits_are_refused_as_schema_violations() -> None:
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(body(load("delta_page_1.json")), config=AdapterConfig(tenant="t" * 300))
    assert caught.value.reason == "SCHEMA_VIOLATION"


def test_a_delta_run_resumes_from_its_own_drives_saved_link_only() -> None:
    pages = {"1": load("delta_page_1.json"), "2": load("delta_page_2.json")}

    def delta(req: Request) -> Response:
        return Response(200, pages["2" if "token" in req.query else "1"])

    with serve({("GET", DELTA_PATH): delta}) as source:
        for number in ("1", "2"):
            pages[number] = load(f"delta_page_{number}.json", source.base_url)
        config = AdapterConfig(tenant=AAD_TENANT, base_url=source.base_url, extra=CONFIG.extra)
        own = f"{source.base_url}{DELTA_PATH}?token=saved"
        other = f"{source.base_url}/v1.0/drives/b!another-drive/root/delta?token=theirs"
        with httpx.Client() as client:
            for cursor in (own, other):
                hint = {"cursor": cursor}
                request = FetchRequest("delta", f"drives/{DRIVE}/root", AAD_TENANT, hint=hint)
                adapter().fetch(request, client=client, config=config)
    next_token = "MzslMjM0OzE7MzsxOzQ7NjM4ODE0MDM2MjA0NjcwMDAwOzg2ODEyNjc4NjsxMDA7"
    # Its own drive's link is used; another drive's is not: a fresh listing, page by page.
    assert [r.query.get("token") for r in source.requests] == [["saved"], None, [next_token]]
