"""Odoo: timesheet lines (account.analytic.line with a project) as time entries with their
cost, and milestones' share of their sale line (records written from DOMAIN.md 2.6:
many2one as [id, "name"], empty values as false, naive UTC datetimes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.odoo import ADAPTER
from hub.contracts.adapters import AdapterConfig, AdapterError

DB = "northwind-erp"


def rpc(*records: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 7, "result": list(records)}).encode()


def mapped(payload: bytes, **extra: str) -> list[Any]:
    config = AdapterConfig(tenant=DB, extra=extra)
    return ADAPTER.map_payload(payload, config=config, event="account.analytic.line").events


def line(**changes: Any) -> dict[str, Any]:
    record = {
        "write_date": "2026-03-10 16:20:05",
        "id": 88012,
        "date": "2026-03-10",
        "unit_amount": 6.0,
        "amount": -312.0,
        "name": "Stakeholder interviews",
        "project_id": [41, "ERP rollout - Lyon"],
        "task_id": [907, "Discovery"],
        "employee_id": [53, "Camille Martin"],
        "user_id": [19, "Camille Martin"],
        "currency_id": [1, "EUR"],
        "company_id": [1, "Northwind France SAS"],
    }
    record.update(changes)
    return record


def test_a_timesheet_line_is_a_time_entry_with_its_cost_and_task() -> None:
    [event] = mapped(rpc(line()))
    assert (event.type, event.sourcetype, event.subject) == (
        "pshub.time_entry.changed.v1",
        "account.analytic.line",
        "88012",
    )
    data = event.data
    assert data["engagement"] == {"type": "project.project", "id": "41"}
    assert data["resource"] == {"type": "hr.employee", "id": "53"}
    assert (data["work_date"], data["hours"]) == ("2026-03-10", "6.0")
    # Odoo books the cost as a negative amount; the hub keeps what it cost.
    assert data["cost"] == {"amount": "312.00", "currency": "EUR"}
    assert (data["task"], data["task_ref"]) == ("Discovery", {"type": "project.task", "id": "907"})
    assert data["notes"] == "Stakeholder interviews"
    assert "status" not in data  # approval lives in an Enterprise module not configured


def test_the_default_description_is_no_note_and_false_values_clear() -> None:
    [event] = mapped(rpc(line(name="/", task_id=False)))
    assert event.data["notes"] is None
    assert (event.data["task"], event.data["task_ref"]) == (None, None)


def test_a_validated_field_configured_gives_the_approval() -> None:
    [event] = mapped(rpc(line(validated=True)), timesheet_validated_field="validated")
    assert event.data["status"] == "approved"


def test_an_analytic_line_without_a_project_is_not_time() -> None:
    result = ADAPTER.map_payload(
        rpc(line(project_id=False)), config=AdapterConfig(tenant=DB), event="account.analytic.line"
    )
    assert result.events == []
    assert "not a timesheet" in (result.ignored or "")


def test_a_timesheet_line_is_recognised_by_its_fields() -> None:
    result = ADAPTER.map_payload(rpc(line()), config=AdapterConfig(tenant=DB))
    assert [e.type for e in result.events] == ["pshub.time_entry.changed.v1"]


def test_a_positive_amount_would_be_a_negative_cost_and_is_refused() -> None:
    with pytest.raises(AdapterError) as refused:
        mapped(rpc(line(amount=40.0)))
    assert refused.value.reason == "NEGATIVE_QUANTITY"


def test_negative_hours_are_refused() -> None:
    with pytest.raises(AdapterError) as refused:
        mapped(rpc(line(unit_amount=-2.0)))
    assert refused.value.reason == "NEGATIVE_QUANTITY"


def test_a_milestone_keeps_its_share_and_sale_line() -> None:
    milestone = {
        "id": 12,
        "name": "Go-live",
        "project_id": [41, "ERP rollout - Lyon"],
        "deadline": "2026-06-30",
        "is_reached": False,
        "reached_date": False,
        "quantity_percentage": 0.4,
        "sale_line_id": [2201, "S00042 - ERP rollout"],
        "write_date": "2026-03-01 08:00:00",
    }
    [event] = ADAPTER.map_payload(rpc(milestone), config=AdapterConfig(tenant=DB)).events
    assert event.data["share"] == "0.4"
    assert event.data["sale_line"] == {"type": "sale.order.line", "id": "2201"}
