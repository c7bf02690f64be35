"""Planning an engagement's commercial life: terms, milestones, signature, delivery, close."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from domain.client import ClientStatus
from domain.contract import (
    BillingSchedule,
    PlannedMilestone,
    RetainerPeriod,
    RetainerTerms,
    RolloverRule,
    split_by_percentages,
)
from domain.milestone import MilestoneStatus
from domain.values import Money
from hub.application import Claim
from hub.demo import catalog as cat
from hub.demo.engagements import WORKED, E, EngagementFacts, MilestoneFacts, T
from hub.demo.parties import ClientFacts, ResourceFacts, rate
from hub.demo.script import Ref, Script, months, weekday_on_or_after, weekday_on_or_before

M = MilestoneStatus
LOSS_REASONS = (
    "Lost to a competitor on price",
    "Client postponed the programme indefinitely",
    "Scope taken in-house",
)
RETAINER_FEES = {
    "EUR": (12_000, 18_000, 25_000),
    "USD": (15_000, 22_000, 30_000),
    "JPY": (1_500_000, 2_400_000, 3_200_000),
}


def round_to(amount: Decimal, currency: str, step_eur: int) -> Money:
    """Rounds an amount to a step that reads naturally in the currency (yen: x 100)."""
    step = Decimal(step_eur) * (100 if currency == "JPY" else 1)
    units = max(Decimal(1), (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Money(units * step, currency)


def set_terms(script: Script, eng: EngagementFacts, standard_value: Decimal) -> None:
    """Sizes the contract from the work planned: budget, cap, fixed fee and milestones, retainer."""
    rng = script.rng(f"terms/{eng.n}")
    currency = eng.currency
    span = (eng.end - eng.start).days + 1
    if eng.status in WORKED and standard_value > 0:
        estimate = standard_value * span / ((eng.work_last - eng.start).days + 1)
    else:
        senior = cat.BILL_RATES[currency][3]
        estimate = Decimal(span * 5 // 7) * rng.randint(8, 20) * senior
    eng.budget = round_to(estimate * Decimal(rng.randint(95, 115)) / 100, currency, 5000)
    if eng.type == T.CAPPED_TIME_AND_MATERIALS:
        eng.cap = round_to(estimate * Decimal(rng.randint(80, 110)) / 100, currency, 1000)
        eng.budget = eng.cap
        middle = weekday_on_or_after(eng.start + (eng.work_last - eng.start) // 2)
        if eng.status in WORKED and rng.random() < 0.3:
            raised = round_to(eng.cap.amount * Decimal("1.2"), currency, 1000)
            eng.cap_orders.append((middle, raised))
    elif eng.type == T.FIXED_FEE:
        eng.value = round_to(estimate * Decimal(rng.randint(85, 120)) / 100, currency, 50)
        eng.budget = eng.value
        if eng.status not in (E.PIPELINE, E.LOST):
            _milestones(script, rng, eng)
    elif eng.type == T.RETAINER:
        fee = Money(Decimal(rng.choice(RETAINER_FEES[currency])), currency)
        senior = rate(cat.BILL_RATES[currency][3], Decimal(1), currency)
        hours = (fee.amount / senior.amount / 5).quantize(Decimal(1)) * 5
        eng.retainer = RetainerTerms(
            RetainerPeriod.MONTHLY, fee, hours, RolloverRule.EXPIRE, senior
        )
        eng.budget = Money(fee.amount * len(list(months(eng.start, eng.end))), currency)


def _milestones(script: Script, rng: random.Random, eng: EngagementFacts) -> None:
    assert eng.value is not None
    if eng.showcase and eng.status == E.ACTIVE:
        shares = cat.MILESTONE_SPLITS[-1]
        offsets = (-60, -30, -15, -3)
        dues = [weekday_on_or_before(cat.AS_OF + timedelta(days=d)) for d in offsets] + [eng.end]
    else:
        shares = rng.choice(cat.MILESTONE_SPLITS)
        span = (eng.end - eng.start).days
        dues = [
            weekday_on_or_before(eng.start + timedelta(days=span * (k + 1) // len(shares)))
            for k in range(len(shares))
        ]
    # Closed engagements delivered everything; the others stand where today (or the hold) is.
    cutoff = date(2099, 1, 1) if eng.status == E.CLOSED else eng.hold_on or cat.AS_OF
    names = cat.MILESTONE_NAMES[: len(shares) - 1] + cat.MILESTONE_NAMES[-1:]
    amounts = split_by_percentages(eng.value, shares)
    for k, (due, amount) in enumerate(zip(dues, amounts, strict=True)):
        eng.milestones.append(
            MilestoneFacts(
                id=script.natural("milestone", eng.code, str(k + 1)),
                n=k + 1,
                name=names[k],
                amount=amount,
                due=due,
                state=_milestone_state((cutoff - due).days),
            )
        )


def _milestone_state(days_past_due: int) -> MilestoneStatus:
    for least, state in ((40, M.BILLED), (20, M.BILLING_READY), (8, M.ACCEPTED), (-2, M.DELIVERED)):
        if days_past_due >= least:
            return state
    return M.PLANNED


SCHEDULES = {
    T.TIME_AND_MATERIALS: BillingSchedule.MONTHLY,
    T.CAPPED_TIME_AND_MATERIALS: BillingSchedule.MONTHLY,
    T.FIXED_FEE: BillingSchedule.MILESTONES,
    T.RETAINER: BillingSchedule.IN_ADVANCE,
}


def plan_engagement(script: Script, eng: EngagementFacts) -> None:
    """Plans the engagement from opportunity to delivery, its contract and its milestones.

    Holds and closes come later (plan_closings): they follow the invoices.
    """
    client, region = eng.client, eng.region
    signer = client.contacts[0].name
    # The application checks this when it creates an engagement; so does the demo.
    script.call(eng.opened_on, client.id, "check_can_take_engagement")
    script.create(
        eng.opened_on,
        "engagement",
        eng.id,
        "create",
        xrefs=[eng.xref] if eng.xref else [],
        claims=[Claim(f"engagement_code:{eng.code}", eng.id, "engagement")],
        client_id=client.id,
        code=eng.code,
        name=eng.name,
        currency=eng.currency,
        service_line=eng.service_line,
        region=region.code,
        legal_entity=eng.legal_entity,
        start_date=eng.start,
        end_date=eng.end,
        budget=eng.budget,
        manager_id=eng.manager.id,
        # The commercial model quote-to-cash checks (the contract, later, holds the terms).
        details={"contract_type": eng.type.value},
    )
    script.create(
        eng.opened_on + (eng.decided_on - eng.opened_on) // 2,
        "contract",
        eng.contract_id,
        "create",
        engagement_id=eng.id,
        client_id=client.id,
        type=eng.type,
        currency=eng.currency,
        value=eng.value,
        cap=eng.cap,
        retainer=eng.retainer,
        milestones=[PlannedMilestone(m.id, m.amount) for m in eng.milestones],
        payment_terms_days=eng.payment_terms,
        tax_treatment=client.tax[0],
        billing_schedule=SCHEDULES[eng.type],
        name=f"Statement of work {eng.code}",
        start_date=eng.start,
        end_date=eng.end,
    )
    if eng.status == E.LOST:
        rng = script.rng(f"lost/{eng.n}")
        script.call(eng.decided_on, eng.id, "lose", reason=rng.choice(LOSS_REASONS))
        return
    if eng.status == E.PIPELINE:
        return
    script.call(eng.decided_on, eng.id, "win")
    script.call(eng.decided_on, eng.contract_id, "sign", signed_on=eng.decided_on, signed_by=signer)
    if eng.status in WORKED:
        script.call(eng.start, eng.id, "activate")
        script.call(eng.start, eng.contract_id, "activate")
    for k, (on, cap) in enumerate(eng.cap_orders, start=1):
        script.call(
            on,
            eng.contract_id,
            "order_change",
            reference=f"CO-{k:02d}",
            reason="Scope extension approved by the steering committee",
            effective_on=on,
            cap=cap,
        )
    _plan_milestones(script, eng, signer)


def _plan_milestones(script: Script, eng: EngagementFacts, signer: str) -> None:
    rng = script.rng(f"milestones/{eng.n}")
    order = list(M)
    previous: MilestoneFacts | None = None
    for m in eng.milestones:
        reached = order.index(m.state)
        script.create(
            eng.decided_on,
            "milestone",
            m.id,
            "plan",
            contract_id=eng.contract_id,
            engagement_id=eng.id,
            name=m.name,
            amount=m.amount,
            due_date=m.due,
            prerequisites=[previous.id] if previous else [],
        )
        delivered = m.due - timedelta(days=2)
        if m.state == M.DELIVERED and (eng.showcase or rng.random() < 0.3):
            first = m.due - timedelta(days=12)
            script.call(first, m.id, "deliver", delivered_on=first)
            script.call(
                m.due - timedelta(days=8),
                m.id,
                "reject_delivery",
                reason="Client asked for a revised data model section",
            )
        if reached >= order.index(M.DELIVERED):
            script.call(delivered, m.id, "deliver", delivered_on=delivered)
        accepted = m.due + timedelta(days=5)
        if reached >= order.index(M.ACCEPTED):
            script.call(accepted, m.id, "accept", signed_by=signer, accepted_on=accepted)
        if m.state == M.ACCEPTED and (eng.showcase or rng.random() < 0.3):
            script.call(
                accepted + timedelta(days=1),
                m.id,
                "raise_dispute",
                reason="Client disputes the scope of the acceptance tests",
            )
        if reached >= order.index(M.BILLING_READY):
            script.call(
                m.due + timedelta(days=6),
                m.id,
                "make_billing_ready",
                contract=Ref(eng.contract_id),
                prerequisites=[Ref(previous.id)] if previous else [],
            )
        previous = m


HOLD_REASONS = (
    "Client paused the programme pending budget approval",
    "Waiting for the client's new CIO to confirm the scope",
)
TERMINATION_REASON = "Client reprioritised the programme after the first phase"


def plan_closings(
    script: Script,
    engagements: list[EngagementFacts],
    clients: list[ClientFacts],
    resources: list[ResourceFacts],
    settled: dict[UUID, date],
) -> None:
    """Holds and closes engagements once their invoices are settled; then clients and people."""
    rng = script.rng("closings")
    last_seen: dict[UUID, date] = {}
    for eng in engagements:
        if eng.status == E.ON_HOLD and eng.hold_on is not None:
            script.call(eng.hold_on, eng.id, "put_on_hold", reason=rng.choice(HOLD_REASONS))
        if eng.status == E.CLOSED:
            settled_on = max(eng.end, settled.get(eng.id, eng.end))
            closed = weekday_on_or_after(settled_on + timedelta(days=rng.randint(3, 10)))
            eng.closed_on = closed = min(closed, cat.AS_OF)
            if rng.random() < 0.15:
                script.call(
                    closed,
                    eng.contract_id,
                    "terminate",
                    terminated_on=closed,
                    reason=TERMINATION_REASON,
                )
            else:
                script.call(closed, eng.contract_id, "close", closed_on=closed)
            script.call(closed, eng.id, "close", closed_on=closed)
        seen = eng.closed_on or eng.decided_on
        last_seen[eng.client.id] = max(last_seen.get(eng.client.id, seen), seen)
    for client in clients:
        if client.status == ClientStatus.ACTIVE:
            continue
        on = max(
            last_seen.get(client.id, client.registered_on),
            client.registered_on + timedelta(days=60),
        )
        on = min(weekday_on_or_after(on + timedelta(days=14)), cat.AS_OF)
        method = "deactivate" if client.status == ClientStatus.INACTIVE else "close"
        script.call(on, client.id, method)
    for resource in resources:
        if resource.left_on is not None:
            script.call(resource.left_on, resource.id, "deactivate")
