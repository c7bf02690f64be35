"""The business metrics over NATS ingest and PostgreSQL: WIP at the rate card in force on
the work date, billed, paid, written down, margin, utilization and realization, per currency;
the projection rebuilt from zero gives the same figures; bad requests are refused."""

from __future__ import annotations

import time
from decimal import Decimal

from hub.projecting import runner_of
from tests.integration import metrics_scenario as S
from tests.integration.metrics_support import (
    as_money,
    canonical_id,
    financials_of,
    firm,
    problem_of,
    settle,
)
from tests.support.changes import envelope, ref
from tests.support.running import Running

__all__ = ["firm"]  # the fixture, shared with test_metrics_contracts


def test_financials_value_wip_at_the_rate_in_force_on_the_work_date(firm: Running) -> None:
    p1 = canonical_id(firm, "Project", "P1")
    body = financials_of(firm, p1)
    [gbp] = body["currencies"]
    assert gbp["currency"] == "GBP"
    assert gbp["wip"]["time"] == as_money(S.WIP_TIME)
    assert gbp["wip"]["expenses"] == as_money(S.WIP_EXPENSES)
    assert gbp["wip"]["total"] == as_money(S.WIP)
    assert gbp["unbilled"] == as_money(S.WIP)
    assert gbp["billed"] == as_money(S.BILLED)
    assert gbp["paid"] == as_money(S.PAID)
    assert gbp["written_down"]["billing"] == as_money(S.WRITTEN_DOWN)
    assert gbp["written_down"]["total"] == as_money(S.WRITTEN_DOWN)
    assert gbp["revenue"] == as_money(S.REVENUE)
    assert gbp["cost"] == as_money(S.COST)
    assert gbp["margin"]["amount"] == as_money(S.REVENUE - S.COST)
    assert gbp["margin"]["ratio"] == S.ratio(S.REVENUE - S.COST, S.REVENUE)
    assert body["unpriced_billable_hours"] == "0"
    assert body["uncosted_hours"] == "0"
    assert body["rate_mismatches"] == 1


def test_currencies_are_never_added_together(firm: Running) -> None:
    p2 = canonical_id(firm, "Project", "P2")
    body = financials_of(firm, p2)
    by_currency = {c["currency"]: c for c in body["currencies"]}
    assert set(by_currency) == {"EUR", "GBP"}
    assert by_currency["EUR"]["wip"]["total"] == as_money(S.P2_WIP, "EUR")
    # The cost is in pounds, the revenue in euros: no margin without an FX policy.
    assert by_currency["GBP"]["cost"] == as_money(S.P2_COST_GBP)
    assert by_currency["EUR"]["margin"] is None
    wip = firm.api.get("/v1/metrics/wip", headers=firm.token("read", "read:confidential"))
    assert wip.status_code == 200, wip.text
    totals = {t["currency"]: t["wip"] for t in wip.json()["totals"]}
    assert totals == {"GBP": as_money(S.WIP), "EUR": as_money(S.P2_WIP, "EUR")}
    items = {(i["code"], i["currency"]): i["wip"] for i in wip.json()["items"]}
    assert items == {
        ("HARVEST-P1", "GBP"): as_money(S.WIP),
        ("HARVEST-P2", "EUR"): as_money(S.P2_WIP, "EUR"),
    }


def test_utilization_is_approved_hours_over_capacity(firm: Running) -> None:
    u1, u2 = canonical_id(firm, "User", "U1"), canonical_id(firm, "User", "U2")
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
    p1 = canonical_id(firm, "Project", "P1")
    only = firm.api.get(
        "/v1/metrics/utilization",
        params={"engagement_id": p1, "work_date_from": "2026-03-01", "work_date_to": "2026-03-31"},
        headers=firm.token("read"),
    ).json()
    [engagement] = only["engagements"]
    assert engagement["billable_share"] == S.ratio(Decimal("24.5"), Decimal("26.5"))


def test_realization_is_billed_value_over_standard_value(firm: Running) -> None:
    u2 = canonical_id(firm, "User", "U2")
    resp = firm.api.get("/v1/metrics/realization", headers=firm.token("read", "read:confidential"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    [person] = body["people"]
    assert person["resource_id"] == u2
    assert person["billed_value"] == as_money(S.BILLED)
    assert person["standard_value"] == as_money(S.T6_STANDARD)
    assert person["realization"] == S.ratio(S.BILLED, S.T6_STANDARD)
    assert body["teams"][0]["realization"] == S.ratio(S.BILLED, S.T6_STANDARD)


def test_a_rate_change_prices_new_work_only_and_a_correction_is_priced_anew(
    firm: Running,
) -> None:
    p1 = canonical_id(firm, "Project", "P1")
    settle(
        firm,
        S.rate_card(consultant_from_10th="130.00", seq=2),
        S.time_entry("T9", "U1", "P1", "2026-03-13", "1"),
        S.time_entry("T1", "U1", "P1", "2026-03-09", "6", seq=2),  # an approved fact corrected
        # A descriptive change is no new fact: the entry keeps its price.
        S.time_entry("T2", "U1", "P1", "2026-03-10", "7.5", seq=2, locked_reason="review"),
    )
    [gbp] = financials_of(firm, p1)["currencies"]
    # T2 keeps the price it had (non-retroactive); T1 is a new fact; T9 is new work.
    expected = S.value("6", "100.00") + S.T2 + S.T3 + S.value("1", "130.00")
    assert gbp["wip"]["time"] == as_money(expected)


def test_the_projection_rebuilt_from_zero_gives_the_same_figures(firm: Running) -> None:
    p1 = canonical_id(firm, "Project", "P1")
    before = financials_of(firm, p1)
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
    after = financials_of(firm, p1)
    assert after["currencies"] == before["currencies"]


def test_prometheus_shows_wip_per_currency(firm: Running) -> None:
    text = firm.api.get("/metrics").text
    assert f'pshub_wip{{currency="GBP"}} {float(S.WIP)}' in text
    assert f'pshub_wip{{currency="EUR"}} {float(S.P2_WIP)}' in text
    assert 'pshub_utilization_ratio{kind="billable",team="Advisory"}' in text
    assert 'pshub_projection_position{projection="metrics"}' in text


def test_bad_requests_are_refused_with_the_field_and_rule(running: Running) -> None:
    settle(running, *S.parties())
    p1 = canonical_id(running, "Project", "P1")
    confidential = running.token("read", "read:confidential")
    reader = running.token("read")
    # Values derived from rates need read:confidential.
    problem_of(running.api.get(f"/v1/engagements/{p1}/financials", headers=reader), 403)
    problem_of(running.api.get("/v1/metrics/wip", headers=reader), 403)
    problem_of(running.api.get("/v1/metrics/realization", headers=reader), 403)
    problem_of(running.api.get("/v1/metrics/utilization"), 401)
    unknown = "00000000-0000-4000-8000-000000000000"
    problem_of(running.api.get(f"/v1/engagements/{unknown}/financials", headers=confidential), 404)
    problem_of(
        running.api.get("/v1/metrics/wip", params={"engagement_id": unknown}, headers=confidential),
        404,
    )
    problem_of(running.api.get("/v1/engagements/not-a-uuid/financials", headers=confidential), 422)
    gone = envelope(
        "harvest",
        "engagement",
        {
            "id": "P7",
            "client": ref("Client", "C1"),
            "name": "Gone",
            "currency": "GBP",
            "status": "active",
        },
        source_type="Project",
    )
    settle(running, gone)
    p7 = canonical_id(running, "Project", "P7")
    settle(
        running,
        envelope("harvest", "engagement", {"id": "P7"}, seq=2, deleted=True, source_type="Project"),
    )
    problem_of(running.api.get(f"/v1/engagements/{p7}/financials", headers=confidential), 410)
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
        body = problem_of(
            running.api.get("/v1/metrics/utilization", params=params, headers=reader), 400
        )
        assert body["errors"][0]["field"] == field, (params, body)
        assert body["errors"][0]["rule"] == rule, (params, body)
    body = problem_of(
        running.api.get("/v1/metrics/wip", params={"as_of": "yesterday"}, headers=confidential),
        400,
    )
    assert body["errors"][0]["field"] == "as_of"
    for value, status, rule in (
        ("x", 400, "integer"),
        ("\u00b2", 400, "integer"),  # a digit to str.isdigit, not to int()
        ("99999999", 422, "maximum"),
    ):
        body = problem_of(
            running.api.get(
                f"/v1/engagements/{p1}/financials",
                params={"min_position": value},
                headers=confidential,
            ),
            status,
        )
        assert (body["errors"][0]["field"], body["errors"][0]["rule"]) == ("min_position", rule)


def test_wip_ages_by_work_date_and_leaves_out_work_after_as_of(firm: Running) -> None:
    confidential = firm.token("read", "read:confidential")
    aged = firm.api.get("/v1/metrics/wip", params={"as_of": "2026-04-09"}, headers=confidential)
    assert aged.status_code == 200, aged.text
    bands = {(a["currency"], a["days"]): a["amount"] for a in aged.json()["aging"]}
    # T1 (9 March) is 31 days old on 9 April; T2, T3 and E1 (10 March) and T7 (11 March) less.
    assert bands == {
        ("GBP", "31-60"): as_money(S.T1),
        ("GBP", "0-30"): as_money(S.T2 + S.T3 + S.WIP_EXPENSES),
        ("EUR", "0-30"): as_money(S.P2_WIP, "EUR"),
    }
    early = firm.api.get("/v1/metrics/wip", params={"as_of": "2026-03-09"}, headers=confidential)
    assert early.json()["totals"] == [{"currency": "GBP", "wip": as_money(S.T1)}]


def test_a_restarted_projection_prices_from_what_its_tables_hold(firm: Running) -> None:
    hub = firm.hub
    hub.runners["metrics"].stop()
    # A new projection object: its rate cards, roles and clients come from its own tables.
    hub.runners["metrics"] = runner_of(hub.app, "metrics", hub.metrics, hub.database_url)
    hub.runners["metrics"].start()
    settle(firm, S.time_entry("T9", "U2", "P1", "2026-03-13", "2"))
    [gbp] = financials_of(firm, canonical_id(firm, "Project", "P1"))["currencies"]
    assert gbp["wip"]["time"] == as_money(S.WIP_TIME + S.value("2", "200.00"))
