"""Golden records: every aggregate serialises to its record model, and redaction leaves out
(never nulls) what a token may not see."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.base import CanonicalAggregate
from domain.client import Client, Contact
from domain.contract import Contract, ContractType, PlannedMilestone
from domain.engagement import Engagement
from domain.expense import Expense, Receipt
from domain.invoice import Invoice, InvoiceLine
from domain.knowledge_asset import AssetKind, KnowledgeAsset
from domain.milestone import Milestone
from domain.rate_card import RateCard, RateLine, RateTier
from domain.registry import AGGREGATES
from domain.resource import Resource
from domain.time_entry import TimeEntry
from domain.values import Money, Period, SourceRef
from hub.auth import Principal
from hub.contracts.records import RECORD_MODELS
from hub.records import hidden_fields, redact, to_record

EUR = "EUR"


def _one_of_each() -> dict[str, CanonicalAggregate]:
    client = Client.register(
        id=uuid4(),
        legal_name="Acme SA",
        country="FR",
        billing_currency=EUR,
        contacts=[Contact("Ana", "ana@acme.fr")],
        xrefs=[SourceRef("salesforce", "org", "Account", "001A")],
    )
    engagement = Engagement.create(
        id=uuid4(),
        client_id=client.id,
        code="E-1",
        name="Audit",
        currency=EUR,
        budget=Money(Decimal("1000.00"), EUR),
    )
    milestone_id = uuid4()
    contract = Contract.create(
        id=uuid4(),
        engagement_id=engagement.id,
        client_id=client.id,
        type=ContractType.FIXED_FEE,
        currency=EUR,
        value=Money(Decimal("900.00"), EUR),
        milestones=[PlannedMilestone(milestone_id, Money(Decimal("900.00"), EUR))],
    )
    resource = Resource.register(
        id=uuid4(),
        name="Bo Li",
        email="bo@firm.example",
        role="manager",
        time_zone="Europe/Paris",
        cost_rate=Money(Decimal("80.00"), EUR),
    )
    rate_card = RateCard.create(
        id=uuid4(),
        name="Default EUR",
        lines=[
            RateLine(
                tier=RateTier.ROLE_DEFAULT,
                currency=EUR,
                role="manager",
                bill_rate=Money(Decimal("200.00"), EUR),
                period=Period(date(2026, 1, 1)),
            )
        ],
    )
    entry = TimeEntry.record(
        id=uuid4(),
        engagement_id=engagement.id,
        resource_id=resource.id,
        work_date=date(2026, 3, 2),
        hours=Decimal("7.5"),
        source_rate=Money(Decimal("200.00"), EUR),
    )
    expense = Expense.record(
        id=uuid4(),
        engagement_id=engagement.id,
        resource_id=resource.id,
        spent_date=date(2026, 3, 2),
        amount=Money(Decimal("42.10"), EUR),
        category="travel",
        receipt=Receipt("s3://r/1.pdf"),
    )
    milestone = Milestone.plan(
        id=milestone_id,
        contract_id=contract.id,
        engagement_id=engagement.id,
        name="Report",
        amount=Money(Decimal("900.00"), EUR),
    )
    invoice = Invoice.create(
        id=uuid4(),
        client_id=client.id,
        currency=EUR,
        lines=[
            InvoiceLine.build(
                description="Fees",
                quantity=Decimal("7.5"),
                unit_price=Decimal("200"),
                currency=EUR,
                tax_rate=Decimal("0.2"),
                time_entry_ids=[entry.id],
            )
        ],
    )
    asset = KnowledgeAsset.register(
        id=uuid4(),
        title="Method",
        kind=AssetKind.METHODOLOGY,
        uri="https://kb.example/m",
        client_id=client.id,
    )
    made = [
        client,
        engagement,
        contract,
        resource,
        rate_card,
        entry,
        expense,
        milestone,
        invoice,
        asset,
    ]
    return {a.ENTITY: a for a in made}


def test_there_is_a_record_model_for_every_aggregate() -> None:
    assert set(RECORD_MODELS) == set(AGGREGATES)


@pytest.mark.parametrize("entity", sorted(AGGREGATES))
def test_every_aggregate_serialises_to_its_record(entity: str) -> None:
    aggregate = _one_of_each()[entity]
    record = to_record(aggregate)
    assert record["id"] == str(aggregate.id)
    assert record["version"] == aggregate.version
    assert record["updated_at"].endswith("Z") or "+00:00" in record["updated_at"]
    assert isinstance(record["xrefs"], list)


def test_invoice_records_carry_totals_with_per_line_rounding() -> None:
    record = to_record(_one_of_each()["invoice"])
    assert record["subtotal"] == {"amount": "1500.00", "currency": EUR}
    assert record["total"] == {"amount": "1800.00", "currency": EUR}


def test_redaction_leaves_out_pii_and_confidential_fields() -> None:
    reader = Principal("r", frozenset({"read"}))
    everything = Principal("a", frozenset({"read", "read:pii", "read:confidential"}))
    aggregates = _one_of_each()
    resource = to_record(aggregates["resource"])
    assert set(redact("resource", resource, reader)) == set(resource) - {
        "name",
        "email",
        "phone",
        "cost_rate",
        "default_bill_rate",
    }
    assert redact("resource", resource, everything) == resource
    assert "source_rate" not in redact("time_entry", to_record(aggregates["time_entry"]), reader)
    assert "lines" not in redact("rate_card", to_record(aggregates["rate_card"]), reader)
    assert "contacts" not in redact("client", to_record(aggregates["client"]), reader)


def test_only_read_pii_reveals_pii_and_only_read_confidential_reveals_rates() -> None:
    pii = Principal("p", frozenset({"read", "read:pii"}))
    confidential = Principal("c", frozenset({"read", "read:confidential"}))
    assert hidden_fields("resource", pii) == {"cost_rate", "default_bill_rate"}
    assert hidden_fields("resource", confidential) == {"name", "email", "phone"}
