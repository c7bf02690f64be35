"""Odoo JSON-RPC mapping and polling, over search_read results in the documented shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.odoo import ADAPTER
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

FIXTURES = Path(__file__).parents[2] / "fixtures" / "odoo"
DB = "acme-prod"
CONFIG = AdapterConfig(tenant=DB)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def mapped(payload: str | Any, config: AdapterConfig = CONFIG, **kw: Any) -> Mapped:
    """The events of the records themselves (what a project says of its partner aside)."""
    value = fixture(payload) if isinstance(payload, str) else payload
    result = ADAPTER.map_payload(body(value), config=config, **kw)
    result.events = own(result.events)
    return result


def own(events: list[ChangeEnvelope]) -> list[ChangeEnvelope]:
    return [e for e in events if not (e.sequence or "").startswith(EMBEDDED_PREFIX)]


def by_id(result: Mapped) -> dict[str, ChangeEnvelope]:
    """Events keyed by the Odoo record they came from (a contact's event is its parent's)."""
    keyed = {}
    for event in result.events:
        contacts = event.data.get("contact_updates") or event.data.get("contact_removals")
        keyed[contacts[0]["id"] if contacts else event.subject] = event
    return keyed


def records(name: str) -> list[dict[str, Any]]:
    return fixture(name)["result"]


def refusal(payload: Any, config: AdapterConfig = CONFIG, **kw: Any) -> AdapterError:
    raw = payload if isinstance(payload, bytes) else body(payload)
    with pytest.raises(AdapterError) as caught:
        ADAPTER.map_payload(raw, config=config, **kw)
    return caught.value


def test_adapter_satisfies_the_source_adapter_protocol_under_its_folder_name() -> None:
    assert isinstance(ADAPTER, SourceAdapter)
    assert ADAPTER.system == "odoo"


def test_unsigned_source_accepts_without_a_secret_and_refuses_when_one_is_configured() -> None:
    assert ADAPTER.verify_signature(b"{}", {}, CONFIG)
    assert not ADAPTER.verify_signature(b"{}", {}, AdapterConfig(signing_secret="s3cret"))


# --- res.partner -> client and contacts --------------------------------------------------------


def test_a_company_partner_maps_to_a_client() -> None:
    event = by_id(mapped("partners_result.json", event="res.partner"))["14"]
    assert event.type == "pshub.client.changed.v1"
    assert event.sourcetype == "res.partner"
    assert event.tenant == DB
    assert event.time.isoformat() == "2024-05-02T09:15:11+00:00"  # naive UTC read as UTC
    assert event.data == {
        "id": "14",
        "legal_name": "Azure Interior",
        "country": "BE",
        "tax_id": "BE0477472701",
        "status": "active",
        "phone": "+32 2 555 0142",
        "email": "azure.Interior24@example.com",
        "parent": None,  # parent_id false: a company with no parent organisation
    }


def test_false_is_an_empty_value_and_an_archived_customer_is_inactive() -> None:
    event = by_id(mapped("partners_result.json"))["15"]
    assert event.data == {
        "id": "15",
        "legal_name": "Deco Addict",
        "country": None,
        "tax_id": None,
        "status": "inactive",
        "phone": None,
        "email": None,
        "parent": None,
    }


def test_a_contact_person_becomes_a_contact_of_its_parents_client() -> None:
    result = mapped("partners_result.json")
    event = by_id(result)["26"]
    assert event.subject == "14"
    assert event.sourcetype == "res.partner"
    assert event.data == {
        "id": "14",
        "contact_updates": [
            {
                "id": "26",
                "version": event.sequence,
                "name": "Brandon Freeman",
                "email": "brandon.freeman55@example.com",
                "phone": "",
                "role": "Creative Director",
            }
        ],
    }
    company = by_id(result)["14"]
    # Same write_date as the company, yet its own sequence on the company's record.
    assert (company.sequence or "") < (event.sequence or "")


def test_an_archived_contact_leaves_its_client_and_addresses_are_not_people() -> None:
    result = mapped("partners_result.json")
    removal = by_id(result)["27"]
    assert removal.data == {
        "id": "14",
        "contact_removals": [{"id": "27", "version": removal.sequence}],
    }
    assert "33" not in by_id(result)  # the invoice address
    assert len(result.events) == 4


# --- project.project -> engagement -------------------------------------------------------------


def test_a_project_maps_to_an_engagement_with_false_dates_as_cleared() -> None:
    event = by_id(mapped("projects_result.json"))["7"]
    assert event.type == "pshub.engagement.changed.v1"
    assert event.sourcetype == "project.project"
    assert event.data == {
        "id": "7",
        "name": "Azure Interior - Office redesign",
        "client": {"type": "res.partner", "id": "14"},
        "currency": "EUR",
        "manager": {"type": "res.users", "id": "2"},
        "start_date": "2024-05-06",
        "end_date": None,
        "status": "active",
        "legal_entity": "YourCompany",
        "health": "on_track",
    }


def test_an_archived_project_is_on_hold_and_a_done_one_is_closed() -> None:
    events = by_id(mapped("projects_result.json"))
    assert events["8"].data["status"] == "on_hold"
    assert events["8"].data["manager"] is None
    assert events["9"].data["status"] == "closed"
    assert events["9"].data["client"] is None


def test_an_automation_webhook_record_names_its_model_and_reports_only_its_fields() -> None:
    [event] = mapped("webhook_project.json").events
    assert event.data == {
        "id": "7",
        "name": "Azure Interior - Office redesign (phase 2)",
        "status": "on_hold",
        "health": "on_hold",
    }


# --- project.milestone -> milestone ------------------------------------------------------------


def test_milestones_map_reached_to_delivered_and_a_false_deadline_to_none() -> None:
    events = by_id(mapped("milestones_result.json"))
    assert events["3"].type == "pshub.milestone.changed.v1"
    assert events["3"].data == {
        "id": "3",
        "name": "Design concept approved",
        "engagement": {"type": "project.project", "id": "7"},
        "due_date": "2024-06-14",
        "status": "delivered",
        "delivered_on": "2024-06-12",
    }
    assert events["4"].data["status"] == "planned"
    assert events["4"].data["due_date"] is None
    assert events["4"].data["delivered_on"] is None


# --- ordering and de-duplication ---------------------------------------------------------------


def test_a_later_write_orders_after_an_earlier_one_and_re_polls_get_the_same_id() -> None:
    [old] = mapped([records("milestones_result.json")[1]]).events
    newer = dict(records("milestones_result.json")[1], write_date="2024-06-01 10:00:01")
    [new] = mapped([newer]).events
    assert (old.sequence or "") < (new.sequence or "")
    assert old.id != new.id
    assert mapped([records("milestones_result.json")[1]]).events[0].id == old.id


def test_the_same_id_in_two_models_gets_two_message_ids() -> None:
    [project] = mapped(
        [dict(records("projects_result.json")[0], id=3, write_date="2024-06-12 15:02:44")]
    ).events
    [milestone] = mapped([records("milestones_result.json")[0]]).events
    assert project.id != milestone.id


def test_tenant_comes_from_the_configuration_else_from_the_caller() -> None:
    [event] = mapped("webhook_project.json", AdapterConfig(), tenant="acme-staging").events
    assert event.tenant == "acme-staging"


# --- refusals ----------------------------------------------------------------------------------


def test_unparseable_json_is_refused_as_malformed_with_status_400() -> None:
    error = refusal(b'{"jsonrpc": "2.0", "result": [')
    assert (error.reason, error.status) == ("MALFORMED_PAYLOAD", 400)


def test_a_record_without_its_id_is_missing_the_required_id() -> None:
    record = {k: v for k, v in records("projects_result.json")[0].items() if k != "id"}
    assert refusal([record], event="project.project").reason == "MISSING_REQUIRED_ID"


def test_an_unknown_currency_is_refused() -> None:
    record = dict(records("projects_result.json")[0], currency_id=[99, "Euro"])
    assert refusal([record]).reason == "INVALID_CURRENCY"


@pytest.mark.parametrize(
    "payload",
    [
        {"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error"}},
        {"jsonrpc": "2.0", "id": 1, "result": 42},
        [dict(records("projects_result.json")[0], date_start="06/05/2024")],
        [dict(records("projects_result.json")[0], partner_id="Azure Interior")],
        [{k: v for k, v in records("milestones_result.json")[0].items() if k != "write_date"}],
        [{"id": 5, "foo": "bar"}],
        "just a string",
    ],
)
def test_anything_else_that_does_not_fit_the_shape_is_a_schema_violation(payload: Any) -> None:
    assert refusal(payload).reason == "SCHEMA_VIOLATION"


# --- polling against JSON-RPC on loopback ------------------------------------------------------


def _holds(record: dict[str, Any], domain: list[Any]) -> bool:
    """Evaluates the prefix-notation domains polling sends (unknown fields hold)."""

    def term(at: int) -> tuple[bool, int]:
        item = domain[at]
        if item in ("|", "&"):
            left, nxt = term(at + 1)
            right, end = term(nxt)
            return (left or right) if item == "|" else (left and right), end
        field, op, value = item
        if field not in record:
            return True, at + 1
        have = record[field]
        if op == "!=":
            return have != value, at + 1
        return {">": have > value, "=": have == value, "<": have < value}[op], at + 1

    at, result = 0, True
    while at < len(domain):
        holds, at = term(at)
        result = result and holds
    return result


class FakeOdoo:
    """A JSON-RPC endpoint over an in-memory database of records per model."""

    def __init__(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.data = data
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        rpc = json.loads(request.body)
        params = rpc["params"]
        self.calls.append(params)
        if params["service"] == "common":
            result: Any = 2 if params["args"][2] == "api-key" else False
            return Response(200, {"jsonrpc": "2.0", "id": rpc["id"], "result": result})
        _db, _uid, password, model, method, positional, keywords = params["args"]
        if password != "api-key":
            return Response(
                200,
                {
                    "jsonrpc": "2.0",
                    "id": rpc["id"],
                    "error": {
                        "code": 100,
                        "message": "Odoo Session Expired",
                        "data": {"message": "Access Denied", "debug": "Traceback ..."},
                    },
                },
            )
        rows = sorted(
            (r for r in self.data.get(model, []) if _holds(r, positional[0])),
            key=lambda r: (r["write_date"], r["id"]),
        )
        if method == "search":
            return Response(
                200, {"jsonrpc": "2.0", "id": rpc["id"], "result": [r["id"] for r in rows]}
            )
        rows = rows[: keywords.get("limit") or None]
        return Response(200, {"jsonrpc": "2.0", "id": rpc["id"], "result": rows})


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
        tenant=DB,
        base_url=source.base_url,
        token="api-key",
        page_size=2,
        extra={
            "database": DB,
            "login": "hub@acme.example",
            "retries": "2",
            "backoff_seconds": "0.01",
            **extra,
        },
    )


def odoo(source: SourceServer) -> FakeOdoo:
    fake = FakeOdoo(
        {
            "res.partner": records("partners_result.json"),
            "project.project": records("projects_result.json"),
            "project.milestone": records("milestones_result.json"),
        }
    )
    source.routes[("POST", "/jsonrpc")] = fake
    return fake


def poll(source: SourceServer, cursor: str | None, **extra: str) -> Any:
    with httpx.Client(timeout=2) as client:
        return ADAPTER.poll(client=client, config=config_for(source, **extra), cursor=cursor)


def test_poll_logs_in_then_pages_each_model_by_write_date_and_id(source: SourceServer) -> None:
    fake = odoo(source)
    result = poll(source, None)
    assert fake.calls[0]["service"] == "common"
    reads = [c["args"] for c in fake.calls if c["args"][4:5] == ["search_read"]]
    assert reads[0][:4] == [DB, 2, "api-key", "res.partner"]
    assert reads[0][6]["order"] == "write_date asc, id asc"
    assert reads[0][6]["context"] == {"active_test": False}  # archived records are read too
    partner_pages = [a for a in reads if a[3] == "res.partner"]
    assert len(partner_pages) == 3  # five partners, two per page
    # The second page starts after the last (write_date, id) of the first.
    assert partner_pages[1][5][0][-5:] == [
        "|",
        ["write_date", ">", "2024-05-02 09:15:11"],
        "&",
        ["write_date", "=", "2024-05-02 09:15:11"],
        ["id", ">", 26],
    ]
    assert len(own(result.mapped.events)) == 4 + 3 + 2
    assert json.loads(result.cursor) == {
        "res.partner": ["2024-05-04 08:00:00", 15],
        "project.project": ["2024-05-06 07:32:00", 9],
        "project.milestone": ["2024-06-12 15:02:44", 3],
    }
    assert result.complete_listings[("engagement", "project.project")] == {"7", "8", "9"}


def test_poll_from_a_cursor_reads_only_later_writes(source: SourceServer) -> None:
    fake = odoo(source)
    first = poll(source, None)
    fake.data["project.project"].append(
        dict(
            records("projects_result.json")[0],
            id=10,
            name="Azure Interior - Phase 2",
            write_date="2024-07-01 08:00:00",
        )
    )
    second = poll(source, first.cursor)
    assert [e.subject for e in own(second.mapped.events)] == ["10"]
    assert json.loads(second.cursor)["project.project"] == ["2024-07-01 08:00:00", 10]
    assert second.complete_listings == {}


def test_a_configured_uid_skips_the_login(source: SourceServer) -> None:
    fake = odoo(source)
    poll(source, None, uid="2")
    assert all(c["service"] == "object" for c in fake.calls)


def test_a_json_rpc_error_is_fetch_failed_without_the_server_traceback(
    source: SourceServer,
) -> None:
    odoo(source)
    with httpx.Client(timeout=2) as client, pytest.raises(AdapterError) as caught:
        ADAPTER.poll(
            client=client,
            config=AdapterConfig(
                tenant=DB,
                base_url=source.base_url,
                token="wrong",
                extra={"database": DB, "uid": "2"},
            ),
            cursor=None,
        )
    assert caught.value.reason == "FETCH_FAILED"
    assert "Access Denied" in caught.value.message and "Traceback" not in caught.value.message


def test_a_failing_source_is_retried_a_bounded_number_of_times_then_fetch_failed(
    source: SourceServer,
) -> None:
    source.routes[("POST", "/jsonrpc")] = lambda r: Response(502, b"Bad Gateway")
    with pytest.raises(AdapterError) as caught:
        poll(source, None, uid="2")
    assert caught.value.reason == "FETCH_FAILED"
    assert len(source.requests) == 3


def test_a_source_that_times_out_raises_fetch_failed(source: SourceServer) -> None:
    def slow(r: Request) -> Response:
        time.sleep(0.2)
        return Response(200, {"jsonrpc": "2.0", "id": 1, "result": []})

    source.routes[("POST", "/jsonrpc")] = slow
    with pytest.raises(AdapterError) as caught:
        poll(source, None, uid="2", timeout_seconds="0.05", retries="1")
    assert caught.value.reason == "FETCH_FAILED"


def test_fetch_reads_one_record_and_an_unlinked_one_is_a_tombstone(source: SourceServer) -> None:
    odoo(source)
    with httpx.Client(timeout=2) as client:
        found = ADAPTER.fetch(
            FetchRequest(kind="project.project", id="8", tenant=DB),
            client=client,
            config=config_for(source, uid="2"),
        )
        gone = ADAPTER.fetch(
            FetchRequest(kind="project.project", id="99", tenant=DB),
            client=client,
            config=config_for(source, uid="2"),
        )
    assert [e.subject for e in own(found.events)] == ["8"]
    assert [e.type for e in gone.events] == ["pshub.engagement.deleted.v1"]


@pytest.mark.parametrize("record_id", ["abc", "\u00b2", "\u0663", ""])
def test_fetch_of_an_id_that_is_not_an_odoo_id_is_a_schema_violation(
    source: SourceServer, record_id: str
) -> None:
    with httpx.Client(timeout=2) as client, pytest.raises(AdapterError) as caught:
        ADAPTER.fetch(
            FetchRequest(kind="project.project", id=record_id, tenant=DB),
            client=client,
            config=config_for(source, uid="2"),
        )
    assert caught.value.reason == "SCHEMA_VIOLATION"


def test_poll_reads_timesheet_lines_of_projects_and_the_optional_modules_fields(
    source: SourceServer,
) -> None:
    fake = odoo(source)
    line = {
        "id": 501,
        "name": "Site survey",
        "date": "2024-06-03",
        "unit_amount": 3.5,
        "amount": -210.0,
        "project_id": [7, "Azure Interior"],
        "task_id": [31, "Survey"],
        "employee_id": [12, "Marc Demo"],
        "user_id": [6, "Marc Demo"],
        "currency_id": [1, "EUR"],
        "company_id": [1, "YourCompany"],
        "write_date": "2024-06-03 17:00:00",
    }
    fake.data["account.analytic.line"] = [line, dict(line, id=502, project_id=False)]
    result = poll(
        source,
        None,
        fields_project_milestone="quantity_percentage,sale_line_id",
        timesheet_validated_field="validated",
    )
    reads = {c["args"][3]: c["args"] for c in fake.calls if c["args"][4:5] == ["search_read"]}
    timesheets = reads["account.analytic.line"]
    assert timesheets[5][0] == [["project_id", "!=", False]]  # accounting lines are not time
    assert "validated" in timesheets[6]["fields"]
    assert {"quantity_percentage", "sale_line_id"} <= set(reads["project.milestone"][6]["fields"])
    [entry] = [e for e in result.mapped.events if e.type == "pshub.time_entry.changed.v1"]
    assert entry.subject == "501"
    assert json.loads(result.cursor)["account.analytic.line"] == ["2024-06-03 17:00:00", 501]
