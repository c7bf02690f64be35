"""Billing runs' drafts on the billing feeds, end to end: with PSHUB_BILLING_INVOICES=runs a
running hub delivers each run's draft to QuickBooks or Xero (loopback servers of their APIs)
as one invoice of all its lines, a cap's write-down as a negative line, and records the
target's invoice as an xref of the draft's golden record; billable items are not invoiced on
their own."""

from __future__ import annotations

from typing import Any

import pytest

from hub.sandbox.quickbooks import QuickBooksApi
from hub.sandbox.xero import XeroApi
from hub.settings import Settings
from tests.integration.test_billing_knowledge_feeds import (
    REALM,
    XERO_TENANT,
    approved_time,
    feeding,
    firm,
    xrefs,
)
from tests.support.changes import envelope, money, ref
from tests.support.feeding import until
from tests.support.hygiene import Databases
from tests.support.running import Running

MARCH = {"period_start": "2026-03-01", "period_end": "2026-04-01"}


def priced(running: Running, engagement: Any, cap: str | None = None) -> None:
    """A rate card pricing the consultant's time at 125.00 (the helpers' entry: 6 h on
    2026-03-02 -> 750.00), and a contract line, capped where `cap` is given."""
    line = {"bill_rate": money("125.00"), "effective_from": "2026-01-01", "role": "Consultant"}
    card = envelope(
        "harvest", "rate_card", {"id": "RC1", "name": "Card", "lines": [line]},
        source_type="RateCard",
    )  # fmt: skip
    terms: dict[str, Any] = {"type": "time_and_materials"}
    if cap is not None:
        terms = {"type": "capped_time_and_materials", "cap": money(cap)}
    contract = envelope(
        "harvest",
        "contract",
        {
            "id": "K1",
            "engagement": ref("engagement", str(engagement.id), system="hub"),
            "currency": "GBP",
            "status": "active",
            **terms,
        },
        source_type="Contract",
    )
    for body in (card, contract):
        running.publish_events(body)
        assert running.outcome(body["id"])["status"] == "applied"


def run_march(running: Running, engagement: Any) -> dict[str, Any]:
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["metrics"].wait_for(head, 30)
    answer = running.api.post(
        "/v1/commands/run-billing",
        json={"engagement_id": str(engagement.id), **MARCH},
        headers=running.token("operate"),
    )
    assert answer.status_code == 201, answer.text
    [draft] = answer.json()["drafts"]
    return draft


def test_xero_holds_each_run_draft_as_one_invoice_with_its_write_down(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")
    with (
        XeroApi(XERO_TENANT) as api,
        feeding("XERO", api, XERO_TENANT, settings, make_database, nats_url, monkeypatch) as hub,
    ):
        _, engagement = firm(hub)
        approved_time(hub, engagement)
        priced(hub, engagement, cap="500.00")
        draft = run_march(hub, engagement)
        until(
            lambda: ("xero", XERO_TENANT, "Invoice") in xrefs(hub, "invoices", draft["invoice_id"]),
            what="the draft acknowledged as the Xero invoice",
        )
        [invoice] = api.held(XERO_TENANT, "Invoices")
        assert (invoice["Status"], invoice["CurrencyCode"]) == ("DRAFT", "GBP")
        amounts = [str(line["LineAmount"]) for line in invoice["LineItems"]]
        assert amounts == ["750.00", "-250.00"]  # 6 h x 125.00, beyond the 500.00 cap
        assert str(invoice["Total"]) == "500.00"
        # The time entry went on the draft only: no line of its own.
        entries = hub.api.get("/v1/time-entries", headers=hub.auth).json()["items"]
        assert not any(x["system"] == "xero" for e in entries for x in e["xrefs"])
        # Its 6 approved hours reached Xero within the SLA (seconds, against 48 h).
        head = hub.hub.app.hub_recorder.select_head()[0]
        sync = hub.api.get(
            "/v1/metrics/billing-sync",
            params={"engagement_id": str(engagement.id), "min_position": str(head)},
            headers=hub.token("read"),
        )
        assert sync.status_code == 200, sync.text
        figures = sync.json()
        assert (figures["due_hours"], figures["within_sla_hours"]) == ("6.00", "6.00")
        assert figures["share_within_sla"] == "1.0000" and figures["sla_hours"] == 48.0
        scrape = hub.api.get("/metrics").text
        assert "pshub_billing_sync_within_sla_ratio 1.0" in scrape


def test_quickbooks_holds_each_run_draft_as_one_invoice_to_the_job(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")
    with QuickBooksApi() as api, feeding(
        "QUICKBOOKS", api, REALM, settings, make_database, nats_url, monkeypatch
    ) as hub:  # fmt: skip
        _, engagement = firm(hub)
        approved_time(hub, engagement)
        priced(hub, engagement)
        draft = run_march(hub, engagement)
        until(
            lambda: ("quickbooks", REALM, "Invoice") in xrefs(hub, "invoices", draft["invoice_id"]),
            what="the draft acknowledged as the QuickBooks invoice",
        )
        [invoice] = api.held(REALM, "invoice")
        [job] = [c for c in api.held(REALM, "customer") if c.get("Job")]
        assert invoice["CustomerRef"]["value"] == job["Id"]
        assert str(invoice["TotalAmt"]) == "750.00"
        assert invoice["PrivateNote"] == f"pshub billing run draft {draft['invoice_id']}"


def withdraw_march(running: Running, engagement: Any, draft: dict[str, Any]) -> None:
    """Harvest re-opens the draft's only entry (no longer approved): the next run command
    withdraws the emptied draft."""
    entry = {
        "id": "T1",
        "engagement": ref("engagement", str(engagement.id), system="hub"),
        "resource": ref("User", "U1"),
        "work_date": "2026-03-02",
        "hours": "6.00",
        "billable": True,
        "status": "submitted",
        "task": "Analysis",
        "billable_rate": money("125.00"),
    }
    body = envelope("harvest", "time_entry", entry, source_type="TimeEntry", seq=2)
    running.publish_events(body)
    assert running.outcome(body["id"])["status"] == "applied"
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["metrics"].wait_for(head, 30)
    answer = running.api.post(
        "/v1/commands/run-billing",
        json={"engagement_id": str(engagement.id), **MARCH},
        headers=running.token("operate"),
    )
    assert answer.status_code == 200, answer.text
    [settled] = answer.json()["redrafted"]
    assert (settled["invoice_id"], settled["withdrawn"]) == (draft["invoice_id"], True)


def test_xero_deletes_a_run_draft_the_hub_withdrew(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")
    with (
        XeroApi(XERO_TENANT) as api,
        feeding("XERO", api, XERO_TENANT, settings, make_database, nats_url, monkeypatch) as hub,
    ):
        _, engagement = firm(hub)
        approved_time(hub, engagement)
        priced(hub, engagement)
        draft = run_march(hub, engagement)
        until(
            lambda: ("xero", XERO_TENANT, "Invoice") in xrefs(hub, "invoices", draft["invoice_id"]),
            what="the draft acknowledged as the Xero invoice",
        )
        withdraw_march(hub, engagement, draft)
        until(
            lambda: [i["Status"] for i in api.held(XERO_TENANT, "Invoices")] == ["DELETED"],
            what="the Xero draft deleted",
        )


def test_quickbooks_deletes_a_run_draft_the_hub_withdrew(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_BILLING_INVOICES", "runs")
    with QuickBooksApi() as api, feeding(
        "QUICKBOOKS", api, REALM, settings, make_database, nats_url, monkeypatch
    ) as hub:  # fmt: skip
        _, engagement = firm(hub)
        approved_time(hub, engagement)
        priced(hub, engagement)
        draft = run_march(hub, engagement)
        until(
            lambda: ("quickbooks", REALM, "Invoice") in xrefs(hub, "invoices", draft["invoice_id"]),
            what="the draft acknowledged as the QuickBooks invoice",
        )
        assert len(api.held(REALM, "invoice")) == 1
        withdraw_march(hub, engagement, draft)
        until(lambda: api.held(REALM, "invoice") == [], what="the QuickBooks invoice deleted")
