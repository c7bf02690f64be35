"""The metrics of contracts beyond plain time and materials (a cap, fixed fee, a retainer),
credit notes, and the flow timings on /metrics: setup lead time, invoice cycle time and
exception resolution time."""

from __future__ import annotations

import time
from decimal import Decimal

from tests.integration import metrics_contracts as K
from tests.integration import metrics_scenario as S
from tests.integration.metrics_support import (
    as_money,
    canonical_id,
    financials_of,
    firm,
    histogram,
    settle,
)
from tests.support.changes import envelope, ref
from tests.support.running import Running

__all__ = ["firm"]  # the fixture, shared with test_metrics


def test_a_cap_writes_work_down_and_an_accepted_milestone_is_wip(firm: Running) -> None:
    settle(firm, *K.commercial())
    settle(firm, *K.commercial_work())
    [capped] = financials_of(firm, canonical_id(firm, "Project", "P3"))["currencies"]
    assert capped["wip"]["time"] == as_money(K.P3_DELIVERED)
    assert capped["wip"]["cap_write_down"] == as_money(K.P3_WRITTEN_DOWN)
    assert capped["wip"]["total"] == as_money(K.CAP)
    assert capped["written_down"]["cap"] == as_money(K.P3_WRITTEN_DOWN)
    [fixed] = financials_of(firm, canonical_id(firm, "Project", "P4"))["currencies"]
    assert fixed["wip"]["fixed_fee"] == as_money(K.P4_WIP)
    assert fixed["wip"]["total"] == as_money(K.P4_WIP)
    wip = firm.api.get("/v1/metrics/wip", headers=firm.token("read", "read:confidential"))
    totals = {t["currency"]: t["wip"] for t in wip.json()["totals"]}
    assert totals["GBP"] == as_money(S.WIP + K.CAP + K.P4_WIP)


def test_setup_lead_time_runs_from_won_to_the_first_delivery_system_link(
    running: Running,
) -> None:
    started = time.monotonic()
    won = envelope(
        "salesforce",
        "engagement",
        {
            "id": "O5",
            "client": ref("Account", "A5"),
            "name": "Deal",
            "currency": "GBP",
            "status": "won",
        },
        source_type="Opportunity",
    )
    settle(running, won)
    project = envelope(
        "harvest",
        "engagement",
        {
            "id": "P5",
            "client": ref("Client", "C5"),
            "name": "Deal",
            "currency": "GBP",
            "status": "active",
            "external_refs": [ref("Opportunity", "O5", system="salesforce")],
        },
        source_type="Project",
    )
    settle(running, project)
    elapsed = time.monotonic() - started
    assert canonical_id(running, "Project", "P5") == canonical_id(
        running, "Opportunity", "O5", "salesforce"
    )
    count, total = histogram(
        running.api.get("/metrics").text, "pshub_project_setup_lead_time_seconds"
    )
    assert count == 1
    assert 0 < total <= elapsed
    body = financials_of(running, canonical_id(running, "Project", "P5"))
    assert body["setup"]["lead_time_seconds"] == total


def test_exception_resolution_time_is_measured_per_reason(running: Running) -> None:
    settle(running, *S.parties())
    bad = S.time_entry("TX", "U1", "P1", "2026-03-02", "30")
    started = time.monotonic()
    running.publish_events(bad)
    assert running.outcome(bad["id"])["status"] == "rejected"
    cases = []
    deadline = time.monotonic() + 30
    while not cases and time.monotonic() < deadline:
        cases = running.api.get(
            "/v1/exceptions", params={"reason": "RULE_VIOLATION"}, headers=running.auth
        ).json()["items"]
    resolved = running.api.post(
        f"/v1/exceptions/{cases[0]['id']}/resolve", headers=running.token("operate")
    )
    assert resolved.status_code == 200, resolved.text
    elapsed = time.monotonic() - started
    assert running.hub.runners["metrics"].wait_for(resolved.json()["position"], 30)
    text = running.api.get("/metrics").text
    line = 'pshub_exception_resolution_seconds_count{reason="RULE_VIOLATION"}'
    assert f"{line} 1.0" in text
    assert (
        'pshub_exception_resolution_seconds_bucket{le="+Inf",reason="RULE_VIOLATION"} 1.0' in text
    )
    count, total = histogram(
        text, "pshub_exception_resolution_seconds", '{reason="RULE_VIOLATION"}'
    )
    assert count == 1
    assert 0 < total <= elapsed


def test_a_retainers_covered_hours_are_no_write_down(firm: Running) -> None:
    settle(firm, *K.retainer())
    settle(firm, *K.retainer_billing())
    p6 = canonical_id(firm, "Project", "P6")
    [gbp] = financials_of(firm, p6)["currencies"]
    assert gbp["billed"] == as_money(K.RETAINER_BILLED)
    assert gbp["wip"]["total"] == as_money(Decimal("0.00"))
    # The overage line bills above standard (a write-up); the covered hours are not measured.
    assert gbp["written_down"]["billing"] == as_money(Decimal("0.00"))
    realization = firm.api.get(
        "/v1/metrics/realization",
        params={"engagement_id": p6},
        headers=firm.token("read", "read:confidential"),
    ).json()
    [engagement] = realization["engagements"]
    assert engagement["billed_value"] == as_money(K.OVERAGE_BILLED)
    assert engagement["standard_value"] == as_money(K.OVERAGE_STANDARD)
    assert engagement["realization"] == S.ratio(K.OVERAGE_BILLED, K.OVERAGE_STANDARD)


def test_a_credit_note_counts_against_the_engagement_of_the_invoice_it_credits(
    firm: Running,
) -> None:
    settle(firm, K.credit_note())
    [gbp] = financials_of(firm, canonical_id(firm, "Project", "P1"))["currencies"]
    assert gbp["billed"] == as_money(S.BILLED)
    assert gbp["credited"] == as_money(K.CREDITED)
    assert gbp["revenue"] == as_money(S.REVENUE - K.CREDITED)


def test_invoice_cycle_time_runs_from_issue_to_the_settling_payment(firm: Running) -> None:
    first, paid = K.paid_invoice()
    settle(firm, first)
    settle(firm, paid)
    count, total = histogram(firm.api.get("/metrics").text, "pshub_invoice_days_to_paid")
    assert count == 1  # INV1 is only partly paid
    assert total == K.DAYS_TO_PAID
