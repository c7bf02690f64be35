"""Every canonical entity created and revised with confidential and personal values that are
easy to find in bytes: text containing SECRET, and amounts used nowhere else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.base import CanonicalAggregate
from domain.client import Client, Contact
from domain.contract import Contract, RetainerTerms
from domain.engagement import Engagement
from domain.expense import Expense, Receipt
from domain.invoice import Invoice, InvoiceLine
from domain.knowledge_asset import KnowledgeAsset
from domain.milestone import Milestone
from domain.rate_card import RateCard, RateLine
from domain.resource import Resource
from domain.time_entry import TimeEntry
from domain.values import Money, Period, SourceRef

# Confidential amounts: each appears in no public value of the scenario.
SECRET_AMOUNTS = (
    "9871.23",
    "8765.43",
    "7654.32",
    "6543.21",
    "5432.19",
    "4321.98",
    "3219.87",
    "2198.76",
    "1987.65",
    "1876.54",
    "1765.43",
    "1654.32",
    "1543.21",
)
# Text that is personal data carries this marker.
MARKER = "SECRET"
# Public values that must still arrive, so that the scenario's events are not simply empty.
PUBLIC_VALUES = (
    "Public Partners LLP",
    "Public Partners Holdings LLP",
    "engagement-manager",
    "PUB-0001",
    "Public rates 2026",
    "Public rates 2027",
    "Ledger review",
    "Design workshop",
)


@dataclass(frozen=True)
class Scenario:
    aggregates: list[CanonicalAggregate]
    # Per entity, the attribute names (event attributes or changed fields) that hold its
    # classified values here and must never appear in published data.
    classified: dict[str, frozenset[str]]


def _eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def classified_scenario() -> Scenario:
    """Aggregates with pending events: each entity created, then revised, plus the events
    that carry a classified value under another name (approvals, signatures, rate lines)."""
    ref = SourceRef("harvest", "t1", "Thing", uuid.uuid4().hex)
    client = Client.register(
        id=uuid.uuid4(),
        legal_name="Public Partners LLP",
        country="GB",
        billing_currency="EUR",
        tax_id="GB123456789",
        contacts=[Contact(f"{MARKER} Alice", f"alice.{MARKER.lower()}@pii.example", "+44 1")],
        xrefs=[ref],
        details={"phone": f"+44 {MARKER} 1", "email": f"ap.{MARKER.lower()}@pii.example"},
    )
    client.revise(legal_name="Public Partners Holdings LLP", owner_name=f"{MARKER} Owner")
    client.replace_contacts([Contact(f"{MARKER} Bob", f"bob.{MARKER.lower()}@pii.example")])

    resource = Resource.register(
        id=uuid.uuid4(),
        name=f"{MARKER} Carol",
        email=f"carol.{MARKER.lower()}@pii.example",
        role="consultant",
        time_zone="Europe/London",
        cost_rate=_eur(SECRET_AMOUNTS[0]),
        details={"phone": f"+44 {MARKER} 2", "default_bill_rate": _eur(SECRET_AMOUNTS[9])},
    )
    resource.revise(
        name=f"{MARKER} Carol B.",
        email=f"carol.b.{MARKER.lower()}@pii.example",
        cost_rate=_eur(SECRET_AMOUNTS[1]),
        role="engagement-manager",
        default_bill_rate=_eur(SECRET_AMOUNTS[10]),
    )

    engagement = Engagement.create(
        id=uuid.uuid4(),
        client_id=client.id,
        code="PUB-0001",
        name="Ledger review",
        currency="EUR",
        budget=_eur("50000.00"),
        details={"hourly_rate": _eur(SECRET_AMOUNTS[11]), "health": "on-track-public"},
    )
    engagement.revise(name="Ledger review, phase 2", estimated_cost=_eur(SECRET_AMOUNTS[12]))

    retainer = RetainerTerms(
        period="monthly",
        fee=_eur(SECRET_AMOUNTS[2]),
        included_hours=Decimal(10),
        rollover_rule="expire",
        overage_rate=_eur("150.00"),
    )
    contract = Contract.create(
        id=uuid.uuid4(),
        engagement_id=engagement.id,
        client_id=client.id,
        type="retainer",
        currency="EUR",
        retainer=retainer,
    )
    contract.revise(
        retainer=RetainerTerms(
            period="monthly",
            fee=_eur(SECRET_AMOUNTS[3]),
            included_hours=Decimal(12),
            rollover_rule="expire",
            overage_rate=_eur("160.00"),
        ),
        payment_terms_days=45,
    )
    contract.sign(date(2026, 1, 5), signed_by=f"{MARKER} Dave")

    line = RateLine(
        tier="role_default",
        currency="EUR",
        bill_rate=_eur(SECRET_AMOUNTS[4]),
        period=Period(date(2026, 1, 1)),
        role="consultant",
        cost_rate=_eur(SECRET_AMOUNTS[5]),
    )
    rate_card = RateCard.create(id=uuid.uuid4(), name="Public rates 2026", lines=[line])
    rate_card.revise(name="Public rates 2027")
    rate_card.add_line(
        RateLine(
            tier="role_default",
            currency="EUR",
            bill_rate=_eur(SECRET_AMOUNTS[6]),
            period=Period(date(2027, 1, 1)),
            role="consultant",
            cost_rate=_eur("88.88"),
        ),
        supersede=True,
    )

    time_entry = TimeEntry.record(
        id=uuid.uuid4(),
        engagement_id=engagement.id,
        resource_id=resource.id,
        work_date=date(2026, 2, 2),
        hours="3",
        notes="Design workshop",
        source_rate=_eur(SECRET_AMOUNTS[7]),
    )
    time_entry.revise(hours=Decimal(4), source_rate=_eur(SECRET_AMOUNTS[8]))
    time_entry.submit()
    time_entry.approve(approved_by=f"{MARKER} Erin")
    # An approved fact corrected: a reversal whose value derives from the rate, a new fact.
    time_entry.correct("Hours corrected after review", hours=Decimal(5))

    expense = Expense.record(
        id=uuid.uuid4(),
        engagement_id=engagement.id,
        resource_id=resource.id,
        spent_date=date(2026, 2, 3),
        amount=_eur("42.10"),
        category="travel",
        receipt=Receipt("https://files.example/r/1.pdf"),
    )
    expense.revise(category="rail")
    expense.submit()
    expense.approve(approved_by=f"{MARKER} Frank")

    milestone = Milestone.plan(
        id=uuid.uuid4(),
        contract_id=contract.id,
        engagement_id=engagement.id,
        name="Discovery report",
        amount=_eur("10000.00"),
        due_date=date(2026, 3, 1),
    )
    milestone.revise(name="Discovery report, final")
    milestone.deliver(date(2026, 2, 20))
    milestone.accept(signed_by=f"{MARKER} Grace", accepted_on=date(2026, 2, 25))

    invoice = Invoice.create(
        id=uuid.uuid4(),
        client_id=client.id,
        engagement_id=engagement.id,
        currency="EUR",
        lines=[
            InvoiceLine.build(
                description="Workshop", quantity="2", unit_price="100.00", currency="EUR"
            )
        ],
        details={"customer_name": f"{MARKER} Customer Ltd"},
    )
    invoice.revise(
        due_date=date(2026, 4, 30), customer_email=f"billing.{MARKER.lower()}@pii.example"
    )

    asset = KnowledgeAsset.register(
        id=uuid.uuid4(),
        title="Ledger review playbook",
        kind="deliverable",
        uri="https://kb.example/playbook",
        engagement_id=engagement.id,
        details={"author_name": f"{MARKER} Author"},
    )
    asset.revise(title="Ledger review playbook v2", owner_email=f"kb.{MARKER.lower()}@pii.example")

    return Scenario(
        [
            client,
            resource,
            engagement,
            contract,
            rate_card,
            time_entry,
            expense,
            milestone,
            invoice,
            asset,
        ],
        {
            "client": frozenset({"contacts", "phone", "email", "owner_name"}),
            "resource": frozenset({"name", "email", "cost_rate", "phone", "default_bill_rate"}),
            "engagement": frozenset({"hourly_rate", "estimated_cost"}),
            "invoice": frozenset({"customer_name", "customer_email"}),
            "knowledge_asset": frozenset({"author_name", "owner_email"}),
            "contract": frozenset({"retainer", "signed_by"}),
            "rate_card": frozenset({"lines", "line"}),
            "time_entry": frozenset({"source_rate", "approved_by", "value"}),
            "expense": frozenset({"approved_by"}),
            "milestone": frozenset({"signed_by", "accepted_by"}),
        },
    )
