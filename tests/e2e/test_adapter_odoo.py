"""Odoo end to end: JSON-RPC search_read results (and an automation-rule webhook) as Odoo
sends them -> POST /v1/adapters/odoo/webhook -> NATS JetStream -> ingest -> golden records.

A partner keeps no billing currency: its client is created with the currency unknown (""), for
a source that knows it to fill in. A project's manager (res.users, which the adapter does not
map) is unknown until someone makes that user a resource: the project applies without one. What
Odoo lacks altogether comes as canonical changes: the contract and the milestone's amount
(Odoo's project.milestone has no amount and there is no contract mapping).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.adapter_flow import (
    assert_malformed_json_is_refused,
    assert_wrong_scope_is_forbidden,
    by_source,
    deliver,
    native,
    native_bytes,
    record,
    wait_for,
)
from tests.support.changes import envelope
from tests.support.running import Running

DATABASE = "acme-prod"  # the Odoo database, as the adapter's tenant
PROJECT = {"type": "project.project", "id": "7"}


@pytest.fixture
def odoo(running: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    monkeypatch.setenv("PSHUB_ADAPTER_ODOO_TENANT", DATABASE)
    return running


def publish(running: Running, entity: str, data: dict[str, Any], source_type: str) -> str:
    """Publishes one canonical change from Odoo's tenant; returns the canonical id."""
    body = envelope("odoo", entity, data, tenant=DATABASE, source_type=source_type)
    running.publish_events(body)
    outcome = running.outcome(body["id"])
    assert outcome["status"] == "applied", outcome
    return str(outcome["canonical_ids"][0])


def mitchell_admin(running: Running) -> str:
    """Odoo user 2 made known as a resource (the adapter maps no res.users)."""
    return publish(
        running,
        "resource",
        {
            "id": "2",
            "name": "Mitchell Admin",
            "email": "admin@yourcompany.example",
            "role": "Project Manager",
        },
        "res.users",
    )


def test_partners_and_projects_become_a_client_with_its_contacts_and_an_engagement(
    odoo: Running,
) -> None:
    partners = deliver(odoo, "odoo", native_bytes("odoo", "partners_result.json"))
    # The invoice address (33) is not a person; the other four are mapped: the two companies
    # and the two contacts of partner 14 (changes to its client). All apply: a partner keeps
    # no billing currency, and its client is created with it unknown.
    assert len(partners) == 4
    assert {(o["source"]["id"], o["status"]) for o in partners} == {
        ("14", "applied"),
        ("15", "applied"),
    }
    [client_id] = {i for o in partners if o["source"]["id"] == "14" for i in o["canonical_ids"]}

    client = record(odoo, "odoo", "res.partner", "14")
    assert client["id"] == client_id
    assert client["legal_name"] == "Azure Interior"  # name
    assert client["country"] == "BE"  # country_code
    assert client["tax_id"] == "BE0477472701"  # vat
    assert client["billing_currency"] == ""  # unknown: a partner keeps none
    assert client["status"] == "active"
    # Brandon Freeman is a contact; Colleen Diaz is archived, so not one; false is empty.
    assert client["contacts"] == [
        {
            "name": "Brandon Freeman",
            "email": "brandon.freeman55@example.com",
            "phone": "",
            "role": "Creative Director",
        }
    ]
    deco = record(odoo, "odoo", "res.partner", "15")
    assert (deco["legal_name"], deco["country"], deco["billing_currency"], deco["status"]) == (
        "Deco Addict",
        "",  # country_code false
        "",
        "inactive",  # archived
    )

    projects = by_source(deliver(odoo, "odoo", native_bytes("odoo", "projects_result.json")))
    assert projects["7"]["status"] == "applied"

    engagement = record(odoo, "odoo", "project.project", "7")
    assert engagement["id"] == projects["7"]["canonical_ids"][0]
    assert engagement["client_id"] == client_id  # partner_id [14, "Azure Interior"]
    assert engagement["manager_id"] is None  # user_id [2, "Mitchell Admin"]: not known yet
    assert engagement["name"] == "Azure Interior - Office redesign"
    assert engagement["currency"] == "EUR"  # currency_id [1, "EUR"]
    assert engagement["status"] == "active"  # active, on track
    assert (engagement["start_date"], engagement["end_date"]) == ("2024-05-06", None)
    assert engagement["legal_entity"] == "YourCompany"  # company_id

    # Once user 2 is a resource, the project's next change names its manager.
    manager_id = mitchell_admin(odoo)
    later = native("odoo", "projects_result.json")
    later["result"] = [
        p | {"write_date": "2024-05-07 08:00:00"} for p in later["result"] if p["id"] == 7
    ]
    again, *_ = deliver(odoo, "odoo", later)  # then what it says of its partner
    assert (again["status"], again["canonical_ids"]) == ("applied", [engagement["id"]])
    engagement = record(odoo, "odoo", "project.project", "7")
    assert engagement["manager_id"] == manager_id  # user_id [2, "Mitchell Admin"]
    assert engagement["client_id"] == client_id

    # An automation rule's webhook: the project is renamed and put on hold.
    [hook] = deliver(odoo, "odoo", native_bytes("odoo", "webhook_project.json"))
    assert hook["canonical_ids"] == [engagement["id"]]
    engagement = record(odoo, "odoo", "project.project", "7")
    assert engagement["name"] == "Azure Interior - Office redesign (phase 2)"
    assert engagement["status"] == "on_hold"
    assert engagement["client_id"] == client_id
    assert engagement["manager_id"] == manager_id


def test_milestones_wait_for_their_amount_and_contract_then_apply_their_delivery(
    odoo: Running,
) -> None:
    partners = deliver(odoo, "odoo", native_bytes("odoo", "partners_result.json"))
    assert all(o["status"] == "applied" for o in partners), partners
    client_id = record(odoo, "odoo", "res.partner", "14")["id"]
    projects = by_source(deliver(odoo, "odoo", native_bytes("odoo", "projects_result.json")))
    assert projects["7"]["status"] == "applied"
    engagement_id = projects["7"]["canonical_ids"][0]

    milestones = by_source(deliver(odoo, "odoo", native_bytes("odoo", "milestones_result.json")))
    for source_id, outcome in milestones.items():
        assert (outcome["status"], outcome["reason"]) == ("parked", "UNKNOWN_AGGREGATE")
        assert "amount" in outcome["detail"]
        assert outcome["waiting_for"] == f"xref:odoo|{DATABASE}|project.milestone|{source_id}"

    contract_id = publish(
        odoo,
        "contract",
        {
            "id": "S00042",
            "engagement": PROJECT,
            "type": "fixed_fee",
            "currency": "EUR",
            "value": {"amount": "36000.00", "currency": "EUR"},
            "billing_schedule": "milestones",
            "status": "signed",
            "signed_on": "2024-05-03",
        },
        "sale.order",
    )
    milestone_id = publish(
        odoo,
        "milestone",
        {
            "id": "3",
            "engagement": PROJECT,
            "name": "Design concept approved",
            "amount": {"amount": "12000.00", "currency": "EUR"},
        },
        "project.milestone",
    )
    delivered = wait_for(odoo, milestones["3"]["message_id"], "applied")
    assert delivered["canonical_ids"] == [milestone_id]

    milestone = record(odoo, "odoo", "project.milestone", "3")
    assert milestone["id"] == milestone_id
    assert milestone["engagement_id"] == engagement_id
    assert milestone["contract_id"] == contract_id
    assert milestone["amount"] == {"amount": "12000.00", "currency": "EUR"}
    assert milestone["due_date"] == "2024-06-14"  # deadline
    assert milestone["status"] == "delivered"  # is_reached
    assert milestone["delivered_on"] == "2024-06-12"  # reached_date

    contract = odoo.api.get(f"/v1/contracts/{contract_id}", headers=odoo.auth).json()
    assert (contract["engagement_id"], contract["client_id"]) == (engagement_id, client_id)
    # Milestone 4 has no amount anywhere yet: it still waits.
    assert odoo.outcome(milestones["4"]["message_id"])["status"] == "parked"


def test_the_webhook_refuses_malformed_json_with_400_and_a_wrong_scope_with_403_publishing_nothing(
    odoo: Running,
) -> None:
    body = native_bytes("odoo", "projects_result.json")
    assert_malformed_json_is_refused(odoo, "odoo", body.rstrip()[:-1])
    assert_wrong_scope_is_forbidden(odoo, "odoo", body)
    assert odoo.xref("odoo", "project.project", "7").status_code == 404
