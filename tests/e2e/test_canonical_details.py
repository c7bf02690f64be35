"""What sources say beyond names and statuses lands on the golden record, end to end: vendor
payloads written for this test (DOMAIN.md section 2 shapes) -> webhook -> NATS JetStream ->
ingest -> golden records, with history and lineage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.adapter_flow import deliver, record
from tests.support.running import Running

ORG = "00D7Q000004ZkLmUAK"
ACCOUNT = "0017Q00000Zx9AbQAJ"
PARENT_15 = "0017Q00000Zx9Ac"  # the parent account, as a 15-character id
OPPORTUNITY = "0067Q00000Hh3KpQAJ"
OWNER = "0057Q000002WqRtQAK"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, epoch ms as CDC sends commitTimestamp


def cdc(
    entity: str,
    change: str,
    record_id: str,
    at: int,
    fields: dict[str, Any],
    *,
    changed: list[str] | None = None,
    nulled: list[str] | None = None,
) -> dict[str, Any]:
    """A CometD change event as Salesforce sends it (a fresh transaction each)."""
    header = {
        "entityName": entity,
        "recordIds": [record_id],
        "changeType": change,
        "changeOrigin": "com/salesforce/api/soap/62.0;client=SfdcInternalAPI/",
        "transactionKey": str(uuid.uuid4()),
        "sequenceNumber": 1,
        "commitTimestamp": at,
        "commitNumber": at // 1000,
        "commitUser": OWNER,
        "changedFields": changed or [],
        "nulledFields": nulled or [],
        "diffFields": [],
    }
    return {"schema": "x9", "payload": {"ChangeEventHeader": header, **fields}, "event": {}}


@pytest.fixture
def salesforce(running: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    """The hub with a multi-currency Salesforce org."""
    monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_TENANT", ORG)
    monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_MULTI_CURRENCY", "true")
    return running


def applied(outcomes: list[dict[str, Any]]) -> str:
    [outcome] = outcomes
    assert outcome["status"] == "applied", outcome
    return str(outcome["message_id"])


def history(running: Running, collection: str, record_id: str) -> list[dict[str, Any]]:
    response = running.api.get(f"/v1/{collection}/{record_id}/history", headers=running.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_opportunitys_stage_probability_and_amount_changes_are_recorded_with_lineage(
    salesforce: Running,
) -> None:
    account = cdc(
        "Account",
        "CREATE",
        ACCOUNT,
        T0,
        {
            "Name": "Bramble & Finch Ltd",
            "Industry": "Retail",
            "Type": "Customer - Channel",
            "AccountNumber": "BF-0042",
            "Website": "https://bramblefinch.example",
            "Phone": "+44 20 7946 0000",
            "ParentId": PARENT_15,
            "OwnerId": OWNER,
            "BillingAddress": {
                "Street": "4 Canal Wharf",
                "City": "Leeds",
                "State": "West Yorkshire",
                "PostalCode": "LS11 5PS",
                "Country": "United Kingdom",
                "CountryCode": "GB",
            },
            "CurrencyIsoCode": "GBP",
        },
    )
    applied(deliver(salesforce, "salesforce", account))
    client = record(salesforce, "salesforce", "Account", ACCOUNT)
    assert client["industry"] == "Retail"
    assert client["customer_number"] == "BF-0042"
    assert client["billing_address"] == {
        "street": "4 Canal Wharf",
        "city": "Leeds",
        "region": "West Yorkshire",
        "postal_code": "LS11 5PS",
        "country": "GB",
    }
    # Links are kept as the source names them (the 15-character id in its 18-character form).
    assert client["parent_ref"] == {
        "system": "salesforce",
        "tenant": ORG,
        "type": "Account",
        "id": "0017Q00000Zx9AcQAJ",
    }
    assert client["owner_ref"]["id"] == OWNER

    opportunity = cdc(
        "Opportunity",
        "CREATE",
        OPPORTUNITY,
        T0 + 60_000,
        {
            "CurrencyIsoCode": "GBP",
            "Name": "Bramble & Finch - loyalty platform",
            "AccountId": ACCOUNT,
            "StageName": "Discovery",
            "Probability": 20,
            "ForecastCategory": "Pipeline",
            "CloseDate": "2026-03-31",
            "Amount": 48000.5,
            "LeadSource": "Partner Referral",
            "IsClosed": False,
            "IsWon": False,
            "OwnerId": OWNER,
        },
    )
    applied(deliver(salesforce, "salesforce", opportunity))
    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["status"] == "pipeline"
    assert engagement["stage"] == "Discovery"
    assert engagement["canonical_stage"] == "qualified"  # from ForecastCategory Pipeline
    assert engagement["amount"] == {"amount": "48000.50", "currency": "GBP"}
    assert engagement["expected_close_date"] == "2026-03-31"

    # A stage change inside the pipeline, with its probability and forecast category.
    stage = cdc(
        "Opportunity",
        "UPDATE",
        OPPORTUNITY,
        T0 + 120_000,
        {"StageName": "Proposal/Price Quote", "Probability": 65, "ForecastCategory": "BestCase"},
        changed=["StageName", "Probability", "ForecastCategory", "LastModifiedDate"],
    )
    stage_message = applied(deliver(salesforce, "salesforce", stage))
    # Amount alone, without CurrencyIsoCode: the org has several currencies, the record one.
    amount = cdc(
        "Opportunity",
        "UPDATE",
        OPPORTUNITY,
        T0 + 180_000,
        {"Amount": 51250},
        changed=["Amount", "LastModifiedDate"],
    )
    applied(deliver(salesforce, "salesforce", amount))
    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["stage"] == "Proposal/Price Quote"
    assert engagement["probability"] in ("65", "65.0")
    assert engagement["canonical_stage"] == "proposal"
    assert engagement["amount"] == {"amount": "51250.00", "currency": "GBP"}
    assert engagement["budget"] == {"amount": "51250.00", "currency": "GBP"}

    revisions = [h for h in history(salesforce, "engagements", engagement["id"])]
    [revised] = [h for h in revisions if h["message_id"] == stage_message]
    assert revised["type"] == "Revised"
    assert set(revised["data"]["changes"]) == {
        "stage",
        "probability",
        "forecast_category",
        "canonical_stage",
    }
    lineage = salesforce.api.get(
        f"/v1/engagements/{engagement['id']}/lineage", headers=salesforce.auth
    ).json()["fields"]
    assert lineage["probability"]["message_id"] == stage_message
    assert lineage["probability"]["system"] == "salesforce"

    # Null clears: LeadSource and the amount emptied in Salesforce.
    cleared = cdc(
        "Opportunity",
        "UPDATE",
        OPPORTUNITY,
        T0 + 240_000,
        {"LeadSource": None, "Amount": None},
        nulled=["LeadSource", "Amount"],
        changed=["LastModifiedDate"],
    )
    applied(deliver(salesforce, "salesforce", cleared))
    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["lead_source"] == ""
    assert engagement["amount"] is None and engagement["budget"] is None
    assert engagement["name"] == "Bramble & Finch - loyalty platform"  # unreported: kept

    won_at = T0 + 300_000
    won = cdc(
        "Opportunity",
        "UPDATE",
        OPPORTUNITY,
        won_at,
        {"StageName": "Contract Signed", "IsClosed": True, "IsWon": True, "Probability": 100},
        changed=["StageName", "IsClosed", "IsWon", "Probability", "LastModifiedDate"],
    )
    applied(deliver(salesforce, "salesforce", won))
    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["status"] == "won"
    assert engagement["canonical_stage"] == "won"
    assert engagement["won_at"].startswith("2026-01-01T00:05:00")  # the commit time
    assert engagement["lost_at"] is None


def test_erp_and_psa_projects_carry_their_billing_model_stage_and_estimates(
    running: Running,
) -> None:
    host = "https://TSTDRV77.suitetalk.api.netsuite.com/services/rest/record/v1"
    customer = {
        "links": [{"rel": "self", "href": f"{host}/customer/311"}],
        "id": "311",
        "companyName": "Orchard Lane Health",
        "currency": {"id": "4", "refName": "CAD"},
        "salesRep": {"id": "-5", "refName": "Sam Okafor"},
        "url": "https://orchardlane.example",
        "lastModifiedDate": "2026-02-02T10:00:00Z",
    }
    job = {
        "id": "912",
        "links": [{"rel": "self", "href": f"{host}/job/912"}],
        "entityId": "OLH-912",
        "companyName": "Orchard Lane - claims analytics",
        "parent": {"id": "311", "refName": "Orchard Lane Health"},
        "entityStatus": {"id": "1", "refName": "Awarded"},
        "jobBillingType": {"id": "TM", "refName": "Time and Materials"},
        "currency": {"id": "4", "refName": "CAD"},
        "estimatedCost": 61000,
        "estimatedRevenue": 98500.75,
        "percentComplete": 0,
        "startDate": "2026-03-02",
        "lastModifiedDate": "2026-02-03T16:45:00Z",
    }
    for payload in (customer, job):
        outcome = deliver(running, "netsuite", payload)[0]  # then what it says of its customer
        assert outcome["status"] == "applied", outcome
    headers = running.token("read", "read:pii", "read:confidential")
    client = record(running, "netsuite", "customer", "311", headers)
    assert client["website"] == "https://orchardlane.example"
    assert client["owner_name"] == "Sam Okafor"
    engagement = record(running, "netsuite", "job", "912", headers)
    assert engagement["contract_type"] == "time_and_materials"
    assert engagement["stage"] == "Awarded"
    assert engagement["status"] == "won" and engagement["canonical_stage"] == "won"
    assert engagement["won_at"].startswith("2026-02-03T16:45:00")
    assert engagement["estimated_cost"] == {"amount": "61000.00", "currency": "CAD"}
    assert engagement["expected_revenue"] == {"amount": "98500.75", "currency": "CAD"}
    reader = record(running, "netsuite", "job", "912", running.token("read"))
    assert "estimated_cost" not in reader  # a cost is confidential
    assert "owner_name" not in record(running, "netsuite", "customer", "311", running.token("read"))

    harvest = {
        "clients": [
            {
                "id": 8810021,
                "name": "Kestrel Maritime AS",
                "is_active": True,
                "address": "Strandkaien 6\r\n5013 Bergen",
                "currency": "NOK",
                "updated_at": "2026-01-20T08:00:00Z",
            }
        ],
        "per_page": 2000,
        "page": 1,
    }
    projects = {
        "projects": [
            {
                "id": 40400918,
                "client": {"id": 8810021, "name": "Kestrel Maritime AS", "currency": "NOK"},
                "name": "Fleet telemetry pilot",
                "code": "KM-07",
                "is_active": True,
                "is_billable": True,
                "is_fixed_fee": True,
                "bill_by": "none",
                "budget": 320,
                "budget_by": "project",
                "fee": 450000,
                "cost_budget": None,
                "hourly_rate": None,
                "starts_on": "2026-02-01",
                "ends_on": None,
                "updated_at": "2026-01-21T12:30:00Z",
            }
        ]
    }
    for payload in (harvest, projects):
        outcome = deliver(running, "harvest", payload)[0]  # then its client's embed
        assert outcome["status"] == "applied", outcome
    project = record(running, "harvest", "Project", "40400918", headers)
    assert project["contract_type"] == "fixed_fee"
    assert project["fee"] == {"amount": "450000.00", "currency": "NOK"}
    assert project["budget_hours"] in ("320", "320.0")
    assert project["canonical_stage"] == "won"
    assert record(running, "harvest", "Client", "8810021")["billing_address"]["street"] == (
        "Strandkaien 6\n5013 Bergen"
    )

    partner = {
        "id": 501,
        "name": "Lindqvist Arkitekter AB",
        "is_company": True,
        "parent_id": False,
        "street": "Hornsgatan 44",
        "street2": False,
        "city": "Stockholm",
        "state_id": False,
        "zip": "118 21",
        "country_code": "SE",
        "website": "https://lindqvist.example",
        "industry_id": [3, "Architecture"],
        "active": True,
        "write_date": "2026-02-10 09:00:00",
    }
    odoo_project = {
        "id": 61,
        "name": "Lindqvist - studio move",
        "active": True,
        "partner_id": [501, "Lindqvist Arkitekter AB"],
        "company_id": [2, "Firm Nordics AB"],
        "currency_id": [18, "SEK"],
        "stage_id": [4, "In Progress"],
        "last_update_status": "at_risk",
        "allow_billable": False,
        "write_date": "2026-02-11 14:00:00",
    }
    for payload in (partner, odoo_project):
        outcome = deliver(running, "odoo", payload)[0]  # then its partner's embed
        assert outcome["status"] == "applied", outcome
    client = record(running, "odoo", "res.partner", "501")
    assert client["industry"] == "Architecture"
    assert client["billing_address"]["city"] == "Stockholm"
    project = record(running, "odoo", "project.project", "61")
    assert (project["stage"], project["health"]) == ("In Progress", "at_risk")
    assert project["contract_type"] == "non_billable"
    assert project["legal_entity"] == "Firm Nordics AB"
