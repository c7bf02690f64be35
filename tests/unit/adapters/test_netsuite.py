"""NetSuite REST record mapping and polling, over records in the documented REST shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.netsuite import ADAPTER
from hub.contracts.adapters import (
    EMBEDDED_PREFIX,
    AdapterConfig,
    AdapterError,
    FetchRequest,
    Mapped,
    SourceAdapter,
)
from hub.contracts.changes import ChangeEnvelope
from tests.support.http_source import Request, Response, SourceServer, serve

FIXTURES = Path(__file__).parents[2] / "fixtures" / "netsuite"
NETSUITE = "https://1234567.suitetalk.api.netsuite.com"
CONFIG = AdapterConfig(
    tenant="1234567",
    extra={"salesforce_tenant": "00D5e000000Hq2bEAC", "milestone_flag": "isMilestone"},
)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def mapped(payload: str | dict[str, Any], config: AdapterConfig = CONFIG, **kw: Any) -> Mapped:
    value = fixture(payload) if isinstance(payload, str) else payload
    return ADAPTER.map_payload(body(value), config=config, **kw)


def own(events: list[ChangeEnvelope]) -> list[ChangeEnvelope]:
    """The events of the records themselves, without what they say of records they embed."""
    return [e for e in events if not (e.sequence or "").startswith(EMBEDDED_PREFIX)]


def only(result: Mapped) -> ChangeEnvelope:
    [event] = own(result.events)
    return event


def refusal(payload: bytes | dict[str, Any], config: AdapterConfig = CONFIG) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config)
    return caught.value


def test_adapter_satisfies_the_source_adapter_protocol_under_its_folder_name() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "netsuite"


def test_unsigned_source_accepts_without_a_secret_and_refuses_when_one_is_configured() -> None:
    assert ADAPTER.verify_signature(b"{}", {}, CONFIG)
    assert not ADAPTER.verify_signature(b"{}", {}, AdapterConfig(signing_secret="s3cret"))


# --- customer -> client ------------------------------------------------------------------------


def test_customer_maps_to_a_client_with_the_currency_refname_and_tax_id() -> None:
    event = only(mapped("customer.json"))
    assert event.type == "pshub.client.changed.v1"
    assert event.sourcetype == "customer"
    assert event.subject == "1081"
    assert event.tenant == "1234567"  # from the record's own link host
    assert event.time.isoformat() == "2024-05-03T09:41:00+00:00"
    assert event.data == {
        "id": "1081",
        "legal_name": "Fabrikam Inc.",
        "status": "active",
        "tax_id": "US-94-1234567",
        "billing_currency": "USD",
        # The customer was created from a Salesforce account: its externalId names it.
        "external_refs": [
            {
                "system": "salesforce",
                "tenant": "00D5e000000Hq2bEAC",
                "type": "Account",
                "id": "0015e00000KrLbQAAV",
            }
        ],
        "customer_number": "CUST-1081 Fabrikam Inc.",
        "email": "ap@fabrikam.example",
        "phone": "(650) 555-0123",
        # The REST record leaves empty fields out: absent is empty.
        "website": None,
        "category": None,
        "billing_address": {
            "street": "Fabrikam Inc.\n2955 Campus Drive, Suite 100\nSan Mateo CA 94403\n"
            "United States"
        },
        "parent": None,
        "owner": None,
        "owner_name": None,
    }


def test_a_person_customer_is_named_after_the_person_and_inactive_is_inactive() -> None:
    record = fixture("customer.json") | {
        "isPerson": True,
        "firstName": "Dana",
        "lastName": "Whitfield",
        "isInactive": True,
    }
    assert only(mapped(record)).data["legal_name"] == "Dana Whitfield"
    assert only(mapped(record)).data["status"] == "inactive"


def test_the_tenant_is_the_sandbox_account_its_links_name() -> None:
    record = json.loads(
        json.dumps(fixture("customer.json")).replace("1234567.suitetalk", "1234567-sb1.suitetalk")
    )
    assert only(mapped(record, AdapterConfig())).tenant == "1234567_SB1"


def test_without_links_the_tenant_comes_from_the_configuration_else_the_caller() -> None:
    record = fixture("customer.json")
    del record["links"]
    assert only(mapped(record, event="customer")).tenant == "1234567"
    assert only(mapped(record, AdapterConfig(), event="customer", tenant="TSTDRV1")).tenant == (
        "TSTDRV1"
    )


def test_currency_names_that_are_not_codes_map_through_configured_currency_ids() -> None:
    record = fixture("customer.json")
    record["currency"]["refName"] = "US Dollar"
    assert refusal(record).reason == "INVALID_CURRENCY"
    config = AdapterConfig(tenant="1234567", extra={"currency_ids": "1=USD,2=GBP"})
    assert only(mapped(record, config)).data["billing_currency"] == "USD"


# --- job -> engagement -------------------------------------------------------------------------


def test_job_maps_to_an_engagement_with_its_customer_code_currency_and_opportunity() -> None:
    event = only(mapped("job.json"))
    assert event.type == "pshub.engagement.changed.v1"
    assert event.sourcetype == "job"
    assert event.data == {
        "id": "2044",
        "code": "PRJ-2044",
        "name": "Fabrikam - Finance transformation",
        "client": {"type": "customer", "id": "1081"},
        "currency": "USD",
        "budget": {"amount": "210000.00", "currency": "USD"},
        "status": "active",
        "start_date": "2024-06-03",
        "end_date": "2024-12-20",
        "manager": {"type": "employee", "id": "318"},
        "legal_entity": "Honeycomb Consulting Inc.",
        # The externalId names the CRM opportunity (15 characters, normalised to 18).
        "external_refs": [
            {
                "system": "salesforce",
                "tenant": "00D5e000000Hq2bEAC",
                "type": "Opportunity",
                "id": "0065e00000BxT4mAAF",
            }
        ],
        "stage": "In Progress",
        "engagement_type": "Advisory",
        "contract_type": "fixed_fee",
        "billing_method": "Fixed Bid, Milestone",
        "expected_revenue": {"amount": "210000.00", "currency": "USD"},
        "estimated_cost": {"amount": "142000.00", "currency": "USD"},
        "percent_complete": "12.5",
        "calculated_end_date": "2024-12-18",
    }


def test_an_external_id_that_is_not_an_opportunity_is_not_a_cross_reference() -> None:
    record = fixture("job.json") | {"externalId": "LEGACY-PRJ-77"}
    assert "external_refs" not in only(mapped(record)).data


@pytest.mark.parametrize(
    ("status", "inactive", "expected"),
    [
        ("Pending", False, "pipeline"),
        ("Awarded", False, "won"),
        ("Not Awarded", False, "lost"),
        ("Closed", False, "closed"),
        ("In Progress", True, "on_hold"),
        ("Closed", True, "closed"),
    ],
)
def test_job_status_follows_the_project_status_and_inactive_is_on_hold(
    status: str, inactive: bool, expected: str
) -> None:
    record = fixture("job.json")
    record["entityStatus"]["refName"] = status
    record["isInactive"] = inactive
    assert only(mapped(record)).data["status"] == expected


def test_a_renamed_project_status_maps_through_the_configured_status_map() -> None:
    record = fixture("job.json")
    record["entityStatus"] = {"id": "7", "refName": "Delivery"}
    assert "status" not in only(mapped(record)).data
    config = AdapterConfig(tenant="1234567", extra={"job_status_map": "7=active"})
    assert only(mapped(record, config)).data["status"] == "active"


def test_a_sub_projects_parent_job_is_not_taken_for_its_client() -> None:
    record = fixture("job.json")
    record["parent"] = {
        "links": [{"rel": "self", "href": f"{NETSUITE}/services/rest/record/v1/job/2001"}],
        "id": "2001",
        "refName": "PRJ-2001",
    }
    assert "client" not in only(mapped(record)).data


# --- project milestones ------------------------------------------------------------------------


def test_a_milestone_project_task_maps_to_a_delivered_milestone_of_its_project() -> None:
    event = only(mapped("milestone_task.json"))
    assert event.type == "pshub.milestone.changed.v1"
    assert event.sourcetype == "projecttask"
    assert event.data == {
        "id": "5120",
        "engagement": {"type": "job", "id": "2044"},
        "name": "Phase I - Finance blueprint signed off",
        "due_date": "2024-08-31",
        "status": "delivered",
        "delivered_on": "2024-08-29",
        "start_date": "2024-08-30",
        "source_status": "Completed",
    }


def test_rest_project_tasks_are_milestones_by_a_configured_flag_since_rest_lacks_it() -> None:
    assert mapped("projecttask_rest.json").ignored  # not flagged as a milestone
    config = AdapterConfig(tenant="1234567", extra={"milestone_flag": "custevent_pshub_milestone"})
    event = only(mapped("projecttask_rest.json", config))
    assert event.data == {
        "id": "5121",
        "engagement": {"type": "job", "id": "2044"},
        "name": "Phase II - Go-live",
        "due_date": "2024-12-20",
        "status": "planned",
        "start_date": "2024-12-16",
        "source_status": "Not Started",
    }


def test_a_configured_record_type_carries_the_milestones() -> None:
    record = fixture("milestone_task.json") | {"recordType": "customrecord_ps_milestone"}
    assert mapped(record).ignored
    config = AdapterConfig(
        tenant="1234567", extra={"milestone_record": "customrecord_ps_milestone"}
    )
    assert only(mapped(record, config)).sourcetype == "customrecord_ps_milestone"


# --- ordering, de-duplication, pages -----------------------------------------------------------


def test_an_older_modification_orders_before_a_newer_one_and_ids_are_stable() -> None:
    older = only(mapped("job.json"))
    newer = only(mapped(fixture("job.json") | {"lastModifiedDate": "2024-06-04T08:30:01Z"}))
    assert (older.sequence or "") < (newer.sequence or "")
    assert older.id != newer.id
    assert only(mapped("job.json")).id == older.id


def test_the_same_id_in_two_record_types_gets_two_message_ids() -> None:
    job = only(
        mapped(fixture("job.json") | {"id": "1081", "lastModifiedDate": "2024-05-03T09:41:00Z"})
    )
    assert job.id != only(mapped("customer.json")).id


def test_a_page_of_full_records_maps_every_record() -> None:
    page = {"items": [fixture("customer.json"), fixture("job.json")], "hasMore": False}
    assert [e.entity for e in own(mapped(page).events)] == ["client", "engagement"]


def test_unmapped_record_types_are_ignored() -> None:
    record = fixture("customer.json") | {"recordType": "vendor"}
    assert mapped(record).ignored


# --- refusals ----------------------------------------------------------------------------------


def test_unparseable_json_is_refused_as_malformed_with_status_400() -> None:
    error = refusal(b'{"id": "1081", ')
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_a_record_without_its_id_is_missing_the_required_id() -> None:
    record = fixture("job.json")
    del record["id"]
    assert refusal(record).reason == "MISSING_REQUIRED_ID"
    record = fixture("job.json")
    record["parent"]["id"] = None
    assert refusal(record).reason == "MISSING_REQUIRED_ID"


def test_a_negative_estimated_revenue_is_refused() -> None:
    assert refusal(fixture("job.json") | {"estimatedRevenue": -1}).reason == "NEGATIVE_QUANTITY"


@pytest.mark.parametrize(
    "record",
    [
        fixture("job.json") | {"lastModifiedDate": "yesterday"},
        {k: v for k, v in fixture("job.json").items() if k != "lastModifiedDate"},
        fixture("job.json") | {"startDate": "2024-02-30"},
        {k: v for k, v in fixture("job.json").items() if k != "links"},
        ["not", "a", "record"],
    ],
)
def test_anything_else_that_does_not_fit_the_shape_is_a_schema_violation(record: Any) -> None:
    assert refusal(body(record)).reason == "SCHEMA_VIOLATION"


# --- polling and fetching against the REST API on loopback -------------------------------------


@pytest.fixture(scope="module")
def _server() -> Iterator[SourceServer]:
    with serve({}) as server:
        yield server


@pytest.fixture
def source(_server: SourceServer) -> SourceServer:
    """One loopback server per module (its shutdown is slow); routes and requests per test."""
    _server.routes.clear()
    _server.requests.clear()
    return _server


ROOT = "/services/rest/record/v1"


def config_for(source: SourceServer, **extra: str) -> AdapterConfig:
    return AdapterConfig(
        tenant="1234567",
        base_url=source.base_url,
        token="ns-oauth2-token",
        page_size=2,
        extra={"retries": "2", "backoff_seconds": "0.01", **extra},
    )


def here(source: SourceServer, name: str, **changes: Any) -> dict[str, Any]:
    record = json.loads((FIXTURES / name).read_text().replace(NETSUITE, source.base_url))
    return record | changes


def collection(source: SourceServer, record_type: str, ids: list[str]) -> Any:
    def handler(request: Request) -> Response:
        offset = int(request.query["offset"][0])
        limit = int(request.query["limit"][0])
        chunk = ids[offset : offset + limit]
        return Response(
            200,
            {
                "links": [{"rel": "self", "href": f"{source.base_url}{ROOT}/{record_type}"}],
                "count": len(chunk),
                "hasMore": offset + limit < len(ids),
                "offset": offset,
                "totalResults": len(ids),
                "items": [
                    {
                        "links": [
                            {"rel": "self", "href": f"{source.base_url}{ROOT}/{record_type}/{i}"}
                        ],
                        "id": i,
                    }
                    for i in chunk
                ],
            },
        )

    return handler


def serve_account(source: SourceServer) -> None:
    jobs = {
        "2044": here(source, "job.json"),
        "2045": here(
            source,
            "job.json",
            id="2045",
            entityId="PRJ-2045",
            lastModifiedDate="2024-06-05T10:00:00Z",
        ),
        "1990": here(
            source,
            "job.json",
            id="1990",
            entityId="PRJ-1990",
            lastModifiedDate="2024-05-01T10:00:00Z",
        ),
    }
    source.routes.update(
        {
            ("GET", f"{ROOT}/customer"): collection(source, "customer", ["1081"]),
            ("GET", f"{ROOT}/customer/1081"): lambda r: Response(
                200, here(source, "customer.json")
            ),
            ("GET", f"{ROOT}/job"): collection(source, "job", list(jobs)),
            ("GET", f"{ROOT}/projecttask"): collection(source, "projecttask", []),
        }
    )
    for job_id, record in jobs.items():
        source.routes[("GET", f"{ROOT}/job/{job_id}")] = lambda r, record=record: Response(
            200, record
        )


def poll(source: SourceServer, cursor: str | None, **extra: str) -> Any:
    with httpx.Client(timeout=2) as client:
        return ADAPTER.poll(client=client, config=config_for(source, **extra), cursor=cursor)


def test_poll_queries_on_last_modified_date_pages_by_offset_and_reads_each_record(
    source: SourceServer,
) -> None:
    serve_account(source)
    result = poll(source, "2024-06-01T00:00:00Z", overlap_seconds="0")
    job_lists = [r for r in source.requests if r.path == f"{ROOT}/job"]
    assert job_lists[0].query["q"] == ['lastModifiedDate ON_OR_AFTER "05/31/2024"']
    assert [r.query["offset"] for r in job_lists] == [["0"], ["2"]]
    assert job_lists[0].headers["Authorization"] == "Bearer ns-oauth2-token"
    # Job 1990 and the customer were listed by the day-wide query but are older than the cursor.
    assert [e.subject for e in own(result.mapped.events)] == ["2044", "2045"]
    assert result.cursor == "2024-06-05T10:00:00Z"
    assert result.complete_listings == {}


def test_a_first_poll_reads_everything_and_reports_complete_listings(
    source: SourceServer,
) -> None:
    serve_account(source)
    result = poll(source, None)
    assert all("q" not in r.query for r in source.requests if "offset" in r.query)
    assert {e.subject for e in result.mapped.events} == {"1081", "2044", "2045", "1990"}
    assert result.complete_listings == {
        ("client", "customer"): frozenset({"1081"}),
        ("engagement", "job"): frozenset({"2044", "2045", "1990"}),
        ("milestone", "projecttask"): frozenset(),
    }


def test_a_reconciling_poll_also_lists_every_id(source: SourceServer) -> None:
    serve_account(source)
    result = poll(source, "2024-06-01T00:00:00Z", reconcile="true")
    assert result.complete_listings[("engagement", "job")] == {"2044", "2045", "1990"}


def test_a_failing_source_is_retried_a_bounded_number_of_times_then_fetch_failed(
    source: SourceServer,
) -> None:
    source.routes[("GET", f"{ROOT}/customer")] = lambda r: Response(500, {"title": "boom"})
    with pytest.raises(AdapterError) as caught:
        poll(source, None)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 3


def test_a_source_that_times_out_raises_fetch_failed(source: SourceServer) -> None:
    def slow(r: Request) -> Response:
        time.sleep(0.2)
        return Response(200, {"items": [], "hasMore": False})

    source.routes[("GET", f"{ROOT}/customer")] = slow
    with pytest.raises(AdapterError) as caught:
        poll(source, None, timeout_seconds="0.05", retries="1")
    assert caught.value.reason == "FETCH_FAILED"


def test_fetch_reads_one_record_and_a_missing_one_is_a_tombstone(source: SourceServer) -> None:
    serve_account(source)
    with httpx.Client(timeout=2) as client:
        found = ADAPTER.fetch(
            FetchRequest(kind="job", id="2044", tenant="1234567"),
            client=client,
            config=config_for(source),
        )
        gone = ADAPTER.fetch(
            FetchRequest(kind="job", id="9999", tenant="1234567"),
            client=client,
            config=config_for(source),
        )
    assert only(found).subject == "2044"
    assert only(gone).type == "pshub.engagement.deleted.v1"
    assert only(gone).data == {"id": "9999", "reason": "source_deleted"}
