"""Retainer rollover through POST /v1/commands/run-billing, over NATS ingest and PostgreSQL
(DOMAIN 3.7): a period's unused included hours roll into the next period at its run (all of
them, up to a cap, or none where they expire), so the next period bills less overage.

Every figure is worked out here by hand, never by the product's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from hub.readiness import entities
from hub.settings import Settings
from tests.integration import billing_run_scenario as S
from tests.integration.test_billing_corrections import publish, run
from tests.support.changes import money
from tests.support.running import Running, running_hub

MARCH = {"period_start": "2026-03-01", "period_end": "2026-04-01"}
APRIL = {"period_start": "2026-04-01", "period_end": "2026-05-01"}
INCLUDED, FEE, OVERAGE_RATE = Decimal(10), Decimal("2000.00"), Decimal("150.00")
MARCH_HOURS, APRIL_HOURS, CAP = Decimal(4), Decimal(14), Decimal(3)


def retainer(rule: str, cap: str | None = None) -> dict[str, Any]:
    terms = {
        "period": "monthly",
        "fee": money(str(FEE)),
        "included_hours": str(INCLUDED),
        "rollover_rule": rule,
        "overage_rate": money(str(OVERAGE_RATE)),
    }
    return terms if cap is None else {**terms, "rollover_cap_hours": cap}


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Any, nats_url: str) -> Iterator[Running]:
    """R1 rolls its hours over, R2 lets them expire, R3 rolls them over up to 3 h: each works
    4 h in March and 14 h in April."""
    with running_hub(
        settings, make_database, nats_url, ingest_max_deliveries=3, legal_entities=S.LEGAL_ENTITIES
    ) as running:
        rules = {"R1": ("roll_over", None), "R2": ("expire", None), "R3": ("roll_over_capped", "3")}
        publish(running, *S.parties(), *(S.engagement(code) for code in rules))
        publish(
            running, *(S.contract(c, "retainer", retainer=retainer(*r)) for c, r in rules.items())
        )
        publish(
            running,
            *(S.time(f"{c}-3", c, "2026-03-05", str(MARCH_HOURS)) for c in rules),
            *(S.time(f"{c}-4a", c, "2026-04-06", "8") for c in rules),
            *(S.time(f"{c}-4b", c, "2026-04-07", "6") for c in rules),
        )
        yield running
    entities.configure(None)


def overage(hours: Decimal) -> Decimal:
    return S.value(str(max(hours, Decimal(0))), str(OVERAGE_RATE))


def lines(draft: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["kind"]: line for line in draft["lines"]}


def test_unused_hours_roll_over_so_the_next_period_bills_less_overage(firm: Running) -> None:
    [march] = run(firm, "R1", MARCH)["drafts"]
    assert Decimal(march["rolled_over_hours"]) == 0  # the first run: nothing rolled in
    assert Decimal(march["total"]) == FEE
    [april] = run(firm, "R1", APRIL)["drafts"]
    rolled = INCLUDED - MARCH_HOURS  # 6 h unused in March
    assert Decimal(april["rolled_over_hours"]) == rolled
    # 14 h against 10 + 6: all included, no overage (expiry would bill 4 h x 150.00).
    assert INCLUDED + rolled >= APRIL_HOURS
    assert Decimal(april["overage"]) == overage(APRIL_HOURS - INCLUDED - rolled) == 0
    assert Decimal(april["total"]) == FEE
    assert Decimal(lines(april)["included_hours"]["quantity"]) == APRIL_HOURS
    assert "rolled over" in lines(april)["included_hours"]["description"]


def test_expired_hours_do_not_carry_into_the_next_period(firm: Running) -> None:
    run(firm, "R2", MARCH)
    [april] = run(firm, "R2", APRIL)["drafts"]
    assert Decimal(april["rolled_over_hours"]) == 0
    assert Decimal(april["overage"]) == overage(APRIL_HOURS - INCLUDED) == Decimal("600.00")
    assert Decimal(april["total"]) == FEE + Decimal("600.00")


def test_a_capped_rollover_carries_at_most_its_cap(firm: Running) -> None:
    run(firm, "R3", MARCH)
    [april] = run(firm, "R3", APRIL)["drafts"]
    assert Decimal(april["rolled_over_hours"]) == CAP
    # 14 h against 10 + 3: 1 h over at 150.00.
    assert Decimal(april["overage"]) == overage(APRIL_HOURS - INCLUDED - CAP) == OVERAGE_RATE
    assert Decimal(april["total"]) == FEE + OVERAGE_RATE
