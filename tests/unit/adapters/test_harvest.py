"""Harvest v2 mapping and polling, over list pages in the documented shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.harvest import ADAPTER
from hub.contracts.adapters import AdapterConfig, AdapterError, FetchRequest, Mapped, SourceAdapter
from hub.contracts.changes import ChangeEnvelope
from tests.support.http_source import Request, Response, SourceServer, serve

FIXTURES = Path(__file__).parents[2] / "fixtures" / "harvest"
ACCOUNT = "1121001"
CONFIG = AdapterConfig(tenant=ACCOUNT, default_currency="USD")
HARVEST = "https://api.harvestapp.com"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def mapped(page: str | dict[str, Any], config: AdapterConfig = CONFIG, **kw: Any) -> Mapped:
    payload = fixture(page) if isinstance(page, str) else page
    return ADAPTER.map_payload(body(payload), config=config, **kw)


def by_subject(result: Mapped) -> dict[str, ChangeEnvelope]:
    return {event.subject: event for event in result.events}


def refusal(payload: bytes | dict[str, Any], config: AdapterConfig = CONFIG) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config)
    return caught.value


def with_client_currency(page: dict[str, Any], currency: str = "EUR") -> dict[str, Any]:
    for entry in page["time_entries"]:
        entry["client"]["currency"] = currency
    return page


# --- the adapter as a whole -------------------------------------------------------------------


def test_adapter_satisfies_the_source_adapter_protocol_under_its_folder_name() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "harvest"


def test_unsigned_source_accepts_without_a_secret_and_refuses_when_one_is_configured() -> None:
    assert ADAPTER.verify_signature(b"{}", {}, CONFIG)
    assert not ADAPTER.verify_signature(b"{}", {}, AdapterConfig(signing_secret="s3cret"))


# --- clients, projects, users ------------------------------------------------------------------


def test_clients_page_maps_to_client_changes_with_their_currency_and_status() -> None:
    result = mapped("clients_page.json")
    events = by_subject(result)
    assert events["5735776"].type == "pshub.client.changed.v1"
    assert events["5735776"].sourcetype == "Client"
    assert events["5735776"].tenant == ACCOUNT
    assert events["5735776"].data == {
        "id": "5735776",
        "legal_name": "123 Industries",
        "billing_currency": "EUR",
        "status": "active",
        # Harvest's address is one free text: it is kept as the street lines.
        "billing_address": {"street": "123 Main St.\nAnytown, LA 71223"},
    }
    assert events["5735774"].data["status"] == "inactive"
    assert result.cursor == "2024-05-02T08:15:00Z"  # the newest updated_at on the page


def test_projects_map_to_engagements_in_their_clients_currency() -> None:
    events = by_subject(
        mapped("projects_page.json", AdapterConfig(tenant=ACCOUNT, legal_entity="ACME-DE"))
    )
    assert events["14308069"].sourcetype == "Project"
    assert events["14308069"].data == {
        "id": "14308069",
        "client": {"type": "Client", "id": "5735776"},
        "code": "OS1",
        "name": "Online Store - Phase 1",
        "status": "active",
        "start_date": "2024-04-01",
        "end_date": "2024-09-30",
        "currency": "EUR",
        "budget": {"amount": "48000.00", "currency": "EUR"},
        "legal_entity": "ACME-DE",
        "contract_type": "time_and_materials",
        "billing_method": "Project",
        "budget_by": "project_cost",
        "budget_hours": None,  # budget counts money here: cost_budget is the budget
        "fee": None,
        "hourly_rate": {"amount": "150.00", "currency": "EUR"},
    }


def test_an_archived_fixed_fee_project_is_on_hold_with_its_fee_as_budget_and_no_code() -> None:
    data = by_subject(mapped("projects_page.json"))["14307913"].data
    assert data["status"] == "on_hold"
    assert data["code"] is None
    assert data["budget"] == {"amount": "12500.00", "currency": "USD"}
    assert data["start_date"] is None and data["end_date"] is None


def test_users_map_to_resources_with_an_iana_time_zone_and_a_cost_rate() -> None:
    events = by_subject(mapped("users_page.json"))
    assert events["1782959"].type == "pshub.resource.changed.v1"
    assert events["1782959"].data == {
        "id": "1782959",
        "name": "Kim Allen",
        "email": "kimallen@example.com",
        "role": "Designer",
        "status": "active",
        "time_zone": "America/New_York",
        "cost_rate": {"amount": "50.00", "currency": "USD"},
        "phone": None,
        "employment_type": "employee",
        "weekly_capacity_hours": "35",  # 126000 seconds
        "default_bill_rate": {"amount": "100.00", "currency": "USD"},
    }
    assert events["1782884"].data["status"] == "inactive"
    assert events["1782884"].data["role"] is None
    assert events["1782884"].data["time_zone"] == "America/Denver"


def test_a_cost_rate_is_left_out_when_no_currency_is_configured() -> None:
    data = by_subject(mapped("users_page.json", AdapterConfig(tenant=ACCOUNT)))["1782959"].data
    assert "cost_rate" not in data


# --- billable rates -> rate card ---------------------------------------------------------------


def test_billable_rates_become_a_resource_default_rate_card_with_exclusive_ends() -> None:
    [event] = mapped("billable_rates_page.json").events
    assert event.type == "pshub.rate_card.changed.v1"
    assert event.sourcetype == "BillableRates"
    assert event.subject == "1782959"  # the user, named by the page's own links
    resource = {"type": "User", "id": "1782959"}
    assert event.data["currency_assumed"] is True  # Harvest rates carry no currency
    assert [line.pop("source_id") for line in event.data["lines"]] == [
        "1836493",
        "1836494",
        "1836496",
    ]
    assert event.data["lines"] == [
        {
            "resource": resource,
            "bill_rate": {"amount": "140.00", "currency": "USD"},
            "effective_from": "2024-01-01",
            "effective_to": "2024-04-01",
        },
        {
            "resource": resource,
            "bill_rate": {"amount": "150.00", "currency": "USD"},
            "effective_from": "2024-04-01",
            "effective_to": "2024-07-01",
        },
        {
            "resource": resource,
            "bill_rate": {"amount": "165.00", "currency": "USD"},
            "effective_from": "2024-07-01",
            "effective_to": None,
        },
    ]
    assert event.sequence and event.sequence.startswith("2024-06-20T13:18:10")


def test_a_rates_page_that_does_not_name_its_user_is_missing_the_required_id() -> None:
    page = fixture("billable_rates_page.json")
    page["links"] = {"first": None, "next": None, "previous": None, "last": None}
    assert refusal(page).reason == "MISSING_REQUIRED_ID"


def test_rates_without_a_configured_currency_are_refused() -> None:
    assert refusal(fixture("billable_rates_page.json"), AdapterConfig()).reason == (
        "SCHEMA_VIOLATION"
    )


# --- time entries ------------------------------------------------------------------------------


def test_time_entry_statuses_follow_is_closed_is_billed_and_is_locked() -> None:
    events = by_subject(mapped(fixture("time_entries_page1.json")))
    events |= by_subject(mapped(fixture("time_entries_page2.json")))
    assert events["2370001001"].data["status"] == "draft"  # is_closed false
    assert events["2370001002"].data["status"] == "approved"  # closed, locked for the period
    assert events["2370001003"].data["status"] == "locked"  # billed and locked
    page = fixture("time_entries_page2.json")
    page["time_entries"][0]["is_locked"] = False
    assert by_subject(mapped(page))["2370001003"].data["status"] == "billed"


def test_time_entry_maps_hours_billing_hours_rate_in_the_clients_currency_and_references() -> None:
    event = by_subject(mapped(with_client_currency(fixture("time_entries_page1.json"))))[
        "2370001001"
    ]
    assert event.type == "pshub.time_entry.changed.v1"
    assert event.sourcetype == "TimeEntry"
    assert event.data == {
        "id": "2370001001",
        "engagement": {"type": "Project", "id": "14308069"},
        "resource": {"type": "User", "id": "1782959"},
        "work_date": "2024-05-02",
        "hours": "2.11",
        "billable": True,
        "billing_hours": "2.25",
        "notes": "Checkout flow",
        "task": "Programming",
        "status": "draft",
        "is_running": False,
        "invoice": None,
        "billable_rate": {"amount": "150.00", "currency": "EUR"},
        # The cost rate carries no currency: the configured default (home) currency.
        "cost_rate": {"amount": "50.00", "currency": "USD"},
        "hours_without_timer": "2.11",
        "started_time": None,
        "ended_time": None,
        "timer_started_at": None,
        "is_locked": False,
        "locked_reason": None,
        "external_reference": None,
        "task_ref": {"type": "Task", "id": "8083366"},
        "budgeted": True,
    }


def test_a_billable_rate_is_left_out_while_the_clients_currency_is_unknown() -> None:
    event = by_subject(mapped("time_entries_page1.json"))["2370001001"]
    assert "billable_rate" not in event.data


def test_running_timer_and_non_billable_entry_map_as_such() -> None:
    data = by_subject(mapped(with_client_currency(fixture("time_entries_page2.json"))))[
        "2370001004"
    ].data
    assert data["is_running"] is True
    assert data["billable"] is False
    assert data["billable_rate"] is None
    billed = by_subject(mapped("time_entries_page2.json"))["2370001003"].data
    assert billed["invoice"] == {"type": "Invoice", "id": "13150403"}


def test_a_work_date_stays_the_calendar_date_it_was_entered_on() -> None:
    page = fixture("time_entries_page1.json")
    page["time_entries"][0]["updated_at"] = "2024-05-02T23:59:00Z"
    page["time_entries"][0]["spent_date"] = "2024-05-03"
    assert by_subject(mapped(page))["2370001001"].data["work_date"] == "2024-05-03"


def test_an_older_update_orders_before_a_newer_one() -> None:
    page = fixture("time_entries_page1.json")
    older = by_subject(mapped(page))["2370001001"]
    page["time_entries"][0]["updated_at"] = "2024-05-02T17:05:01Z"
    newer = by_subject(mapped(page))["2370001001"]
    assert (older.sequence or "") < (newer.sequence or "")
    assert older.id != newer.id


def test_a_re_polled_record_gets_the_same_message_id() -> None:
    first = [e.id for e in mapped("time_entries_page1.json").events]
    again = [e.id for e in mapped("time_entries_page1.json").events]
    assert first == again
    assert len(set(first)) == 2


def test_a_single_object_maps_when_the_event_names_its_collection() -> None:
    entry = fixture("time_entries_page1.json")["time_entries"][0]
    [event] = mapped(entry, event="time_entry").events
    assert event.subject == "2370001001"


# --- expenses and invoices ---------------------------------------------------------------------


def test_expenses_map_amount_category_receipt_status_and_invoice() -> None:
    events = by_subject(mapped("expenses_page.json"))
    assert events["15296442"].type == "pshub.expense.changed.v1"
    assert events["15296442"].data == {
        "id": "15296442",
        "engagement": {"type": "Project", "id": "14308069"},
        "resource": {"type": "User", "id": "1782959"},
        "spent_date": "2024-05-03",
        "amount": {"amount": "33.35", "currency": "EUR"},
        "category": "Meals",
        "billable": True,
        "notes": "Lunch with client",
        "status": "locked",
        "invoice": {"type": "Invoice", "id": "13150403"},
        "receipt": {
            "uri": "https://acme.harvestapp.com/expenses/15296442/receipt",
            "file_name": "lunch_receipt.gif",
            "content_type": "image/gif",
            "file_size": 39410,
        },
        "units": "1.0",
        "unit_price": None,
        "unit_name": None,
        "is_locked": True,
        "locked_reason": "Expense is invoiced.",
    }
    assert events["15296423"].data["status"] == "approved"
    assert events["15296423"].data["receipt"] is None


def test_invoices_map_lines_tax_rates_totals_and_status() -> None:
    [event, client] = mapped("invoices_page.json").events
    assert client.type == "pshub.client.changed.v1"  # the client the invoice embeds
    assert event.type == "pshub.invoice.changed.v1"
    data = event.data
    assert data["status"] == "issued"
    assert data["engagement"] == {"type": "Project", "id": "14308069"}
    assert data["total"] == {"amount": "628.41", "currency": "EUR"}
    assert data["amount_paid"] == {"amount": "500.00", "currency": "EUR"}
    assert data["lines"][0] == {
        "description": "Programming: Importing products (04/30/2024)",
        "quantity": "3.5",
        "unit_price": "140.0",
        "tax_rate": "0.1",
        "net": {"amount": "490.00", "currency": "EUR"},
        "source_line_id": "53341602",
        "item_code": "Service",
    }
    assert data["lines"][1]["description"] == "Product"  # Harvest allows an empty description


@pytest.mark.parametrize(
    ("state", "status"), [("draft", "draft"), ("paid", "paid"), ("closed", "void")]
)
def test_invoice_states_map_to_canonical_statuses(state: str, status: str) -> None:
    page = fixture("invoices_page.json")
    page["invoices"][0]["state"] = state
    assert mapped(page).events[0].data["status"] == status


# --- refusals ----------------------------------------------------------------------------------


def test_unparseable_json_is_refused_as_malformed_with_status_400() -> None:
    error = refusal(b'{"time_entries": [')
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_a_record_without_its_id_is_missing_the_required_id() -> None:
    page = fixture("time_entries_page1.json")
    del page["time_entries"][0]["id"]
    assert refusal(page).reason == "MISSING_REQUIRED_ID"
    page = fixture("time_entries_page1.json")
    page["time_entries"][0]["project"]["id"] = None
    assert refusal(page).reason == "MISSING_REQUIRED_ID"


def test_an_unknown_currency_is_refused() -> None:
    page = fixture("expenses_page.json")
    page["expenses"][0]["client"]["currency"] = "EURO"
    assert refusal(page).reason == "INVALID_CURRENCY"


def test_negative_hours_and_amounts_are_refused() -> None:
    page = fixture("time_entries_page1.json")
    page["time_entries"][0]["hours"] = -1.5
    assert refusal(page).reason == "NEGATIVE_QUANTITY"
    page = fixture("expenses_page.json")
    page["expenses"][0]["total_cost"] = -33.35
    assert refusal(page).reason == "NEGATIVE_QUANTITY"


@pytest.mark.parametrize(
    "page",
    [
        {"per_page": 100, "links": {}},
        {"time_entries": [], "expenses": []},
        {"time_entries": "not a list"},
        {"invoices": [dict(fixture("invoices_page.json")["invoices"][0], state="sent")]},
        {
            "time_entries": [
                dict(fixture("time_entries_page1.json")["time_entries"][0], hours="two")
            ]
        },
        ["not", "a", "page"],
    ],
)
def test_anything_else_that_does_not_fit_the_shape_is_a_schema_violation(page: Any) -> None:
    assert refusal(body(page)).reason == "SCHEMA_VIOLATION"


# --- polling against a Harvest API on loopback -------------------------------------------------


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


def config_for(source: SourceServer, **extra: str) -> AdapterConfig:
    return AdapterConfig(
        tenant=ACCOUNT,
        base_url=source.base_url,
        token="pat-secret",
        default_currency="USD",
        page_size=5000,
        extra={"retries": "2", "backoff_seconds": "0.01", **extra},
    )


def here(source: SourceServer, name: str) -> dict[str, Any]:
    """A fixture page whose links point at the loopback server instead of Harvest."""
    return json.loads((FIXTURES / name).read_text().replace(HARVEST, source.base_url))


def empty(collection: str) -> Response:
    return Response(
        200,
        {
            collection: [],
            "per_page": 2000,
            "total_pages": 1,
            "page": 1,
            "links": {"first": None, "next": None, "previous": None, "last": None},
        },
    )


def serve_account(source: SourceServer) -> None:
    def time_entries(r: Request) -> Response:
        page = r.query.get("page", ["1"])[0]
        return Response(200, here(source, f"time_entries_page{page}.json"))

    source.routes.update(
        {
            ("GET", "/v2/clients"): lambda r: Response(200, here(source, "clients_page.json")),
            ("GET", "/v2/projects"): lambda r: Response(200, here(source, "projects_page.json")),
            ("GET", "/v2/users"): lambda r: Response(200, here(source, "users_page.json")),
            ("GET", "/v2/time_entries"): time_entries,
            ("GET", "/v2/expenses"): lambda r: Response(200, here(source, "expenses_page.json")),
            ("GET", "/v2/invoices"): lambda r: Response(200, here(source, "invoices_page.json")),
            ("GET", "/v2/users/1782959/billable_rates"): lambda r: Response(
                200, here(source, "billable_rates_page.json")
            ),
            ("GET", "/v2/users/1782884/billable_rates"): lambda r: empty("billable_rates"),
        }
    )


def poll(source: SourceServer, cursor: str | None, **extra: str) -> Any:
    with httpx.Client(timeout=2) as client:
        return ADAPTER.poll(client=client, config=config_for(source, **extra), cursor=cursor)


def test_poll_pages_through_links_next_with_updated_since_and_returns_the_newest_cursor(
    source: SourceServer,
) -> None:
    serve_account(source)
    result = poll(source, "2024-05-01T00:05:00Z", overlap_seconds="300")
    listed = [r for r in source.requests if r.path == "/v2/time_entries"]
    assert [r.query.get("page") for r in listed] == [None, ["2"]]  # page 2 via links.next
    assert listed[0].query["updated_since"] == ["2024-05-01T00:00:00Z"]  # minus the overlap
    assert listed[0].query["per_page"] == ["2000"]  # capped at Harvest's maximum
    assert listed[0].headers["Authorization"] == "Bearer pat-secret"
    assert listed[0].headers["Harvest-Account-Id"] == ACCOUNT
    assert "User-Agent" in listed[0].headers
    assert result.cursor == "2024-05-10T12:00:00Z"
    kinds = [e.entity for e in result.mapped.events]
    assert kinds.count("time_entry") == 4 and kinds.count("rate_card") == 1
    # Time entries name only the client: its currency came from the clients page.
    entry = next(e for e in result.mapped.events if e.subject == "2370001001")
    assert entry.data["billable_rate"] == {"amount": "150.00", "currency": "EUR"}
    assert result.complete_listings == {}


def test_poll_without_a_cursor_lists_everything(source: SourceServer) -> None:
    serve_account(source)
    poll(source, None)
    first_pages = [r for r in source.requests if "page" not in r.query]  # not links.next
    assert first_pages and all("updated_since" not in r.query for r in first_pages)


def test_poll_reads_an_unknown_clients_currency_for_its_time_entries(
    source: SourceServer,
) -> None:
    serve_account(source)
    source.routes[("GET", "/v2/clients")] = lambda r: empty("clients")
    source.routes[("GET", "/v2/projects")] = lambda r: empty("projects")
    source.routes[("GET", "/v2/clients/5735776")] = lambda r: Response(
        200, fixture("clients_page.json")["clients"][0]
    )
    result = poll(source, "2024-05-02T00:00:00Z")
    entry = next(e for e in result.mapped.events if e.subject == "2370001002")
    assert entry.data["billable_rate"] == {"amount": "150.00", "currency": "EUR"}
    assert [r.path for r in source.requests].count("/v2/clients/5735776") == 1


def test_a_reconciliation_window_reports_complete_listings_for_the_hub_to_tombstone(
    source: SourceServer,
) -> None:
    serve_account(source)
    result = poll(
        source, "2024-05-02T00:00:00Z", reconcile_from="2024-04-01", reconcile_to="2024-05-31"
    )
    windowed = [r for r in source.requests if r.path == "/v2/time_entries" and "from" in r.query]
    assert windowed[0].query["from"] == ["2024-04-01"] and windowed[0].query["to"] == ["2024-05-31"]
    assert "updated_since" not in windowed[0].query
    listings = result.complete_listings
    assert listings[("time_entry", "TimeEntry")] == {
        "2370001001",
        "2370001002",
        "2370001003",
        "2370001004",
    }
    assert listings[("client", "Client")] == {"5735776", "5735774"}
    assert listings[("expense", "Expense")] == {"15296442", "15296423"}
    assert listings[("invoice", "Invoice")] == {"13150403"}
    assert ("resource", "User") in listings and ("engagement", "Project") in listings


def test_a_next_link_to_another_host_is_not_followed(source: SourceServer) -> None:
    serve_account(source)
    source.routes[("GET", "/v2/time_entries")] = lambda r: Response(
        200, fixture("time_entries_page1.json")
    )  # links still point at api.harvestapp.com
    with pytest.raises(AdapterError) as caught:
        poll(source, None)
    assert caught.value.reason == "FETCH_FAILED"


def test_a_failing_source_is_retried_a_bounded_number_of_times_then_fetch_failed(
    source: SourceServer,
) -> None:
    source.routes[("GET", "/v2/clients")] = lambda r: Response(500, {"error": "boom"})
    with pytest.raises(AdapterError) as caught:
        poll(source, None)
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 3


def test_a_source_that_times_out_raises_fetch_failed(source: SourceServer) -> None:
    def slow(r: Request) -> Response:
        time.sleep(0.2)
        return empty("clients")

    source.routes[("GET", "/v2/clients")] = slow
    with pytest.raises(AdapterError) as caught:
        poll(source, None, timeout_seconds="0.05", retries="1")
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 2


def test_rate_limiting_is_retried_after_the_advertised_delay(source: SourceServer) -> None:
    serve_account(source)
    calls: list[int] = []

    def limited(r: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response(429, {"message": "Too many requests"}, {"Retry-After": "0"})
        return Response(200, here(source, "clients_page.json"))

    source.routes[("GET", "/v2/clients")] = limited
    result = poll(source, "2024-05-02T00:00:00Z")
    assert len(calls) == 2
    assert any(e.entity == "client" for e in result.mapped.events)


def test_fetch_reads_one_record_and_maps_it(source: SourceServer) -> None:
    source.routes[("GET", "/v2/expenses/15296442")] = lambda r: Response(
        200, fixture("expenses_page.json")["expenses"][0]
    )
    with httpx.Client(timeout=2) as client:
        result = ADAPTER.fetch(
            FetchRequest(kind="expense", id="15296442", tenant=ACCOUNT),
            client=client,
            config=config_for(source),
        )
    assert [e.subject for e in result.events] == ["15296442"]


@pytest.mark.parametrize(
    ("kind", "record_id"),
    [("expense", "abc"), ("expense", "\u00b2"), ("billable_rates", "x1"), ("nothing", "1")],
)
def test_fetch_of_an_id_that_is_not_a_harvest_id_is_a_schema_violation_before_any_request(
    source: SourceServer, kind: str, record_id: str
) -> None:
    with httpx.Client(timeout=2) as client, pytest.raises(AdapterError) as caught:
        ADAPTER.fetch(
            FetchRequest(kind=kind, id=record_id, tenant=ACCOUNT),
            client=client,
            config=config_for(source),
        )
    assert caught.value.reason == "SCHEMA_VIOLATION"
    assert source.requests == []


# --- embedded clients ----------------------------------------------------------------------------


def test_a_project_sends_the_client_it_embeds_after_itself_ranked_below_the_client() -> None:
    # As GET /v2/projects returns it: the client is embedded with its name and currency.
    page = {
        "projects": [
            {
                "id": 4412093,
                "name": "Treasury platform review",
                "code": "TPR-01",
                "is_active": True,
                "is_billable": True,
                "is_fixed_fee": False,
                "bill_by": "People",
                "budget": None,
                "budget_by": "none",
                "client": {"id": 9910344, "name": "Banco Austral S.A.", "currency": "CLP"},
                "starts_on": "2026-10-01",
                "ends_on": None,
                "created_at": "2026-09-20T08:11:02Z",
                "updated_at": "2026-11-02T16:40:55Z",
            }
        ],
        "per_page": 2000,
        "total_pages": 1,
        "total_entries": 1,
        "next_page": None,
        "previous_page": None,
        "page": 1,
        "links": {"first": "https://api.harvestapp.com/v2/projects?page=1&per_page=2000"},
    }
    project, client = mapped(page).events
    assert (client.type, client.sourcetype, client.subject) == (
        "pshub.client.changed.v1",
        "Client",
        "9910344",
    )
    assert client.data == {
        "id": "9910344",
        "legal_name": "Banco Austral S.A.",
        "billing_currency": "CLP",
    }
    # Below any change of the client itself (Harvest orders a client by its updated_at).
    own = mapped(
        {
            "clients": [
                {
                    "id": 9910344,
                    "name": "Banco Austral S.A.",
                    "is_active": True,
                    "currency": "CLP",
                    "created_at": "2026-09-20T08:00:00Z",
                    "updated_at": "2001-01-01T00:00:00Z",
                }
            ]
        }
    ).events[0]
    assert client.sequence < own.sequence
    assert client.id != own.id
    assert project.data["client"] == {"type": "Client", "id": "9910344"}
    assert project.data["currency"] == "CLP"


def test_an_embedded_client_without_a_name_is_not_sent() -> None:
    page = fixture("projects_page.json")
    for project in page["projects"]:
        project["client"]["name"] = None
    assert {e.type for e in mapped(page).events} == {"pshub.engagement.changed.v1"}
