"""The descriptive fields each adapter keeps (issue 8 part 2), over payloads written for them
from DOMAIN.md section 2: other ids, currencies, field orders, optional fields missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.harvest import ADAPTER as HARVEST
from adapters.netsuite import ADAPTER as NETSUITE
from adapters.odoo import ADAPTER as ODOO
from adapters.odoo.mapping import FIELDS, fields_of
from adapters.salesforce import ADAPTER as SALESFORCE
from hub.contracts.adapters import EMBEDDED_PREFIX, AdapterConfig, Mapped
from hub.contracts.changes import ChangeEnvelope

FIXTURES = Path(__file__).parents[2] / "fixtures"


def mapped(adapter: Any, system: str, name: str, config: AdapterConfig) -> Mapped:
    payload = json.loads((FIXTURES / system / name).read_text())
    return adapter.map_payload(json.dumps(payload).encode(), config=config)


def own(events: list[ChangeEnvelope]) -> list[ChangeEnvelope]:
    """The events of the records themselves, without what they say of records they embed."""
    return [e for e in events if not (e.sequence or "").startswith(EMBEDDED_PREFIX)]


def only(result: Mapped) -> ChangeEnvelope:
    [event] = own(result.events)
    return event


# --- Salesforce -------------------------------------------------------------------------------

SF = AdapterConfig(tenant="00D5e000000Hq2bEAC", extra={"multi_currency": "true"})


def test_salesforce_reports_the_address_lines_an_update_changed_and_the_nulled_fields() -> None:
    data = only(mapped(SALESFORCE, "salesforce", "account_update_address_lines.json", SF)).data
    # Industry is enrichment (present, not changed); the street was not touched.
    assert data == {
        "id": "0015e00000KrLaPAAV",
        "website": "https://northwind.example",
        "phone": None,
        "parent": None,
        "shipping_address": {"city": "Oakland", "region": "CA"},
    }


def test_salesforce_stage_probability_and_forecast_category_are_a_change_of_their_own() -> None:
    data = only(mapped(SALESFORCE, "salesforce", "opportunity_update_stage.json", SF)).data
    # NextStep is not kept; CurrencyIsoCode is enrichment, not a change of currency.
    assert data == {
        "id": "0065e00000BxT4mAAF",
        "stage": "Negotiation/Review",
        "probability": "75",
        "forecast_category": "Forecast",
        "lead_source": None,
    }


def test_a_salesforce_user_becomes_a_resource_and_its_deactivation_a_partial_update() -> None:
    created = only(mapped(SALESFORCE, "salesforce", "user_create.json", SF))
    assert created.type == "pshub.resource.changed.v1"
    assert created.sourcetype == "User"
    assert created.data == {
        "id": "0055e000004HjKlAAK",
        "name": "Priya Raman",
        "email": "priya.raman@firm.example",
        "role": "Engagement Manager",
        "department": "Advisory",
        "phone": None,
        "time_zone": "Asia/Kolkata",
        "status": "active",
    }
    updated = only(mapped(SALESFORCE, "salesforce", "user_update_deactivated.json", SF))
    assert updated.subject == "0055e000004HjKlAAK"  # the 15-character id, normalised
    # Email is enrichment here: only what changed (and the nulled phone) is reported.
    assert updated.data == {
        "id": "0055e000004HjKlAAK",
        "role": "Senior Engagement Manager",
        "phone": None,
        "status": "inactive",
    }


# --- NetSuite ---------------------------------------------------------------------------------

NS = AdapterConfig(tenant="TSTDRV2210")


def test_netsuite_job_billing_type_as_the_soap_enum_and_an_absent_manager_cleared() -> None:
    data = only(mapped(NETSUITE, "netsuite", "job_time_and_materials.json", NS)).data
    assert data["contract_type"] == "time_and_materials"
    assert data["billing_method"] == "timeAndMaterials"
    assert data["stage"] == "On Hold" and data["status"] == "on_hold"
    assert data["percent_complete"] == "64.0"
    assert data["manager"] is None
    # Estimates absent: reported cleared, in the job's currency when it has one.
    assert data["estimated_cost"] is None and data["expected_revenue"] is None
    assert data["engagement_type"] is None and data["calculated_end_date"] is None


@pytest.mark.parametrize(
    ("label", "model"),
    [
        ({"id": "FBI", "refName": "Fixed Bid, Interval"}, "fixed_fee"),
        ("_chargeBased", "time_and_materials"),
        ({"id": "NONE", "refName": "None"}, "non_billable"),
        ({"id": "X", "refName": "Retainer (custom)"}, None),
    ],
)
def test_netsuite_billing_types_map_to_the_commercial_model(label: Any, model: str | None) -> None:
    record = json.loads((FIXTURES / "netsuite" / "job_time_and_materials.json").read_text())
    record["jobBillingType"] = label
    result = NETSUITE.map_payload(json.dumps(record).encode(), config=NS)
    assert only(result).data["contract_type"] == model


def test_netsuite_sub_customer_names_its_parent_sales_rep_and_formatted_address() -> None:
    data = only(mapped(NETSUITE, "netsuite", "customer_subsidiary_of_parent.json", NS)).data
    assert data["parent"] == {"type": "customer", "id": "4410"}
    assert data["owner"] == {"type": "employee", "id": "77"}
    assert data["owner_name"] == "Noor Haddad"
    assert data["category"] == "Enterprise"
    assert data["website"] == "https://at.vireolabs.example"
    assert data["billing_address"] == {
        "street": "Vireo Labs Austria GmbH\nMariahilfer Strasse 88\n1070 Wien\nAustria"
    }
    assert data["email"] is None and data["phone"] is None
    assert "billing_currency" not in data  # no currency field: not reported


# --- Harvest ----------------------------------------------------------------------------------

HV = AdapterConfig(tenant="998877", default_currency="PLN")


def test_harvest_non_billable_and_hourly_projects_with_their_budgets() -> None:
    events = {
        e.subject: e
        for e in mapped(HARVEST, "harvest", "projects_page_non_billable.json", HV).events
    }
    internal = events["51002377"].data
    assert internal["contract_type"] == "non_billable"
    assert (internal["budget_by"], internal["budget_hours"]) == ("person", "120.5")
    assert internal["billing_method"] == "none"
    pmo = events["51002378"].data
    assert pmo["contract_type"] == "time_and_materials"
    assert pmo["billing_method"] == "People"
    assert pmo["hourly_rate"] == {"amount": "18000", "currency": "JPY"}  # no minor unit
    assert pmo["budget_hours"] is None and pmo["fee"] is None


def test_harvest_contractor_with_phone_and_no_default_rate() -> None:
    data = only(mapped(HARVEST, "harvest", "users_page_contractor.json", HV)).data
    assert data["employment_type"] == "contractor"
    assert data["phone"] == "+48 22 555 01 90"
    assert data["default_bill_rate"] is None
    assert data["cost_rate"] == {"amount": "85.50", "currency": "PLN"}
    assert data["weekly_capacity_hours"] is None  # not sent: unknown
    assert data["time_zone"] == "Europe/Warsaw"


# --- Odoo -------------------------------------------------------------------------------------

OD = AdapterConfig(tenant="gemini-prod")


def test_odoo_company_address_parent_company_and_salesperson() -> None:
    data = only(mapped(ODOO, "odoo", "partner_company_address.json", OD)).data
    assert data["billing_address"] == {
        "street": "317 Fairchild Dr\nBuilding B",
        "city": "Fairfield",
        "region": "California",
        "postal_code": "94535",
        "country": "US",
    }
    assert data["parent"] == {"type": "res.partner", "id": "12"}
    assert data["owner"] == {"type": "res.users", "id": "6"}
    assert data["owner_name"] == "Marc Demo"
    assert data["customer_number"] == "GEM-088"
    assert data["industry"] is None  # industry_id false: empty


def test_odoo_fixed_price_project_with_its_analytic_account_and_no_stage() -> None:
    data = only(mapped(ODOO, "odoo", "project_fixed_price.json", OD)).data
    assert data["contract_type"] == "fixed_fee"
    assert data["billing_method"] == "fixed_rate"
    assert data["analytic_account"] == "GEM - Showroom"
    assert data["stage"] is None
    assert data["health"] == "off_track"
    assert data["manager"] is None


def test_odoo_polls_optional_module_fields_only_when_configured() -> None:
    project = "project.project"
    assert "allow_billable" not in fields_of(project, OD)
    config = AdapterConfig(
        tenant="x", extra={"fields_project_project": "allow_billable, pricing_type,name"}
    )
    assert fields_of(project, config) == [*FIELDS[project], "allow_billable", "pricing_type"]
