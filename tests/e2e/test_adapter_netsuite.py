"""NetSuite end to end: REST records as NetSuite returns them -> POST
/v1/adapters/netsuite/webhook -> NATS JetStream -> ingest -> golden records and xrefs, and a
job that names a Salesforce opportunity landing on that opportunity's engagement."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.adapter_flow import (
    assert_malformed_json_is_refused,
    assert_wrong_scope_is_forbidden,
    deliver,
    native,
    native_bytes,
    record,
)
from tests.support.changes import envelope
from tests.support.running import Running

ACCOUNT = "1234567"  # from the records' own links (1234567.suitetalk.api.netsuite.com)
ORG = "00D5e000000Hq2bEAC"
OPPORTUNITY = "0065e00000BxT4mAAF"
ACCOUNT_OF_OPPORTUNITY = "0015e00000KrLaPAAV"  # the opportunity's AccountId


@pytest.fixture
def netsuite(running: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    """The hub with NetSuite, and the Salesforce org its jobs' external ids point into."""
    monkeypatch.setenv("PSHUB_ADAPTER_NETSUITE_SALESFORCE_TENANT", ORG)
    monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_TENANT", ORG)
    return running


def one(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """The outcome of the record itself (what a job says of its customer comes after it)."""
    outcome, *embedded = outcomes
    assert all(o["source"]["type"] == "customer" for o in embedded), embedded
    return outcome


def test_a_customer_and_its_job_become_a_client_and_its_engagement(netsuite: Running) -> None:
    # A customer record keeps no country: the client is created with it unknown ("").
    customer = one(deliver(netsuite, "netsuite", native_bytes("netsuite", "customer.json")))
    assert customer["status"] == "applied", customer
    [client_id] = customer["canonical_ids"]

    client = record(netsuite, "netsuite", "customer", "1081")
    assert client["id"] == client_id
    assert client["legal_name"] == "Fabrikam Inc."  # companyName
    assert client["country"] == ""  # unknown: NetSuite's customer record keeps none
    assert client["tax_id"] == "US-94-1234567"  # vatRegNumber
    assert client["billing_currency"] == "USD"  # the currency reference's refName
    assert client["status"] == "active"
    assert client["xrefs"] == [
        {"system": "netsuite", "tenant": ACCOUNT, "type": "customer", "id": "1081"}
    ]

    # The job names its project manager, an employee no adapter maps: unknown, the job
    # applies all the same, without a manager.
    job = one(deliver(netsuite, "netsuite", native_bytes("netsuite", "job.json")))
    assert job["status"] == "applied", job

    engagement = record(netsuite, "netsuite", "job", "2044")
    assert engagement["id"] == job["canonical_ids"][0]
    assert engagement["client_id"] == client_id  # parent: the customer
    assert engagement["manager_id"] is None  # employee 318 is not known
    assert engagement["code"] == "PRJ-2044"  # entityId
    assert engagement["name"] == "Fabrikam - Finance transformation"
    assert engagement["status"] == "active"  # entityStatus "In Progress"
    assert engagement["currency"] == "USD"
    assert engagement["budget"] == {"amount": "210000.00", "currency": "USD"}
    assert (engagement["start_date"], engagement["end_date"]) == ("2024-06-03", "2024-12-20")
    assert engagement["legal_entity"] == "Honeycomb Consulting Inc."  # the subsidiary
    assert engagement["xrefs"] == [
        {"system": "netsuite", "tenant": ACCOUNT, "type": "job", "id": "2044"}
    ]

    # Once the employee is known as a resource, the job's next change names its manager.
    manager = envelope(
        "netsuite",
        "resource",
        {
            "id": "318",
            "name": "Jordan Lee",
            "email": "jordan.lee@honeycomb.example",
            "role": "Engagement Manager",
        },
        tenant=ACCOUNT,
        source_type="employee",
    )
    netsuite.publish_events(manager)
    known = netsuite.outcome(manager["id"])
    assert known["status"] == "applied", known
    [manager_id] = known["canonical_ids"]

    later = native("netsuite", "job.json") | {"lastModifiedDate": "2024-06-10T10:00:00Z"}
    again = one(deliver(netsuite, "netsuite", later))
    assert (again["status"], again["canonical_ids"]) == ("applied", [engagement["id"]])
    engagement = record(netsuite, "netsuite", "job", "2044")
    assert engagement["manager_id"] == manager_id  # projectManager
    assert engagement["client_id"] == client_id


def test_a_job_whose_external_id_names_an_ingested_opportunity_lands_on_the_same_engagement(
    netsuite: Running,
) -> None:
    [client_id] = one(
        deliver(netsuite, "salesforce", native_bytes("salesforce", "account_create.json"))
    )["canonical_ids"]
    [engagement_id] = one(
        deliver(netsuite, "salesforce", native_bytes("salesforce", "opportunity_create.json"))
    )["canonical_ids"]

    # The job's parent must resolve: the customer comes first. The fixture's customer is
    # Fabrikam (its externalId is not the account's id), so here it is Northwind's, naming
    # the Salesforce account in its externalId as the job names the opportunity.
    customer = native("netsuite", "customer.json")
    customer.update(
        companyName="Northwind Traders GmbH",
        vatRegNumber="DE811907980",
        externalId=ACCOUNT_OF_OPPORTUNITY,
        currency={**customer["currency"], "id": "4", "refName": "EUR"},
    )
    assert one(deliver(netsuite, "netsuite", customer))["status"] == "applied"

    # The job's externalId holds the opportunity's 15-character id; the project is booked
    # in the opportunity's currency.
    job = native("netsuite", "job.json")
    assert job["externalId"] == OPPORTUNITY[:15]
    assert job["parent"]["id"] == customer["id"]
    job["currency"] = {**job["currency"], "id": "4", "refName": "EUR"}
    outcome = one(deliver(netsuite, "netsuite", job))
    assert outcome["status"] == "applied", outcome
    assert outcome["canonical_ids"] == [engagement_id]  # no second engagement

    from_netsuite = record(netsuite, "netsuite", "job", "2044")
    from_salesforce = record(netsuite, "salesforce", "Opportunity", OPPORTUNITY)
    assert from_netsuite == from_salesforce
    assert from_netsuite["id"] == engagement_id
    assert from_netsuite["xrefs"] == [
        {"system": "salesforce", "tenant": ORG, "type": "Opportunity", "id": OPPORTUNITY},
        {"system": "netsuite", "tenant": ACCOUNT, "type": "job", "id": "2044"},
    ]
    assert from_netsuite["client_id"] == client_id
    # Survivorship: the ERP's budget and status win over the CRM's; the CRM keeps the name.
    assert from_netsuite["budget"] == {"amount": "210000.00", "currency": "EUR"}
    assert from_netsuite["status"] == "active"
    assert from_netsuite["name"] == "Northwind - ERP rollout advisory"


def test_the_webhook_refuses_malformed_json_with_400_and_a_wrong_scope_with_403_publishing_nothing(
    netsuite: Running,
) -> None:
    body = native_bytes("netsuite", "job.json")
    assert_malformed_json_is_refused(netsuite, "netsuite", body.replace(b'"id"', b"id", 1))
    assert_wrong_scope_is_forbidden(netsuite, "netsuite", body)
    assert netsuite.xref("netsuite", "job", "2044").status_code == 404
