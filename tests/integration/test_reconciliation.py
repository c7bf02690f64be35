"""Reconciliation with the NetSuite and Harvest loopback targets, on real PostgreSQL and NATS:
drift seeded by editing and deleting records on the targets themselves is found field by
field and opens DRIFT cases, a second pass opens nothing new, retry re-feeds, and the pass
after it finds no drift; a target down or throttled during a pass changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.sandbox.server import Answer
from hub.settings import Settings
from tests.integration.test_feeds import META, acknowledged, delivered, firm
from tests.support.feeding import Fed, fed_hub, until
from tests.support.hygiene import Databases


def run_pass(fed: Fed, *targets: str) -> dict[str, Any]:
    """Starts a pass on demand and waits for it to end; returns the run."""
    body = {"targets": list(targets)} if targets else None
    started = fed.running.api.post(
        "/v1/reconciliation/run", json=body, headers=fed.running.token("operate")
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    reader = fed.running.token("read")
    return until(
        lambda: (
            (run := fed.running.api.get(location, headers=reader).json())["status"] != "running"
            and run
        ),
        what="the reconciliation run to end",
    )


def report(fed: Fed, **params: str) -> dict[str, dict[str, Any]]:
    answer = fed.running.api.get(
        "/v1/reconciliation",
        params=params,
        headers=fed.running.token("read", "read:confidential"),
    )
    assert answer.status_code == 200, answer.text
    return {t["target"]: t for t in answer.json()["targets"]}


def drift_cases(fed: Fed) -> list[dict[str, Any]]:
    answer = fed.running.api.get(
        "/v1/exceptions",
        params={"reason": "DRIFT", "limit": 100},
        headers=fed.running.token("read"),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def two_firms(fed: Fed) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    first = firm(fed, "Fjord Analytics AS", "FJ-001")
    second = firm(fed, "Bergen Data AS", "BD-002")
    until(lambda: delivered(fed, 2, 2), what="two customers, jobs, clients and projects")
    for client, engagement in (first, second):
        until(lambda c=client, e=engagement: acknowledged(fed, c, e), what="acknowledged")
    return first, second


def test_drift_is_found_field_by_field_refed_and_gone_on_the_next_pass(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        (client_a, engagement_a), (_, engagement_b) = two_firms(fed)
        run = run_pass(fed)
        assert run["status"] == "finished" and run["trigger"] == "operate"
        assert run["progress"]["done"] == ["netsuite", "harvest"]
        assert run["progress"]["read"] == 8  # 2 customers, 2 jobs, 2 clients, 2 projects
        found = report(fed)
        for name in ("netsuite", "harvest"):
            assert found[name]["status"] == "reconciled"
            assert found[name]["totals"]["overall"]["matching"] == 4
            assert found[name]["totals"]["drift"] == 0 and found[name]["drift"] == []
        assert drift_cases(fed) == []

        # Drift, made on the targets themselves: an edit, a deletion, a record made by hand.
        ns_customer = next(
            c for c in fed.netsuite.records["customer"].values()
            if c["externalId"] == f"pshub-{client_a.id}"
        )  # fmt: skip
        ns_customer["companyName"] = "Fjord Analytics (edited in NetSuite)"
        ns_job_b = next(
            j for j in fed.netsuite.records["job"].values()
            if j["externalId"] == f"pshub-{engagement_b.id}"
        )  # fmt: skip
        fed.netsuite.delete("job", ns_job_b["id"])
        projects = fed.harvest.records["projects"]
        hv_project_a = next(p for p in projects.values() if p["code"] == "FJ-001")
        hv_project_a["is_active"] = False
        hv_project_b = next(p for p in projects.values() if p["code"] == "BD-002")
        del projects[hv_project_b["id"]]
        fed.harvest.records["clients"][7_000_001] = {"id": 7_000_001, "name": "Walk-in Client"}

        run_pass(fed)
        found = report(fed)
        ns, hv = found["netsuite"], found["harvest"]
        assert ns["totals"]["entities"]["customer"] == {
            "matching": 1, "missing_downstream": 0, "missing_in_hub": 0, "differing": 1,
        }  # fmt: skip
        assert ns["totals"]["entities"]["job"]["missing_downstream"] == 1
        assert ns["totals"]["entities"]["job"]["matching"] == 1
        by_outcome = {d["outcome"]: d for d in ns["drift"]}
        assert by_outcome["differing"]["differences"] == [
            {
                "field": "companyName",
                "hub": "Fjord Analytics AS",
                "system": "Fjord Analytics (edited in NetSuite)",
                "confidential": False,
            }
        ]
        assert by_outcome["differing"]["canonical_id"] == str(client_a.id)
        assert by_outcome["missing_downstream"]["canonical_id"] == str(engagement_b.id)
        assert by_outcome["missing_downstream"]["target_id"] == ns_job_b["id"]
        assert hv["totals"]["overall"] == {
            "matching": 2, "missing_downstream": 1, "missing_in_hub": 1, "differing": 1,
        }  # fmt: skip
        hv_drift = {d["outcome"]: d for d in hv["drift"]}
        assert hv_drift["differing"]["differences"][0]["field"] == "is_active"
        assert (
            hv_drift["differing"]["differences"][0]["hub"],
            hv_drift["differing"]["differences"][0]["system"],
        ) == (True, False)
        assert hv_drift["missing_in_hub"]["target_id"] == "7000001"
        assert hv_drift["missing_in_hub"]["canonical_id"] is None

        metrics = fed.running.api.get("/metrics").text
        assert 'pshub_reconciliation_records{outcome="differing",target="netsuite"} 1.0' in metrics
        assert 'pshub_reconciliation_records{outcome="missing_in_hub",target="harvest"} 1.0' in (
            metrics
        )
        cases = drift_cases(fed)
        assert len(cases) == 5 and {c["status"] for c in cases} == {"open"}
        assert {c["system"] for c in cases} == {"netsuite", "harvest"}
        by_id = {c["id"]: c for c in cases}
        for target in (ns, hv):
            for drift in target["drift"]:
                assert drift["case_id"] in by_id
        assert "companyName" in by_id[by_outcome["differing"]["case_id"]]["detail"]

        # Idempotent: the same drift again opens nothing new.
        run_pass(fed)
        assert {c["id"] for c in drift_cases(fed)} == set(by_id)

        # Retry re-feeds what the hub holds; a record only the target has cannot be.
        operator = fed.running.token("operate")
        for drift in [*ns["drift"], *hv["drift"]]:
            answer = fed.running.api.post(
                f"/v1/exceptions/{drift['case_id']}/retry", headers=operator
            )
            if drift["outcome"] == "missing_in_hub":
                assert answer.status_code == 409, answer.text
                assert "exists only in harvest" in answer.json()["detail"]
            else:
                assert answer.status_code == 202, answer.text
                assert answer.json()["outcome"] == "refed"
        until(lambda: fed.netsuite.created["job"] == 3, what="the lost job made again")
        until(lambda: ns_customer["companyName"] == "Fjord Analytics AS", what="the name put back")
        until(lambda: fed.harvest.created["projects"] == 3, what="the lost project made again")
        until(lambda: hv_project_a["is_active"] is True, what="the project active again")
        # The hand-made Harvest client: dismissed, it stays dismissed while it is there...
        walk_in = hv_drift["missing_in_hub"]["case_id"]
        dismissed = fed.running.api.post(
            f"/v1/exceptions/{walk_in}/dismiss",
            json={"comment": "a test client someone made by hand"},
            headers=operator,
        )
        assert dismissed.status_code == 200, dismissed.text
        run_pass(fed)
        assert len(drift_cases(fed)) == 5, "a dismissed drift is not raised again"
        [still] = [d for d in report(fed)["harvest"]["drift"] if d["outcome"] == "missing_in_hub"]
        assert still["case_id"] == walk_in
        # ... and someone removes it there.
        del fed.harvest.records["clients"][7_000_001]

        run_pass(fed)
        found = report(fed)
        for name in ("netsuite", "harvest"):
            assert found[name]["totals"]["drift"] == 0, found[name]["drift"]
            assert found[name]["totals"]["overall"]["matching"] == 4
        statuses = until(
            lambda: (
                (s := {c["id"]: c["status"] for c in drift_cases(fed)})
                and set(s.values()) == {"resolved", "dismissed"}
                and s
            ),
            what="every DRIFT case resolved",
        )
        assert statuses[walk_in] == "dismissed"
        assert list(statuses.values()).count("resolved") == 4
        assert len(drift_cases(fed)) == 5
        # The job made again is acknowledged: the engagement holds the new id as an xref.
        new_job = next(
            j for j in fed.netsuite.records["job"].values()
            if j["externalId"] == f"pshub-{engagement_b.id}"
        )  # fmt: skip
        engagement = fed.running.api.get(
            f"/v1/engagements/{engagement_b.id}", headers=fed.running.token("read")
        ).json()
        assert new_job["id"] in {x["id"] for x in engagement["xrefs"]}
        # A later change goes to the record made anew, not to the one NetSuite lost.
        changed = fed.app.find_any(engagement_b.id)
        changed.revise(name="Bergen Data lakehouse")
        fed.app.record(changed, meta=META)
        until(lambda: new_job["companyName"] == "Bergen Data lakehouse", what="the job updated")
        assert fed.netsuite.created["job"] == 3
        assert engagement_a.id != engagement_b.id


def test_a_target_down_or_throttled_during_a_pass_changes_nothing(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(
        settings, make_database, nats_url, monkeypatch, reconcile_interval=timedelta(seconds=0.5)
    ) as fed:
        two_firms(fed)
        # The schedule runs passes by itself.
        reader = fed.running.token("read")
        until(
            lambda: (
                (run := fed.running.api.get("/v1/reconciliation", headers=reader).json()["run"])
                and run["trigger"] == "schedule"
                and run["status"] == "finished"
            ),
            what="a scheduled run",
        )
        [customer] = [
            c
            for c in fed.netsuite.records["customer"].values()
            if c["companyName"] == "Bergen Data AS"
        ]
        customer["companyName"] = "Edited"
        until(lambda: report(fed)["netsuite"]["totals"].get("drift") == 1, what="drift found")
        [case] = until(lambda: drift_cases(fed))

        fed.netsuite.server.stop()
        try:
            found = until(
                lambda: (r := report(fed))["netsuite"]["status"] == "unreachable" and r,
                what="netsuite reported unreachable",
            )
        finally:
            fed.netsuite.server.start()
        ns = found["netsuite"]
        assert "NetSuite" in ns["error"]
        # The run says so too.
        run = until(
            lambda: (
                (
                    r := fed.running.api.get(
                        f"/v1/reconciliation/runs/{ns['run_id']}", headers=reader
                    )
                ).json()["status"]
                != "running"
                and r.json()
            )
        )
        assert run["status"] == "incomplete"
        assert run["summary"]["netsuite"]["status"] == "unreachable"
        assert run["summary"]["harvest"]["status"] == "reconciled"
        # What the last good pass found stays, and no case opened or closed.
        assert ns["totals"]["drift"] == 1 and len(ns["drift"]) == 1
        assert ns["drift"][0]["case_id"] == case["id"]
        assert found["harvest"]["status"] == "reconciled"
        assert [c["id"] for c in drift_cases(fed)] == [case["id"]]
        assert drift_cases(fed)[0]["status"] == "open"

        # Throttled once: the pass waits as Harvest asks and goes on; throttled for good: says so.
        fed.harvest.server.injected.append(
            Answer(429, {"message": "slow down"}, {"Retry-After": "0.1"})
        )
        until(
            lambda: (
                report(fed)["harvest"]["status"] == "reconciled" and not fed.harvest.server.injected
            )
        )
        for _ in range(20):
            fed.harvest.server.injected.append(
                Answer(429, {"message": "slow down"}, {"Retry-After": "0.05"})
            )
        until(lambda: report(fed)["harvest"]["status"] == "throttled", what="throttled reported")
        fed.harvest.server.injected.clear()
        assert [c["id"] for c in drift_cases(fed)] == [case["id"]]

        # Harvest lists nothing at all (a token that sees nothing): not believed, no cases.
        kept, fed.harvest.records = fed.harvest.records, {"clients": {}, "projects": {}}
        try:
            found = until(
                lambda: (r := report(fed))["harvest"]["status"] == "empty_listing" and r,
                what="an empty listing reported",
            )
        finally:
            fed.harvest.records = kept
        assert "expects 4" in found["harvest"]["error"]
        assert found["harvest"]["totals"]["overall"]["matching"] == 4  # the last good pass
        assert [c["id"] for c in drift_cases(fed)] == [case["id"]]


def test_bad_requests_are_problems_naming_what_is_wrong(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        api, running = fed.running.api, fed.running
        unknown = api.get(
            "/v1/reconciliation", params={"target": "sap"}, headers=running.token("read")
        )
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert unknown.json()["errors"][0]["field"] == "target"
        posted = api.post(
            "/v1/reconciliation/run", json={"targets": ["sap"]}, headers=running.token("operate")
        )
        assert posted.status_code == 404 and posted.json()["errors"][0]["field"] == "targets.0"
        empty = api.post(
            "/v1/reconciliation/run", json={"targets": []}, headers=running.token("operate")
        )
        assert empty.status_code == 422, empty.text  # as every body the contract refuses
        assert empty.json()["errors"][0]["field"] == "targets"
        # QuickBooks has no connector in this hub: it cannot be reconciled.
        disabled = api.post(
            "/v1/reconciliation/run",
            json={"targets": ["quickbooks"]},
            headers=running.token("operate"),
        )
        assert disabled.status_code == 409, disabled.text
        # One run at a time: a second one while the first reads a slow NetSuite is 409.
        fed.netsuite.server.delay = 0.5
        operator = running.token("operate")
        first = api.post("/v1/reconciliation/run", headers=operator)
        assert first.status_code == 202, first.text
        second = api.post("/v1/reconciliation/run", headers=operator)
        assert second.status_code == 409 and "in progress" in second.json()["detail"]
        fed.netsuite.server.delay = 0.0
        until(
            lambda: (
                api.get(first.headers["Location"], headers=running.token("read")).json()["status"]
                == "finished"
            )
        )
        forbidden = api.post("/v1/reconciliation/run", headers=running.token("read"))
        assert forbidden.status_code == 403
        assert api.get("/v1/reconciliation").status_code == 401
        assert (
            api.get("/v1/reconciliation/runs/not-a-uuid", headers=running.token("read")).status_code
            == 422
        )
        # Without read:confidential, money and rate-derived values are left out.
        plain = api.get("/v1/reconciliation", headers=running.token("read")).json()
        assert plain["confidential_hidden"] is True
        listed = {t["target"]: t for t in plain["targets"]}
        assert listed["quickbooks"]["reconcilable"] is False
        assert "disabled" in listed["quickbooks"]["why_not"]
