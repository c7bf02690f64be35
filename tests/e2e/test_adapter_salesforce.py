"""Salesforce end to end: CometD change events as Salesforce sends them -> POST
/v1/adapters/salesforce/webhook -> NATS JetStream -> ingest -> golden records and xrefs."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.support.http_source import Response, SourceServer, serve
from tests.support.running import Running

ORG = "00D5e000000Hq2bEAC"
ACCOUNT = "0015e00000KrLaPAAV"
OPPORTUNITY = "0065e00000BxT4mAAF"
CONTACT = "0035e00000Lq8ZrAAJ"
REST = "/services/data/v60.0/sobjects"


@pytest.fixture
def salesforce(running: Running, monkeypatch: pytest.MonkeyPatch) -> Running:
    """The hub with its Salesforce adapter set up for one org."""
    for name, value in {
        "TENANT": ORG,
        "ACCOUNT_TAX_ID_FIELD": "VAT_Number__c",
        "RETRIES": "1",
        "BACKOFF_SECONDS": "0.01",
    }.items():
        monkeypatch.setenv(f"PSHUB_ADAPTER_SALESFORCE_{name}", value)
    return running


@pytest.fixture
def org_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[SourceServer]:
    """Salesforce's REST API on loopback, serving the records the fixtures hold."""
    routes = {
        ("GET", f"{REST}/Opportunity/{OPPORTUNITY}"): lambda r: Response(
            200, native("salesforce", "rest_opportunity.json")
        ),
        ("GET", f"{REST}/Contact/{CONTACT}"): lambda r: Response(
            200, native("salesforce", "rest_contact.json")
        ),
    }
    with serve(routes) as server:
        monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_BASE_URL", server.base_url)
        monkeypatch.setenv("PSHUB_ADAPTER_SALESFORCE_TOKEN", "00D-session-token")
        yield server


def applied(outcomes: list[dict[str, Any]]) -> list[str]:
    """The one canonical id a single applied change touched."""
    [outcome] = outcomes
    assert outcome["status"] == "applied", outcome
    return outcome["canonical_ids"]


def won_at_creation() -> dict[str, Any]:
    """An Opportunity created already won (CREATE carries every non-empty field)."""
    event = native("salesforce", "opportunity_create.json")
    event["payload"].update(
        StageName="Signed - Engagement Letter",
        IsClosed=True,
        IsWon=True,
        Probability=100.0,
        ForecastCategory="Closed",
        ForecastCategoryName="Closed",
    )
    return event


def test_an_account_and_a_won_opportunity_become_a_client_and_its_engagement(
    salesforce: Running,
) -> None:
    [account] = deliver(salesforce, "salesforce", native_bytes("salesforce", "account_create.json"))
    assert account["status"] == "applied"
    assert account["entity"] == "client"
    assert account["source"] == {
        "system": "salesforce",
        "tenant": ORG,
        "type": "Account",
        "id": ACCOUNT,
    }
    [client_id] = account["canonical_ids"]
    [engagement_id] = applied(deliver(salesforce, "salesforce", won_at_creation()))

    client = record(salesforce, "salesforce", "Account", ACCOUNT)
    assert client["id"] == client_id
    assert client["legal_name"] == "Northwind Traders GmbH"
    assert client["country"] == "DE"  # BillingAddress.CountryCode, not the country's name
    assert client["billing_currency"] == "EUR"
    assert client["tax_id"] == "DE811907980"  # the configured VAT_Number__c field
    assert client["status"] == "active"
    assert client["xrefs"] == [
        {"system": "salesforce", "tenant": ORG, "type": "Account", "id": ACCOUNT}
    ]

    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["id"] == engagement_id
    assert engagement["client_id"] == client_id
    assert engagement["name"] == "Northwind - ERP rollout advisory"
    assert engagement["status"] == "won"  # from IsWon, whatever the stage is called
    assert engagement["currency"] == "EUR"
    assert engagement["budget"] == {"amount": "185000.00", "currency": "EUR"}
    assert engagement["start_date"] == "2024-06-30"
    assert engagement["xrefs"] == [
        {"system": "salesforce", "tenant": ORG, "type": "Opportunity", "id": OPPORTUNITY}
    ]
    by_id = salesforce.api.get(f"/v1/engagements/{engagement_id}", headers=salesforce.auth)
    assert by_id.json() == engagement


def test_updates_change_only_the_fields_they_name_renaming_the_client_and_winning_the_deal(
    salesforce: Running,
) -> None:
    [client_id] = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "account_create.json"))
    )
    [engagement_id] = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "opportunity_create.json"))
    )
    assert record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)["status"] == "pipeline"

    renamed = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "account_update.json"))
    )
    won = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "opportunity_update_won.json"))
    )
    assert (renamed, won) == ([client_id], [engagement_id])

    client = record(salesforce, "salesforce", "Account", ACCOUNT)
    assert client["legal_name"] == "Northwind Traders AG"
    assert client["country"] == "CH"
    assert client["tax_id"] == ""  # VAT_Number__c is in nulledFields
    # CurrencyIsoCode CHF rides along as enrichment, not in changedFields: not a change.
    assert client["billing_currency"] == "EUR"
    assert client["version"] > 1

    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["status"] == "won"
    assert engagement["budget"] == {"amount": "192500.00", "currency": "EUR"}
    assert engagement["name"] == "Northwind - ERP rollout advisory"  # not in changedFields
    assert engagement["client_id"] == client_id


def test_a_delete_tombstones_the_client_and_its_record_answers_410_with_the_last_state(
    salesforce: Running,
) -> None:
    [client_id] = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "account_create.json"))
    )
    deleted = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "account_delete.json"))
    )
    assert deleted == [client_id]

    for response in (
        salesforce.xref("salesforce", "Account", ACCOUNT),
        salesforce.api.get(f"/v1/clients/{client_id}", headers=salesforce.auth),
    ):
        assert response.status_code == 410, response.text
        assert response.headers["content-type"] == "application/problem+json"
        last = response.json()["record"]
        assert last["id"] == client_id
        assert last["deleted"] is True
        assert last["legal_name"] == "Northwind Traders GmbH"
        assert last["country"] == "DE"


def test_contact_changes_merge_into_the_clients_contacts_seen_only_with_read_pii(
    salesforce: Running,
) -> None:
    [client_id] = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "account_create.json"))
    )
    assert record(salesforce, "salesforce", "Account", ACCOUNT)["contacts"] == []

    # A Contact change lands on its Account's client.
    contact = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "contact_create.json"))
    )
    assert contact == [client_id]
    assert record(salesforce, "salesforce", "Account", ACCOUNT)["contacts"] == [
        {
            "name": "Anna Schmidt",
            "email": "anna.schmidt@northwind.example",
            "phone": "+49 30 1234567",
            "role": "CFO",
        }
    ]
    without_pii = record(salesforce, "salesforce", "Account", ACCOUNT, salesforce.token("read"))
    assert "contacts" not in without_pii
    assert without_pii["legal_name"] == "Northwind Traders GmbH"

    # An UPDATE nulling Phone, with the rest of the contact as enrichment: rebuilt whole.
    update = applied(
        deliver(
            salesforce, "salesforce", native_bytes("salesforce", "contact_update_enriched.json")
        )
    )
    assert update == [client_id]
    assert record(salesforce, "salesforce", "Account", ACCOUNT)["contacts"] == [
        {
            "name": "Anna Schmidt",
            "email": "anna.schmidt@northwind.example",
            "phone": "",
            "role": "Chief Financial Officer",
        }
    ]


def test_a_gap_event_and_an_incomplete_contact_change_are_refetched_from_salesforce(
    salesforce: Running, org_api: SourceServer
) -> None:
    [client_id] = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "account_create.json"))
    )
    [engagement_id] = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "opportunity_create.json"))
    )

    # GAP_UPDATE carries no field values: the hub reads the Opportunity and applies that.
    gap = applied(deliver(salesforce, "salesforce", native_bytes("salesforce", "gap_update.json")))
    assert gap == [engagement_id]
    engagement = record(salesforce, "salesforce", "Opportunity", OPPORTUNITY)
    assert engagement["name"] == "Northwind - ERP rollout advisory (phase 2)"
    assert engagement["budget"] == {"amount": "210000.00", "currency": "EUR"}
    assert engagement["status"] == "won"
    assert engagement["client_id"] == client_id

    # A Contact UPDATE naming only Title cannot rebuild the contact: it is read whole.
    partial = applied(
        deliver(salesforce, "salesforce", native_bytes("salesforce", "contact_update_partial.json"))
    )
    assert partial == [client_id]
    assert record(salesforce, "salesforce", "Account", ACCOUNT)["contacts"] == [
        {
            "name": "Anna Schmidt",
            "email": "anna.schmidt@northwind.example",
            "phone": "+49 30 1234567",
            "role": "Chief Financial Officer",
        }
    ]

    assert [(r.method, r.path) for r in org_api.requests] == [
        ("GET", f"{REST}/Opportunity/{OPPORTUNITY}"),
        ("GET", f"{REST}/Contact/{CONTACT}"),
    ]
    assert {r.headers["Authorization"] for r in org_api.requests} == {"Bearer 00D-session-token"}


def test_the_webhook_refuses_malformed_json_with_400_and_a_wrong_scope_with_403_publishing_nothing(
    salesforce: Running,
) -> None:
    body = native_bytes("salesforce", "account_create.json")
    assert_malformed_json_is_refused(salesforce, "salesforce", body[:-40])
    assert_wrong_scope_is_forbidden(salesforce, "salesforce", body)
    assert salesforce.xref("salesforce", "Account", ACCOUNT).status_code == 404
