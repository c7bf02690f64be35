"""Billing readiness: every failed check is reported with its reason, not just the first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.approval import ApprovalStatus
from domain.billing_readiness import (
    CONTRACT_INACTIVE,
    INVALID_TAX_TREATMENT,
    MISSING_APPROVAL,
    MISSING_DOCUMENT,
    RATE_MISMATCH,
    VAT_AREA,
    Inputs,
    evaluate,
    valid_treatments,
)
from domain.client import Client
from domain.contract import Contract, ContractType, PlannedMilestone, TaxTreatment
from domain.engagement import Engagement, EngagementStatus
from domain.knowledge_asset import AssetKind, KnowledgeAsset
from domain.milestone import Milestone
from domain.values import Money

ENTITIES = {"PS-DE-GMBH": "DE", "PS-US-LLC": "US"}


def eur(amount: int) -> Money:
    return Money(Decimal(amount), "EUR")


def world(
    *,
    country: str = "DE",
    vat_id: str = "",
    treatment: TaxTreatment = TaxTreatment.STANDARD,
    activate: bool = True,
) -> Inputs:
    client = Client.register(
        id=uuid4(), legal_name="Acme", country=country, billing_currency="EUR", tax_id=vat_id
    )
    engagement = Engagement.create(
        id=uuid4(),
        client_id=client.id,
        code="E-1",
        name="Rollout",
        currency="EUR",
        legal_entity="PS-DE-GMBH",
        status=EngagementStatus.ACTIVE,
    )
    milestone_id = uuid4()
    contract = Contract.create(
        id=uuid4(),
        engagement_id=engagement.id,
        client_id=client.id,
        type=ContractType.FIXED_FEE,
        currency="EUR",
        value=eur(10000),
        milestones=[PlannedMilestone(milestone_id, eur(10000))],
        tax_treatment=treatment,
    )
    contract.sign(date(2025, 1, 1))
    if activate:
        contract.activate()
    milestone = Milestone.plan(
        id=milestone_id,
        contract_id=contract.id,
        engagement_id=engagement.id,
        name="Go-live",
        amount=eur(10000),
    )
    milestone.deliver(date(2025, 6, 20))
    milestone.accept(signed_by="Client CFO", accepted_on=date(2025, 6, 25))
    asset = KnowledgeAsset.register(
        id=uuid4(),
        title="Go-live acceptance certificate",
        kind=AssetKind.DOCUMENT,
        uri="https://docs.example/acceptance.pdf",
        engagement_id=engagement.id,
    )
    return Inputs(
        milestone=milestone,
        contract=contract,
        engagement=engagement,
        client=client,
        assets=[asset],
        entity_countries=ENTITIES,
    )


def work(inputs: Inputs, status: ApprovalStatus, day: date) -> SimpleNamespace:
    return SimpleNamespace(
        deleted=False, engagement_id=inputs.milestone.engagement_id, status=status, work_date=day
    )


def reasons(inputs: Inputs) -> list[tuple[str, str, str]]:
    return [(f.check, f.reason, f.field) for f in evaluate(inputs)]


def test_happy_path_has_no_failed_check() -> None:
    inputs = world()
    approved = work(inputs, ApprovalStatus.APPROVED, date(2025, 6, 1))
    later = work(inputs, ApprovalStatus.SUBMITTED, date(2025, 7, 1))  # after the acceptance
    assert evaluate(replace(inputs, time_entries=[approved, later])) == []


def test_contract_not_active_is_contract_inactive() -> None:
    assert reasons(world(activate=False)) == [("contract", CONTRACT_INACTIVE, "contract.status")]


def test_engagement_not_billable_is_contract_inactive() -> None:
    inputs = world()
    inputs.engagement.close(date(2025, 7, 1))
    assert reasons(inputs) == [("engagement", CONTRACT_INACTIVE, "engagement.status")]


def test_missing_document() -> None:
    inputs = world()
    unrelated = KnowledgeAsset.register(
        id=uuid4(),
        title="Kick-off slides",
        kind=AssetKind.DOCUMENT,
        uri="https://docs.example/kickoff.pdf",
        engagement_id=inputs.engagement.id,
    )
    archived = inputs.assets[0]
    archived.publish()
    archived.archive("superseded")
    assert reasons(replace(inputs, assets=[unrelated, archived])) == [
        ("document", MISSING_DOCUMENT, "knowledge_asset")
    ]


def test_submitted_work_before_acceptance_is_missing_approval() -> None:
    inputs = world()
    pending = work(inputs, ApprovalStatus.SUBMITTED, date(2025, 6, 25))
    expense = SimpleNamespace(
        deleted=False,
        engagement_id=inputs.milestone.engagement_id,
        status=ApprovalStatus.SUBMITTED,
        spent_date=date(2025, 6, 2),
    )
    failed = evaluate(replace(inputs, time_entries=[pending], expenses=[expense]))
    assert [(f.reason, f.field) for f in failed] == [(MISSING_APPROVAL, "approval_status")]
    assert failed[0].detail.startswith("2 submitted")


def test_unaccepted_milestone_is_missing_approval() -> None:
    inputs = world()
    milestone = Milestone.plan(
        id=inputs.milestone.id,
        contract_id=inputs.contract.id,
        engagement_id=inputs.engagement.id,
        name="Go-live",
        amount=eur(10000),
    )
    assert reasons(replace(inputs, milestone=milestone)) == [
        ("acceptance", MISSING_APPROVAL, "status")
    ]


def test_amount_differing_from_plan_is_rate_mismatch() -> None:
    inputs = world()
    inputs.milestone.revise(amount=eur(9000))
    assert reasons(inputs) == [("amount", RATE_MISMATCH, "amount")]


def test_reverse_charge_on_a_domestic_supply_is_invalid_tax() -> None:
    inputs = world(treatment=TaxTreatment.REVERSE_CHARGE)
    assert reasons(inputs) == [("tax", INVALID_TAX_TREATMENT, "contract.tax_treatment")]


def test_unknown_legal_entity_or_client_country_is_invalid_tax() -> None:
    assert reasons(replace(world(), entity_countries={})) == [
        ("tax", INVALID_TAX_TREATMENT, "engagement.legal_entity")
    ]
    assert reasons(world(country="")) == [("tax", INVALID_TAX_TREATMENT, "client.country")]


def test_every_failed_check_is_reported_at_once() -> None:
    inputs = world(activate=False, treatment=TaxTreatment.OUT_OF_SCOPE)
    inputs.milestone.revise(amount=eur(9000))
    pending = work(inputs, ApprovalStatus.SUBMITTED, date(2025, 6, 1))
    found = {f.reason for f in evaluate(replace(inputs, assets=[], time_entries=[pending]))}
    assert found == {
        CONTRACT_INACTIVE,
        RATE_MISMATCH,
        MISSING_DOCUMENT,
        MISSING_APPROVAL,
        INVALID_TAX_TREATMENT,
    }


def test_cross_border_eu_with_vat_number_is_reverse_charged() -> None:
    assert reasons(world(country="FR", vat_id="FR123", treatment=TaxTreatment.REVERSE_CHARGE)) == []
    assert reasons(world(country="FR", vat_id="FR123"))[0][1] == INVALID_TAX_TREATMENT


COUNTRIES = st.sampled_from(sorted(VAT_AREA | {"US", "JP", "CH", "BR"}))


@given(supplier=COUNTRIES, customer=COUNTRIES, vat=st.sampled_from(["", "X1"]))
def test_reverse_charge_only_cross_border_in_vat_area_with_a_vat_number(
    supplier: str, customer: str, vat: str
) -> None:
    allowed = TaxTreatment.REVERSE_CHARGE in valid_treatments(supplier, customer, vat)
    assert allowed == (
        supplier != customer and supplier in VAT_AREA and customer in VAT_AREA and bool(vat)
    )
    # Whatever the combination, some treatment is valid: a supply is never unbillable.
    assert valid_treatments(supplier, customer, vat)


def _break(inputs: Inputs, fault: str) -> Inputs:
    """The inputs with one check made to fail, touching nothing another check reads."""
    if fault == "contract":
        inputs.contract.terminate(date(2025, 7, 1), "ended")
    elif fault == "engagement":
        inputs.engagement.put_on_hold()
        inputs.engagement.resume()
        inputs.engagement.close(date(2025, 7, 1))
    elif fault == "amount":
        inputs.milestone.revise(amount=eur(9000))
    elif fault == "document":
        return replace(inputs, assets=[])
    elif fault == "approvals":
        pending = work(inputs, ApprovalStatus.SUBMITTED, date(2025, 6, 1))
        return replace(inputs, time_entries=[pending])
    elif fault == "dispute":
        inputs.milestone.raise_dispute("wrong scope")
    elif fault == "tax":
        return replace(inputs, entity_countries={})
    return inputs


FAULTS = ("contract", "engagement", "amount", "document", "approvals", "dispute", "tax")


@given(st.sets(st.sampled_from(FAULTS)))
def test_exactly_the_broken_checks_fail_whatever_else_is_broken(faults: set[str]) -> None:
    inputs = world()
    for fault in sorted(faults):
        inputs = _break(inputs, fault)
    assert {f.check for f in evaluate(inputs)} == faults
