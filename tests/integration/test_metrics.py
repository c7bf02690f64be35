"""The business metrics over NATS ingest and PostgreSQL: WIP at the rate card in force on
the work date, billed, paid, written down, margin, utilization and realization, per currency;
the projection rebuilt from zero gives the same figures; bad requests are refused."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from tests.integration import metrics_scenario as S
from tests.support.changes import envelope, ref
from tests.support.running import Running


def _settle(running: Running, *bodies: dict[str, Any]) -> None:
    running.publish_events(*bodies)
    outcomes = running.settle([b["id"] for b in bodies])
    assert [o["status"] for o in outcomes] == ["applied"] * len(bodies), outcomes
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["metrics"].wait_for(head, 30)


def _id(running: Running, type_: str, source_id: str, system: str = "harvest") -> str:
    found = running.xref(system, type_, source_id)
    assert found.status_code == 200, found.text
    return found.json()["id"]


def _money(amount: Decimal, currency: str = "GBP") -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


@pytest.fixture
def firm(running: Running) -> Running:
    _settle(running, *S.parties())
    _settle(running, *S.work())
    _settle(running, S.rate_card())  # arrives after the work it prices
    _settle(running, S.invoice())
    _settle(running, S.billed_entry())
    return running


def _financials(running: Running, engagement: str) -> dict[str, Any]:
    resp = running.api.get(
        f"/v1/engagements/{engagement}/financials",
        headers=running.token("read", "read:confidential"),
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_financials_value_wip_at_the_rate_in_force_on_the_work_date(firm: Running) -> None:
    p1 = _id(firm, "Project", "P1")
    body = _financials(firm, p1)
    [gbp] = body["currencies"]
    assert gbp["currency"] == "GBP"
    assert gbp["wip"]["time"] == _money(S.WIP_TIME)
    assert gbp["wip"]["expenses"] == _money(S.WIP_EXPENSES)
    assert gbp["wip"]["total"] == _money(S.WIP)
    assert gbp["unbilled"] == _money(S.WIP)
    assert gbp["billed"] == _money(S.BILLED)
    assert gbp["paid"] == _money(S.PAID)
    assert gbp["written_down"]["billing"] == _money(S.WRITTEN_DOWN)
    assert gbp["written_down"]["total"] == _money(S.WRITTEN_DOWN)
    assert gbp["revenue"] == _money(S.REVENUE)
    assert gbp["cost"] == _money(S.COST)
    assert gbp["margin"]["amount"] == _money(S.REVENUE - S.COST)
    assert gbp["margin"]["ratio"] == S.ratio(S.REVENUE - S.COST, S.REVENUE)
    assert body["unpriced_billable_hours"] == "0"


def test_currencies_are_never_added_together(firm: Running) -> None:
    p2 = _id(firm, "Project", "P2")
    body = _financials(firm, p2)
    by_currency = {c["currency"]: c for c in body["currencies"]}
    assert set(by_currency) == {"EUR", "GBP"}
    assert by_currency["EUR"]["wip"]["total"] == _money(S.P2_WIP, "EUR")
    # The cost is in pounds, the revenue in euros: no margin without an FX policy.
    assert by_currency["GBP"]["cost"] == _money(S.P2_COST_GBP)
    assert by_currency["EUR"]["margin"] is None
    wip = firm.api.get("/v1/metrics/wip", headers=firm.token("read", "read:confidential"))
    assert wip.status_code == 200, wip.text
    totals = {t["currency"]: t["wip"] for t in wip.json()["totals"]}
    assert totals == {"GBP": _money(S.WIP), "EUR": _money(S.P2_WIP, "EUR")}


def test_utilization_is_approved_hours_over_capacity(firm: Running) -> None:
    u1, u2 = _id(firm, "User", "U1"), _id(firm, "User", "U2")
    resp = firm.api.get(
        "/v1/metrics/utilization", params={"period": "2026-03"}, headers=firm.token("read")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    days = S.march_working_days()
    people = {p["resource_id"]: p for p in body["people"]}
    cap1, cap2 = Decimal(days * 8), Decimal(days * 4)
    bill1, all1 = Decimal("8") + Decimal("7.5") + Decimal("6"), Decimal("23.5")
    bill2 = Decimal("4") + Decimal("5")
    assert people[u1]["billable_utilization"] == S.ratio(bill1, cap1)
    assert people[u1]["total_utilization"] == S.ratio(all1, cap1)
    assert people[u2]["billable_utilization"] == S.ratio(bill2, cap2)
    [team] = body["teams"]
    assert team["team"] == "Advisory"
    assert team["billable_utilization"] == S.ratio(bill1 + bill2, cap1 + cap2)
    p1 = _id(firm, "Project", "P1")
    only = firm.api.get(
        "/v1/metrics/utilization",
        params={"engagement_id": p1, "work_date_from": "2026-03-01", "work_date_to": "2026-03-31"},
        headers=firm.token("read"),
    ).json()
    [engagement] = only["engagements"]
    assert engagement["billable_share"] == S.ratio(Decimal("24.5"), Decimal("26.5"))


def test_realization_is_billed_value_over_standard_value(firm: Running) -> None:
    u2 = _id(firm, "User", "U2")
    resp = firm.api.get("/v1/metrics/realization", headers=firm.token("read", "read:confidential"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    [person] = body["people"]
    assert person["resource_id"] == u2
    assert person["billed_value"] == _money(S.BILLED)
    assert person["standard_value"] == _money(S.T6_STANDARD)
    assert person["realization"] == S.ratio(S.BILLED, S.T6_STANDARD)
    assert body["teams"][0]["realization"] == S.ratio(S.BILLED, S.T6_STANDARD)


def test_a_rate_change_prices_new_work_only_and_a_correction_is_priced_anew(
    firm: Running,
) -> None:
    p1 = _id(firm, "Project", "P1")
    _settle(
        firm,
        S.rate_card(consultant_from_10th="130.00", seq=2),
        S._time("T9", "U1", "P1", "2026-03-13", "1"),
        S._time("T1", "U1", "P1", "2026-03-09", "6", seq=2),  # an approved fact corrected
        # A descriptive change is no new fact: the entry keeps its price.
        S._time("T2", "U1", "P1", "2026-03-10", "7.5", seq=2, locked_reason="review"),
    )
    [gbp] = _financials(firm, p1)["currencies"]
    # T2 keeps the price it had (non-retroactive); T1 is a new fact; T9 is new work.
    expected = S.value("6", "100.00") + S.T2 + S.T3 + S.value("1", "130.00")
    assert gbp["wip"]["time"] == _money(expected)


def test_the_projection_rebuilt_from_zero_gives_the_same_figures(firm: Running) -> None:
    p1 = _id(firm, "Project", "P1")
    before = _financials(firm, p1)
    resp = firm.api.post("/v1/projections/metrics/rebuild", headers=firm.token("operate"))
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = firm.api.get("/v1/projections", headers=firm.auth).json()["items"]
        metrics = next(i for i in items if i["name"] == "metrics")
        if metrics["generation"] == 2 and not metrics["rebuilding"]:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the rebuild did not finish")
    after = _financials(firm, p1)
    assert after["currencies"] == before["currencies"]


def test_prometheus_shows_wip_per_currency(firm: Running) -> None:
    text = firm.api.get("/metrics").text
    assert f'pshub_wip{{currency="GBP"}} {float(S.WIP)}' in text
    assert f'pshub_wip{{currency="EUR"}} {float(S.P2_WIP)}' in text
    assert 'pshub_utilization_ratio{kind="billable",team="Advisory"}' in text
    assert 'pshub_projection_position{projection="metrics"}' in text


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()


def test_bad_requests_are_refused_with_the_field_and_rule(running: Running) -> None:
    _settle(running, *S.parties())
    p1 = _id(running, "Project", "P1")
    confidential = running.token("read", "read:confidential")
    reader = running.token("read")
    # Values derived from rates need read:confidential.
    _problem(running.api.get(f"/v1/engagements/{p1}/financials", headers=reader), 403)
    _problem(running.api.get("/v1/metrics/wip", headers=reader), 403)
    _problem(running.api.get("/v1/metrics/realization", headers=reader), 403)
    _problem(running.api.get("/v1/metrics/utilization"), 401)
    unknown = "00000000-0000-4000-8000-000000000000"
    _problem(running.api.get(f"/v1/engagements/{unknown}/financials", headers=confidential), 404)
    _problem(
        running.api.get("/v1/metrics/wip", params={"engagement_id": unknown}, headers=confidential),
        404,
    )
    _problem(running.api.get("/v1/engagements/not-a-uuid/financials", headers=confidential), 422)
    cases = [
        ({"period": "2026-13"}, "period", "period"),
        ({"period": "March"}, "period", "period"),
        (
            {"work_date_from": "2026-03-31", "work_date_to": "2026-03-01"},
            "work_date_to",
            "date_order",
        ),
        ({"work_date_from": "2026-02-30"}, "work_date_from", "date"),
        ({"period": "2026-03", "work_date_from": "2026-03-01"}, "period", "exclusive"),
        (
            {"work_date_from": "2024-01-01", "work_date_to": "2026-01-01"},
            "work_date_to",
            "max_days",
        ),
        ({"person": "x"}, "person", "unknown_filter"),
        ({"resource_id": "nope"}, "resource_id", "uuid"),
    ]
    for params, field, rule in cases:
        body = _problem(
            running.api.get("/v1/metrics/utilization", params=params, headers=reader), 400
        )
        assert body["errors"][0]["field"] == field, (params, body)
        assert body["errors"][0]["rule"] == rule, (params, body)
    body = _problem(
        running.api.get("/v1/metrics/wip", params={"as_of": "yesterday"}, headers=confidential),
        400,
    )
    assert body["errors"][0]["field"] == "as_of"


def test_a_cap_writes_work_down_and_an_accepted_milestone_is_wip(firm: Running) -> None:
    _settle(firm, *S.commercial())
    _settle(firm, *S.commercial_work())
    [capped] = _financials(firm, _id(firm, "Project", "P3"))["currencies"]
    assert capped["wip"]["time"] == _money(S.P3_DELIVERED)
    assert capped["wip"]["cap_write_down"] == _money(S.P3_WRITTEN_DOWN)
    assert capped["wip"]["total"] == _money(S.CAP)
    assert capped["written_down"]["cap"] == _money(S.P3_WRITTEN_DOWN)
    [fixed] = _financials(firm, _id(firm, "Project", "P4"))["currencies"]
    assert fixed["wip"]["fixed_fee"] == _money(S.P4_WIP)
    assert fixed["wip"]["total"] == _money(S.P4_WIP)
    wip = firm.api.get("/v1/metrics/wip", headers=firm.token("read", "read:confidential"))
    totals = {t["currency"]: t["wip"] for t in wip.json()["totals"]}
    assert totals["GBP"] == _money(S.WIP + S.CAP + S.P4_WIP)


def _histogram(text: str, name: str, labels: str = "") -> tuple[float, float]:
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    }
    return values[f"{name}_count{labels}"], values[f"{name}_sum{labels}"]


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
    _settle(running, won)
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
    _settle(running, project)
    elapsed = time.monotonic() - started
    assert _id(running, "Project", "P5") == _id(running, "Opportunity", "O5", "salesforce")
    count, total = _histogram(
        running.api.get("/metrics").text, "pshub_project_setup_lead_time_seconds"
    )
    assert count == 1
    assert 0 < total <= elapsed


def test_exception_resolution_time_is_measured_per_reason(running: Running) -> None:
    _settle(running, *S.parties())
    bad = S._time("TX", "U1", "P1", "2026-03-02", "30")
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
    count, total = _histogram(
        text, "pshub_exception_resolution_seconds", '{reason="RULE_VIOLATION"}'
    )
    assert count == 1
    assert 0 < total <= elapsed


def test_a_retainers_covered_hours_are_no_write_down(firm: Running) -> None:
    _settle(firm, *S.retainer())
    _settle(firm, *S.retainer_billing())
    p6 = _id(firm, "Project", "P6")
    [gbp] = _financials(firm, p6)["currencies"]
    assert gbp["billed"] == _money(S.RETAINER_BILLED)
    assert gbp["wip"]["total"] == _money(Decimal("0.00"))
    # The overage line bills above standard (a write-up); the covered hours are not measured.
    assert gbp["written_down"]["billing"] == _money(Decimal("0.00"))
    realization = firm.api.get(
        "/v1/metrics/realization",
        params={"engagement_id": p6},
        headers=firm.token("read", "read:confidential"),
    ).json()
    [engagement] = realization["engagements"]
    assert engagement["billed_value"] == _money(S.OVERAGE_BILLED)
    assert engagement["standard_value"] == _money(S.OVERAGE_STANDARD)
    assert engagement["realization"] == S.ratio(S.OVERAGE_BILLED, S.OVERAGE_STANDARD)


def test_a_credit_note_counts_against_the_engagement_of_the_invoice_it_credits(
    firm: Running,
) -> None:
    _settle(firm, S.credit_note())
    [gbp] = _financials(firm, _id(firm, "Project", "P1"))["currencies"]
    assert gbp["billed"] == _money(S.BILLED)
    assert gbp["credited"] == _money(S.CREDITED)
    assert gbp["revenue"] == _money(S.REVENUE - S.CREDITED)


def test_wip_ages_by_work_date_and_leaves_out_work_after_as_of(firm: Running) -> None:
    confidential = firm.token("read", "read:confidential")
    aged = firm.api.get("/v1/metrics/wip", params={"as_of": "2026-04-09"}, headers=confidential)
    assert aged.status_code == 200, aged.text
    bands = {(a["currency"], a["days"]): a["amount"] for a in aged.json()["aging"]}
    # T1 (9 March) is 31 days old on 9 April; T2, T3 and E1 (10 March) and T7 (11 March) less.
    assert bands == {
        ("GBP", "31-60"): _money(S.T1),
        ("GBP", "0-30"): _money(S.T2 + S.T3 + S.WIP_EXPENSES),
        ("EUR", "0-30"): _money(S.P2_WIP, "EUR"),
    }
    early = firm.api.get("/v1/metrics/wip", params={"as_of": "2026-03-09"}, headers=confidential)
    assert early.json()["totals"] == [{"currency": "GBP", "wip": _money(S.T1)}]


def test_invoice_cycle_time_runs_from_issue_to_the_settling_payment(firm: Running) -> None:
    first, paid = S.paid_invoice()
    _settle(firm, first)
    _settle(firm, paid)
    count, total = _histogram(firm.api.get("/metrics").text, "pshub_invoice_days_to_paid")
    assert count == 1  # INV1 is only partly paid
    assert total == S.DAYS_TO_PAID
