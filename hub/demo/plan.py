"""The whole demo firm as one plan: pure, deterministic for a seed, runnable without a store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from uuid import UUID

from domain.base import CanonicalAggregate
from hub.application import Claim
from hub.demo import catalog as cat
from hub.demo.billing import plan_billing
from hub.demo.engagements import E, add_engagement_rates, decide_engagements
from hub.demo.knowledge import plan_knowledge
from hub.demo.lifecycle import plan_closings, plan_engagement, set_terms
from hub.demo.parties import (
    plan_client_rate_cards,
    plan_clients,
    plan_firm_rate_cards,
    plan_resources,
)
from hub.demo.script import ENTITY_ORDER, DemoSpec, Script, Step, run
from hub.demo.sources import Tenants
from hub.demo.work import (
    plan_entry,
    plan_expense,
    plan_expenses,
    plan_time,
    standard_value,
    write_down_above_cap,
)


@dataclass(frozen=True)
class DemoPlan:
    """Every record of the demo firm as steps, the claims they make, and ids worth a look."""

    spec: DemoSpec
    steps: tuple[Step, ...]
    entities: dict[UUID, str]
    claims: dict[UUID, list[Claim]]
    examples: dict[str, UUID]
    stripe_tenant: str = ""  # the firm's Stripe account (the stewardship story bills there)
    steward_client: UUID | None = None  # the client a steward maps a Stripe customer to

    @property
    def order(self) -> list[UUID]:
        """The ids in the order they are recorded: by entity (ENTITY_ORDER), then as planned."""
        rank = {entity: i for i, entity in enumerate(ENTITY_ORDER)}
        ids = list(self.entities)
        return sorted(ids, key=lambda i: rank[self.entities[i]])

    def counts(self) -> dict[str, int]:
        """Records per entity."""
        counted = Counter(self.entities.values())
        return {entity: counted[entity] for entity in ENTITY_ORDER if counted[entity]}

    def run(self) -> dict[UUID, CanonicalAggregate]:
        """Runs every step through the domain (no store); returns the aggregates by id."""
        return run(self.steps)


def first_record_id(spec: DemoSpec) -> UUID:
    """The id of the first record a demo records (its first firm rate card): the seed's alone."""
    return Script(spec).natural("rate_card", "firm", next(iter(cat.RATE_CHANGES)))


def plan_demo(spec: DemoSpec) -> DemoPlan:
    """Plans the demo firm of a seed at a scale: the same spec always gives the same plan."""
    script = Script(spec)
    tenants = Tenants.draw(script.rng("tenants"))
    firm_lines = plan_firm_rate_cards(script)
    clients = plan_clients(script, tenants)
    plan_client_rate_cards(script, clients, firm_lines)
    resources = plan_resources(script, tenants)
    engagements = decide_engagements(script, tenants, clients, resources, firm_lines)
    add_engagement_rates(script, engagements)
    plan_time(script, tenants, engagements)
    for eng in engagements:
        set_terms(script, eng, standard_value(eng))
        write_down_above_cap(eng)
        plan_engagement(script, eng)
    for eng in engagements:
        for entry in eng.entries:
            plan_entry(script, entry)
    plan_expenses(script, tenants, engagements)
    for eng in engagements:
        for expense in eng.expenses:
            plan_expense(script, expense)
    billing = plan_billing(script, tenants, engagements)
    settled = {}
    for doc in billing.docs:
        dates = [doc.created, doc.voided_on, *(paid_on for _, paid_on in doc.payments)]
        last = max(d for d in dates if d is not None)
        settled[doc.eng.id] = max(settled.get(doc.eng.id, last), last)
    plan_closings(script, engagements, clients, resources, settled)
    plan_knowledge(script, tenants, engagements)
    examples = dict(billing.examples)
    fallback = {"client": clients[0].id, "engagement": engagements[0].id}
    entries = [e.id for eng in engagements for e in eng.entries]
    if entries:
        fallback["time_entry"] = entries[0]
    if billing.docs:
        fallback["invoice"] = billing.docs[0].id
    for kind, value in fallback.items():
        examples.setdefault(kind, value)
    # Quote-to-cash's two outcomes, where the provisioning component runs: a won engagement
    # provisioned (the first delivered one, won and then started) and one blocked.
    for eng in engagements:
        if eng.awaits_legal_entity:
            examples["blocked_engagement"] = eng.id
        elif eng.status == E.ACTIVE:
            examples.setdefault("provisioned_engagement", eng.id)
    return DemoPlan(
        spec,
        tuple(script.steps),
        script.entities,
        script.claims,
        examples,
        tenants.stripe,
        next((c.id for c in reversed(clients) if c.id != examples["client"]), clients[0].id),
    )
