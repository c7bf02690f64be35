"""Salesforce CDC mapping and REST refetch, over payloads in the documented CometD shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.salesforce import ADAPTER
from adapters.salesforce.payloads import to_18
from hub.contracts.adapters import AdapterConfig, AdapterError, FetchRequest, Mapped, SourceAdapter
from hub.contracts.changes import ChangeEnvelope
from tests.support.http_source import Request, Response, SourceServer, serve

FIXTURES = Path(__file__).parents[2] / "fixtures" / "salesforce"
ORG = "00D5e000000Hq2bEAC"
ACCOUNT = "0015e00000KrLaPAAV"
OPPORTUNITY = "0065e00000BxT4mAAF"
CONTACT = "0035e00000Lq8ZrAAJ"
CONFIG = AdapterConfig(
    tenant=ORG,
    default_currency="EUR",
    extra={
        "client_id": "pshub-integration",
        "account_tax_id_field": "VAT_Number__c",
        "retries": "2",
        "backoff_seconds": "0.01",
    },
)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def mapped(name_or_payload: str | dict[str, Any], config: AdapterConfig = CONFIG) -> Mapped:
    payload = fixture(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    return ADAPTER.map_payload(body(payload), config=config)


def only(result: Mapped) -> ChangeEnvelope:
    assert len(result.events) == 1, result
    return result.events[0]


def refusal(payload: bytes | dict[str, Any], config: AdapterConfig = CONFIG) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config)
    return caught.value


def header(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["payload"]["ChangeEventHeader"]


# --- the adapter as a whole -------------------------------------------------------------------


def test_adapter_satisfies_the_source_adapter_protocol_under_its_folder_name() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "salesforce"


def test_unsigned_source_accepts_without_a_secret_and_refuses_when_one_is_configured() -> None:
    assert ADAPTER.verify_signature(b"{}", {}, CONFIG)
    assert not ADAPTER.verify_signature(b"{}", {}, AdapterConfig(signing_secret="s3cret"))


def test_poll_is_not_offered_because_salesforce_pushes_its_changes() -> None:
    with httpx.Client() as client, pytest.raises(NotImplementedError):
        ADAPTER.poll(client=client, config=CONFIG, cursor=None)


# --- Account -> client -------------------------------------------------------------------------


def test_account_create_maps_to_a_full_client_change() -> None:
    event = only(mapped("account_create.json"))
    assert event.type == "pshub.client.changed.v1"
    assert event.source == f"/salesforce/{ORG}"
    assert event.subject == ACCOUNT
    assert event.sourcetype == "Account"
    assert event.tenant == ORG
    assert event.time.isoformat() == "2024-05-01T10:00:00+00:00"
    assert event.data == {
        "id": ACCOUNT,
        "legal_name": "Northwind Traders GmbH",
        "billing_currency": "EUR",
        "country": "DE",
        "tax_id": "DE811907980",
        "industry": "Manufacturing",
        "category": "Customer - Direct",
        # A CREATE carries every non-empty field: what it lacks is empty.
        "customer_number": None,
        "website": None,
        "phone": None,
        "billing_address": {
            "street": "Friedrichstrasse 123",
            "city": "Berlin",
            "region": None,
            "postal_code": "10117",
            "country": "DE",
        },
        "shipping_address": None,
        "parent": None,
        "owner": {"type": "User", "id": "0055e000004HjKlAAK"},
    }


def test_account_update_reports_only_changed_fields_and_ignores_enrichment() -> None:
    event = only(mapped("account_update.json"))
    # CurrencyIsoCode and Industry are present (enrichment) but not in changedFields; of
    # the address only the country changed, so only that line is reported.
    assert event.data == {
        "id": ACCOUNT,
        "legal_name": "Northwind Traders AG",
        "country": "CH",
        "tax_id": None,
        "billing_address": {"country": "CH"},
    }


def test_nulled_fields_are_reported_as_cleared() -> None:
    event = only(mapped("account_update.json"))
    assert "tax_id" in event.data and event.data["tax_id"] is None


def test_a_country_name_that_is_not_an_iso_code_is_not_guessed() -> None:
    payload = fixture("account_update.json")
    payload["payload"]["BillingAddress"] = {"Country": "Switzerland"}
    header(payload)["changedFields"] = ["BillingAddress.Country"]
    header(payload)["nulledFields"] = []
    result = mapped(payload)
    assert result.events == [] and result.ignored  # nothing the hub maps changed


def test_account_delete_becomes_a_client_tombstone() -> None:
    event = only(mapped("account_delete.json"))
    assert event.type == "pshub.client.deleted.v1"
    assert event.is_deletion
    assert event.data == {"id": ACCOUNT, "reason": "source_deleted"}


def test_undelete_revives_the_client_with_a_full_change() -> None:
    event = only(mapped("account_undelete.json"))
    assert event.type == "pshub.client.changed.v1"
    assert event.data == {
        "id": ACCOUNT,
        "legal_name": "Northwind Traders AG",
        "billing_currency": "CHF",
        "country": "CH",
        "industry": None,
        "category": None,
        "customer_number": None,
        "website": None,
        "phone": None,
        "billing_address": {
            "street": None,
            "city": "Zurich",
            "region": None,
            "postal_code": None,
            "country": "CH",
        },
        "shipping_address": None,
        "parent": None,
        "owner": None,
    }


def test_single_currency_org_takes_the_configured_default_currency() -> None:
    payload = fixture("account_create.json")
    del payload["payload"]["CurrencyIsoCode"]
    assert only(mapped(payload)).data["billing_currency"] == "EUR"


def test_multi_currency_org_never_assumes_the_default_currency() -> None:
    payload = fixture("account_create.json")
    del payload["payload"]["CurrencyIsoCode"]
    config = AdapterConfig(tenant=ORG, default_currency="EUR", extra={"multi_currency": "true"})
    assert "billing_currency" not in only(mapped(payload, config)).data


# --- Opportunity -> engagement -----------------------------------------------------------------


def test_opportunity_create_maps_to_a_pipeline_engagement_with_budget_and_start_date() -> None:
    event = only(mapped("opportunity_create.json"))
    assert event.type == "pshub.engagement.changed.v1"
    assert event.sourcetype == "Opportunity"
    assert event.data == {
        "id": OPPORTUNITY,
        "client": {"type": "Account", "id": ACCOUNT},
        "name": "Northwind - ERP rollout advisory",
        "currency": "EUR",
        "budget": {"amount": "185000.00", "currency": "EUR"},
        "amount": {"amount": "185000.00", "currency": "EUR"},
        "status": "pipeline",
        "start_date": "2024-06-30",
        "expected_close_date": "2024-06-30",
        "stage": "Prospecting",
        "forecast_category": "Pipeline",
        "probability": "10.0",
        "engagement_type": "New Customer",
        "lead_source": None,
        "owner": {"type": "User", "id": "0055e000004HjKlAAK"},
    }


def test_won_status_comes_from_is_won_not_from_the_renamed_stage_label() -> None:
    event = only(mapped("opportunity_update_won.json"))
    assert event.data == {
        "id": OPPORTUNITY,
        "status": "won",
        "budget": {"amount": "192500.00", "currency": "EUR"},
        "amount": {"amount": "192500.00", "currency": "EUR"},
        "stage": "Signed - Engagement Letter",
        "forecast_category": "Closed",
        "probability": "100.0",
    }


def test_a_stage_label_change_alone_reports_the_stage_but_no_status() -> None:
    payload = fixture("opportunity_update_won.json")
    header(payload)["changedFields"] = ["StageName", "LastModifiedDate"]
    payload["payload"] = {"ChangeEventHeader": header(payload), "StageName": "Closed Won"}
    assert only(mapped(payload)).data == {"id": OPPORTUNITY, "stage": "Closed Won"}


def test_a_change_of_last_modified_date_alone_changes_nothing() -> None:
    payload = fixture("opportunity_update_won.json")
    header(payload)["changedFields"] = ["LastModifiedDate"]
    payload["payload"] = {"ChangeEventHeader": header(payload), "LastModifiedDate": 1717149600000}
    result = mapped(payload)
    assert result.events == [] and "no mapped field changed" in (result.ignored or "")


def test_closing_without_winning_is_lost_and_reopening_is_pipeline() -> None:
    lost = mapped("opportunity_update_merged.json")
    assert {e.data["status"] for e in lost.events} == {"lost"}
    payload = fixture("opportunity_update_merged.json")
    payload["payload"]["IsClosed"] = False
    assert {e.data["status"] for e in mapped(payload).events} == {"pipeline"}


def test_is_won_turning_false_on_a_closed_opportunity_is_lost() -> None:
    payload = fixture("opportunity_update_won.json")
    header(payload)["changedFields"] = ["IsWon", "LastModifiedDate"]
    payload["payload"] = {"ChangeEventHeader": header(payload), "IsWon": False}
    assert only(mapped(payload)).data == {"id": OPPORTUNITY, "status": "lost"}


def test_merged_change_fans_out_one_event_per_record_id_with_18_character_ids() -> None:
    result = mapped("opportunity_update_merged.json")
    assert [e.subject for e in result.events] == ["0065e00000BxT4nAAF", "0065e00000BxT4oAAF"]
    assert len({e.id for e in result.events}) == 2
    assert {e.sequence for e in result.events} == {result.events[0].sequence}


def test_15_character_ids_are_normalised_to_their_18_character_form() -> None:
    assert to_18("001D000000IqhSL") == "001D000000IqhSLIAZ"
    assert to_18("001D000000IqhSLIAZ") == "001D000000IqhSLIAZ"
    payload = fixture("opportunity_create.json")
    payload["payload"]["AccountId"] = "0015e00000KrLaP"
    assert only(mapped(payload)).data["client"]["id"] == ACCOUNT


def test_a_date_sent_as_epoch_ms_at_utc_midnight_keeps_its_calendar_day() -> None:
    payload = fixture("opportunity_create.json")
    payload["payload"]["CloseDate"] = 1719705600000  # 2024-06-30T00:00:00Z (Pub/Sub form)
    assert only(mapped(payload)).data["start_date"] == "2024-06-30"


def test_an_amount_change_in_a_multi_currency_org_goes_without_a_currency_and_no_fetch() -> None:
    payload = fixture("opportunity_update_won.json")
    del payload["payload"]["CurrencyIsoCode"]
    config = AdapterConfig(
        tenant=ORG, base_url="https://acme.my.salesforce.com", extra={"multi_currency": "true"}
    )
    result = mapped(payload, config)
    assert result.fetches == []
    # The hub knows the record's currency; it parks the change if it does not know the record.
    data = only(result).data
    assert data["amount"] == data["budget"] == {"amount": "192500.0"}  # as Salesforce sent it
    assert "currency" not in data


# --- Contact -> a contact of its Account's client ----------------------------------------------


def test_contact_create_becomes_a_contact_update_of_its_account() -> None:
    event = only(mapped("contact_create.json"))
    assert event.type == "pshub.client.changed.v1"
    assert event.subject == ACCOUNT
    assert event.sourcetype == "Account"
    assert event.data == {
        "id": ACCOUNT,
        "contact_updates": [
            {
                "id": CONTACT,
                "version": event.sequence,
                "name": "Anna Schmidt",
                "email": "anna.schmidt@northwind.example",
                "phone": "+49 30 1234567",
                "role": "CFO",
            }
        ],
    }


def test_contacts_of_one_account_in_a_merged_change_get_distinct_ordered_sequences() -> None:
    payload = fixture("contact_create.json")
    header(payload)["recordIds"] = [CONTACT, "0035e00000Lq8Zs"]
    first, second = mapped(payload).events
    assert first.subject == second.subject == ACCOUNT
    assert first.sequence != second.sequence
    assert (first.sequence or "").startswith(only(mapped("contact_create.json")).sequence or "-")
    older = only(mapped("account_create.json")).sequence or ""
    assert older < (first.sequence or "")  # an earlier change of the Account orders first


def test_contact_update_with_enrichment_fields_maps_the_whole_contact() -> None:
    event = only(mapped("contact_update_enriched.json"))
    [contact] = event.data["contact_updates"]
    assert contact["phone"] == ""  # nulled
    assert contact["role"] == "Chief Financial Officer"
    assert contact["version"] == event.sequence


def test_contact_update_with_partial_fields_is_refetched_because_contacts_replace_whole() -> None:
    result = mapped("contact_update_partial.json")
    assert result.events == []
    [request] = result.fetches
    assert (request.kind, request.id, request.tenant) == ("record", CONTACT, ORG)


def test_contact_without_an_account_is_ignored() -> None:
    payload = fixture("contact_create.json")
    del payload["payload"]["AccountId"]
    result = mapped(payload)
    assert result.events == [] and result.ignored


# --- ordering and de-duplication ---------------------------------------------------------------


def _sequence(ts: int, commit: int, seq: int) -> str:
    payload = fixture("account_update.json")
    header(payload).update(commitTimestamp=ts, commitNumber=commit, sequenceNumber=seq)
    return only(mapped(payload)).sequence or ""


def test_sequence_orders_by_commit_timestamp_then_commit_number_then_sequence_number() -> None:
    assert _sequence(1715072400000, 9, 9) < _sequence(1715072400001, 1, 1)
    assert _sequence(1715072400000, 9, 9) < _sequence(1715072400000, 10, 1)
    assert _sequence(1715072400000, 10, 2) < _sequence(1715072400000, 10, 10)
    older, newer = only(mapped("account_create.json")), only(mapped("account_update.json"))
    assert (older.sequence or "") < (newer.sequence or "")


def test_redelivery_on_another_channel_or_replay_id_gets_the_same_message_id() -> None:
    first = only(mapped("account_update.json"))
    payload = fixture("account_update.json")
    payload["event"]["replayId"] = 99999
    again = only(
        ADAPTER.map_payload(
            body({"channel": "/data/AccountChangeEvent", "data": payload}), config=CONFIG
        )
    )
    assert again.id == first.id
    assert only(mapped("account_create.json")).id != first.id


def test_a_bayeux_batch_maps_every_message() -> None:
    batch = [
        {"channel": "/data/ChangeEvents", "data": fixture(name)}
        for name in ("account_create.json", "opportunity_create.json")
    ]
    result = ADAPTER.map_payload(body(batch), config=CONFIG)
    assert [e.entity for e in result.events] == ["client", "engagement"]


def test_echo_of_the_hubs_own_write_is_ignored() -> None:
    result = mapped("echo_update.json")
    assert result.events == [] and result.fetches == []
    assert result.ignored == "echo of the hub's own write"


def test_tenant_comes_from_the_configuration_else_from_the_caller() -> None:
    event = only(
        ADAPTER.map_payload(
            body(fixture("account_delete.json")), config=AdapterConfig(), tenant="00DORG"
        )
    )
    assert event.tenant == "00DORG"


def test_snapshot_and_unmapped_objects_are_ignored() -> None:
    payload = fixture("account_update.json")
    header(payload)["changeType"] = "SNAPSHOT"
    assert mapped(payload).ignored
    payload = fixture("account_update.json")
    header(payload)["entityName"] = "Lead"
    assert mapped(payload).ignored


# --- gaps and overflow -------------------------------------------------------------------------


def test_a_gap_event_asks_to_refetch_each_record() -> None:
    result = mapped("gap_update.json")
    assert result.events == []
    [request] = result.fetches
    assert (request.kind, request.id, request.hint["entity"]) == (
        "record",
        OPPORTUNITY,
        "Opportunity",
    )


def test_gap_overflow_and_wildcard_ids_ask_to_resync_the_object_type() -> None:
    [request] = mapped("gap_overflow.json").fetches
    assert (request.kind, request.id) == ("resync", "Account")
    payload = fixture("account_update.json")
    header(payload)["recordIds"] = ["001*"]
    [request] = mapped(payload).fetches
    assert request.kind == "resync"


# --- refusals ----------------------------------------------------------------------------------


def test_unparseable_json_is_refused_as_malformed_with_status_400() -> None:
    error = refusal(b'{"schema": "x", "payload": ')
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_a_payload_without_its_header_or_record_ids_is_missing_the_required_id() -> None:
    assert refusal({"schema": "x", "payload": {"Name": "x"}}).reason == "MISSING_REQUIRED_ID"
    payload = fixture("account_update.json")
    header(payload)["recordIds"] = []
    assert refusal(payload).reason == "MISSING_REQUIRED_ID"
    payload = fixture("account_update.json")
    del header(payload)["transactionKey"]
    assert refusal(payload).reason == "MISSING_REQUIRED_ID"


def test_an_unknown_currency_is_refused() -> None:
    payload = fixture("opportunity_create.json")
    payload["payload"]["CurrencyIsoCode"] = "US$"
    assert refusal(payload).reason == "INVALID_CURRENCY"


def test_a_negative_amount_is_refused() -> None:
    payload = fixture("opportunity_create.json")
    payload["payload"]["Amount"] = -5000
    assert refusal(payload).reason == "NEGATIVE_QUANTITY"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("payload", "ChangeEventHeader", "changeType"), "MERGE"),
        (("payload", "Amount"), "a lot"),
        (("payload", "AccountId"), "not-an-id!"),
        (("payload", "CloseDate"), "30/06/2024"),
        (("payload",), ["not", "an", "object"]),
    ],
)
def test_anything_else_that_does_not_fit_the_shape_is_a_schema_violation(
    path: tuple[str, ...], value: Any
) -> None:
    payload = fixture("opportunity_create.json")
    target = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert refusal(payload).reason == "SCHEMA_VIOLATION"


# --- fetch against the REST API on loopback ----------------------------------------------------


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


def _fetch(request: FetchRequest, source: SourceServer, **extra: str) -> Mapped:
    config = AdapterConfig(
        tenant=ORG,
        base_url=source.base_url,
        token="00D!token",
        default_currency="EUR",
        extra={"retries": "2", "backoff_seconds": "0.01", **extra},
    )
    with httpx.Client(timeout=2) as client:
        return ADAPTER.fetch(request, client=client, config=config)


OPPORTUNITY_PATH = f"/services/data/v60.0/sobjects/Opportunity/{OPPORTUNITY}"


def test_gap_refetch_reads_the_record_and_maps_it_at_the_gaps_place_in_order(
    source: SourceServer,
) -> None:
    [request] = mapped("gap_update.json").fetches
    source.routes[("GET", OPPORTUNITY_PATH)] = lambda r: Response(
        200, fixture("rest_opportunity.json")
    )
    event = only(_fetch(request, source))
    assert source.requests[0].headers["Authorization"] == "Bearer 00D!token"
    assert event.sequence == request.hint["sequence"]
    assert event.data == {
        "id": OPPORTUNITY,
        "client": {"type": "Account", "id": ACCOUNT},
        "name": "Northwind - ERP rollout advisory (phase 2)",
        "currency": "EUR",
        "budget": {"amount": "210000.00", "currency": "EUR"},
        "amount": {"amount": "210000.00", "currency": "EUR"},
        "status": "won",
        "start_date": "2024-06-30",
        "expected_close_date": "2024-06-30",
        "stage": "Signed - Engagement Letter",
        "forecast_category": "Closed",
        "probability": "100.0",
        "engagement_type": "New Customer",
        "lead_source": None,
        "owner": {"type": "User", "id": "0055e000004HjKlAAK"},
    }
    assert only(_fetch(request, source)).id == event.id  # a second refetch is a duplicate


def test_a_refetch_that_finds_the_record_gone_becomes_a_tombstone(source: SourceServer) -> None:
    [request] = mapped("gap_update.json").fetches
    not_found = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    source.routes[("GET", OPPORTUNITY_PATH)] = lambda r: Response(404, not_found)
    event = only(_fetch(request, source))
    assert event.type == "pshub.engagement.deleted.v1"


def test_partial_contact_update_is_completed_from_the_rest_record(source: SourceServer) -> None:
    [request] = mapped("contact_update_partial.json").fetches
    source.routes[("GET", f"/services/data/v60.0/sobjects/Contact/{CONTACT}")] = lambda r: Response(
        200, fixture("rest_contact.json")
    )
    event = only(_fetch(request, source))
    assert event.subject == ACCOUNT
    assert event.data["contact_updates"] == [
        {
            "id": CONTACT,
            "version": f"{request.hint['sequence']}|{CONTACT}",
            "name": "Anna Schmidt",
            "email": "anna.schmidt@northwind.example",
            "phone": "+49 30 1234567",
            "role": "Chief Financial Officer",
        }
    ]


def test_contact_delete_finds_its_account_in_the_recycle_bin_and_removes_the_contact(
    source: SourceServer,
) -> None:
    [request] = mapped("contact_delete.json").fetches
    assert request.kind == "deleted_contact"
    source.routes[("GET", "/services/data/v60.0/queryAll")] = lambda r: Response(
        200,
        {
            "totalSize": 1,
            "done": True,
            "records": [{"attributes": {"type": "Contact"}, "Id": CONTACT, "AccountId": ACCOUNT}],
        },
    )
    event = only(_fetch(request, source))
    assert CONTACT in source.requests[0].query["q"][0]
    assert event.subject == ACCOUNT
    assert event.data == {
        "id": ACCOUNT,
        "contact_removals": [{"id": CONTACT, "version": f"{request.hint['sequence']}|{CONTACT}"}],
    }


def test_overflow_resync_pages_through_every_record_of_the_type(source: SourceServer) -> None:
    [request] = mapped("gap_overflow.json").fetches
    source.routes.update(
        {
            ("GET", "/services/data/v60.0/query"): lambda r: Response(
                200, fixture("rest_account_query_page1.json")
            ),
            ("GET", "/services/data/v60.0/query/01gD0000002HU6KIAW-2000"): lambda r: Response(
                200, fixture("rest_account_query_page2.json")
            ),
        }
    )
    result = _fetch(request, source, account_tax_id_field="VAT_Number__c")
    assert source.requests[0].query["q"] == ["SELECT FIELDS(STANDARD), VAT_Number__c FROM Account"]
    assert [e.subject for e in result.events] == [
        ACCOUNT,
        "0015e00000KrLbQAAV",
        "001D000000IqhSLIAZ",
    ]
    assert [e.data.get("country") for e in result.events] == ["CH", "GB", "US"]
    assert len({e.id for e in result.events}) == 3


def test_a_failing_fetch_is_retried_a_bounded_number_of_times_then_fetch_failed(
    source: SourceServer,
) -> None:
    [request] = mapped("gap_update.json").fetches
    source.routes[("GET", OPPORTUNITY_PATH)] = lambda r: Response(500, {"error": "boom"})
    with pytest.raises(AdapterError) as caught:
        _fetch(request, source)
    assert len(source.requests) == 3  # the first try and two retries
    assert caught.value.reason == "FETCH_FAILED"


def test_a_fetch_that_times_out_raises_fetch_failed(source: SourceServer) -> None:
    [request] = mapped("gap_update.json").fetches

    def slow(r: Request) -> Response:
        time.sleep(0.2)
        return Response(200, fixture("rest_opportunity.json"))

    source.routes[("GET", OPPORTUNITY_PATH)] = slow
    with pytest.raises(AdapterError) as caught:
        _fetch(request, source, timeout_seconds="0.05", retries="1")
    assert len(source.requests) == 2
    assert caught.value.reason == "FETCH_FAILED"


def test_a_fetch_without_a_base_url_raises_fetch_failed() -> None:
    [request] = mapped("gap_update.json").fetches
    with httpx.Client() as client, pytest.raises(AdapterError) as caught:
        ADAPTER.fetch(request, client=client, config=AdapterConfig(tenant=ORG))
    assert caught.value.reason == "FETCH_FAILED"
