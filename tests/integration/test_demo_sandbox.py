"""The demo as `make run` serves it, with the sandbox (hub/sandbox/): the demo firm delivered
to the downstream systems' stand-ins and acknowledged, won engagements provisioned to ready,
and the drift the sandbox makes (a NetSuite customer renamed by hand) found by a pass, its
DRIFT case retried and gone on the next pass."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hub.demo import DemoSpec, load_demo
from hub.sandbox.drift import SUFFIX, TRIGGER
from hub.sandbox.running import SYSTEMS
from hub.settings import Settings
from tests.support.feeding import until
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub

# What `make run` runs with the embedded store (Settings.components adds provisioning).
RUN = "ingest,projections,relay,pollers,feeds,provisioning"
# PSHUB_DEMO_SANDBOX_TARGETS' default where the billing engines invoice runs (`make run`).
SANDBOXED = ("netsuite", "quickbooks", "xero", "harvest", "sharepoint")


def reconciliation(running: Running) -> dict[str, Any]:
    answer = running.api.get(
        "/v1/reconciliation", headers=running.token("read", "read:confidential")
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def netsuite_xrefs(running: Running, entity: str, record_id: object) -> list[dict[str, Any]]:
    answer = running.api.get(f"/v1/{entity}/{record_id}", headers=running.token("read"))
    assert answer.status_code == 200, answer.text
    return [x for x in answer.json()["xrefs"] if x["system"] == "netsuite"]


def test_the_demo_is_delivered_to_the_sandbox_and_its_drift_repaired(
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for system in SYSTEMS:
        monkeypatch.delenv(f"PSHUB_FEED_{system.upper()}_BASE_URL", raising=False)
        monkeypatch.delenv(f"PSHUB_FEED_{system.upper()}_ENABLED", raising=False)
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")  # as `make run` serves
    options = {"demo_sandbox": True, "run": RUN, "data_dir": tmp_path, "feed_backoff": 0.05}
    with running_hub(settings, make_database, nats_url, **options) as running:
        sandbox = running.hub.sandbox
        assert sandbox is not None
        assert sorted(sandbox.base_urls()) == sorted(SANDBOXED)
        for url in sandbox.base_urls().values():
            assert url.startswith("http://127.0.0.1:")
        summary = load_demo(running.hub.app, DemoSpec(seed=7, scale=0.05), progress=False)
        until(lambda: sandbox.drift_seeded, timeout=300, what="the sandbox's drift")

        # Delivered and acknowledged: each system holds the firm, the hub their ids as xrefs.
        assert sandbox.netsuite.created["customer"] >= 2
        assert sandbox.netsuite.created["job"] >= 1
        assert sandbox.harvest.created["clients"] >= 2
        ready = summary.examples["provisioned_engagement"]
        [job] = netsuite_xrefs(running, "engagements", ready)
        assert job["type"] == "job" and job["id"] in sandbox.netsuite.records["job"]
        reader = running.token("read")
        provisioning = running.api.get(
            f"/v1/engagements/{ready}/provisioning", headers=reader
        ).json()
        assert provisioning["state"] == "ready", provisioning
        assert {t["target"] for t in provisioning["targets"]} == set(SANDBOXED)

        # The drift: the renamed customer, with its DRIFT case.
        found = reconciliation(running)
        assert found["run"]["trigger"] == TRIGGER
        targets = {t["target"]: t for t in found["targets"]}
        assert {n for n, t in targets.items() if t["reconcilable"]} == set(SANDBOXED)
        for name, target in targets.items():
            if name != "netsuite" and target["reconcilable"]:
                assert target["totals"]["drift"] == 0, (name, target["drift"])
        [drift] = targets["netsuite"]["drift"]
        assert (drift["outcome"], drift["entity"]) == ("differing", "customer")
        renamed = sandbox.netsuite.records["customer"][drift["target_id"]]
        assert renamed["companyName"].endswith(SUFFIX)
        [field] = drift["differences"]
        assert field["field"] == "companyName" and field["system"] == renamed["companyName"]
        cases = running.api.get(
            "/v1/exceptions", params={"reason": "DRIFT"}, headers=reader
        ).json()["items"]
        assert [(c["id"], c["status"]) for c in cases] == [(drift["case_id"], "open")]

        # The newcomer's repair: retry re-feeds the customer; the next pass finds no drift.
        retried = running.api.post(
            f"/v1/exceptions/{drift['case_id']}/retry", headers=running.token("operate")
        )
        assert retried.status_code == 202, retried.text
        until(lambda: not renamed["companyName"].endswith(SUFFIX), what="the name put back")
        started = running.api.post("/v1/reconciliation/run", headers=running.token("operate"))
        assert started.status_code == 202, started.text
        until(
            lambda: (
                reconciliation(running)["run"]["status"] != "running"
                and reconciliation(running)["run"]["trigger"] != TRIGGER
            ),
            what="the second pass",
        )
        again = reconciliation(running)
        assert again["run"]["status"] == "finished", again["run"]
        reconciled = [t for t in again["targets"] if t["reconcilable"]]
        assert [t["target"] for t in reconciled] == list(SANDBOXED)
        assert all(t["totals"]["drift"] == 0 for t in reconciled), reconciled
        case = running.api.get(f"/v1/exceptions/{drift['case_id']}", headers=reader).json()
        assert case["status"] == "resolved"

    # Stopped: the environment is given back, and the targets' state kept for the next run.
    assert (tmp_path / "sandbox" / "targets.pickle").exists()
    assert "PSHUB_FEED_NETSUITE_BASE_URL" not in os.environ
