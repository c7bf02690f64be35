"""Billing runs over NATS ingest and PostgreSQL, through POST /v1/commands/run-billing: one
engagement per contract type, a cap exceeded, a rate change mid-period, a correction after
approval before the run, a second run that makes no second draft, two currencies on one
client. Every figure is checked against the scenario's hand calculation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.billing_run import BillingRun
from hub.readiness import entities
from hub.settings import Settings
from tests.integration import billing_run_scenario as S
from tests.support.changes import envelope
from tests.support.feeding import read_stream, until
from tests.support.running import Running, running_hub

MARCH = {"period_start": "2026-03-01", "period_end": "2026-04-01"}


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Any, nats_url: str) -> Iterator[Running]:
    """One firm for the module (its ingest takes a while): each test reads its own engagement,
    and March's runs are made once (`runs`). Its billing feeds invoice runs' drafts."""
    with (
        pytest.MonkeyPatch.context() as patch,
        running_hub(
            settings,
            make_database,
            nats_url,
            ingest_max_deliveries=3,
            legal_entities=S.LEGAL_ENTITIES,
        ) as running,
    ):
        patch.setenv("PSHUB_BILLING_INVOICES", "runs")
        publish(running, *S.parties())
        publish(running, *S.work())
        publish(running, S.correction(), S.milestone())
        yield running
    entities.configure(None)


@pytest.fixture(scope="module")
def runs(firm: Running) -> dict[str, Any]:
    """Each engagement's March run, the first time."""
    return {project: run(firm, project) for project in ("P1", "P2", "P3", "P4", "P6")}


def publish(running: Running, *bodies: dict[str, Any]) -> None:
    running.publish_events(*bodies)
    outcomes = running.settle([b["id"] for b in bodies])
    assert [o["status"] for o in outcomes] == ["applied"] * len(bodies), outcomes
    head = running.hub.app.hub_recorder.select_head()[0]
    for name in ("metrics", "billing_readiness"):
        assert running.hub.runners[name].wait_for(head, 30)


def canonical(running: Running, type_: str, source_id: str) -> str:
    found = running.xref("harvest", type_, source_id)
    assert found.status_code == 200, found.text
    return str(found.json()["id"])


def run(running: Running, project: str, period: dict[str, str] = MARCH, status: int = 201) -> Any:
    body = {"engagement_id": canonical(running, "Project", project), **period}
    answer = running.api.post(
        "/v1/commands/run-billing", json=body, headers=running.token("operate")
    )
    assert answer.status_code == status, answer.text
    return answer.json()


def amounts(draft: dict[str, Any]) -> list[Decimal]:
    return [Decimal(line["amount"]) for line in draft["lines"]]


def billed_ids(draft: dict[str, Any], key: str) -> list[str]:
    return [ref["id"] for line in draft["lines"] for ref in line[key]]


def test_time_and_materials_bills_the_period_at_the_rate_on_each_work_date(
    firm: Running, runs: dict[str, Any]
) -> None:
    answer = runs["P1"]
    assert answer["created"] is True and answer["contract_type"] == "time_and_materials"
    [draft] = answer["drafts"]
    assert draft["currency"] == "GBP"
    assert sorted(amounts(draft)) == sorted(S.P1_LINES)
    assert Decimal(draft["total"]) == S.P1_TOTAL and Decimal(draft["written_down"]) == 0
    # Every line names what it bills; the corrected entry at the version of its new fact.
    ids = {canonical(firm, "TimeEntry", t) for t in ("T1", "T2", "T3")}
    assert set(billed_ids(draft, "time_entries")) == ids
    assert billed_ids(draft, "expenses") == [canonical(firm, "Expense", "E1")]
    t3 = canonical(firm, "TimeEntry", "T3")
    history = firm.api.get(f"/v1/time-entries/{t3}/history", headers=firm.token("read"))
    kinds = [e["type"].rsplit(".", 1)[-1] for e in history.json()["items"]]
    assert "Reversed" in kinds and "Corrected" in kinds, kinds
    [t3_ref] = [r for line in draft["lines"] for r in line["time_entries"] if r["id"] == t3]
    record = firm.api.get(f"/v1/time-entries/{t3}", headers=firm.token("read")).json()
    assert t3_ref["version"] == record["version"]
    # The draft is an invoice golden record in status draft, its lines traceable.
    invoice = firm.api.get(f"/v1/invoices/{draft['invoice_id']}", headers=firm.token("read"))
    assert invoice.status_code == 200, invoice.text
    doc = invoice.json()
    assert (doc["status"], doc["currency"], doc["subtotal"]["amount"]) == (
        "draft", "GBP", str(S.P1_TOTAL),
    )  # fmt: skip
    assert {i for line in doc["lines"] for i in line["time_entry_ids"]} == ids


def test_a_second_run_for_the_same_period_makes_no_second_draft(
    firm: Running, runs: dict[str, Any]
) -> None:
    first = runs["P1"]
    head = firm.hub.app.hub_recorder.select_head()[0]
    again = run(firm, "P1", status=200)
    assert again["created"] is False and again["run_id"] == first["run_id"]
    assert again["drafts"] == first["drafts"]
    assert firm.hub.app.hub_recorder.select_head()[0] == head  # nothing recorded
    engagement = canonical(firm, "Project", "P1")
    invoices = firm.api.get(
        "/v1/invoices", params={"engagement_id": engagement}, headers=firm.token("read")
    )
    assert invoices.status_code == 200, invoices.text
    assert len(invoices.json()["items"]) == 1
    # April's run bills April's work only: nothing of March twice.
    april = run(firm, "P1", {"period_start": "2026-04-01", "period_end": "2026-05-01"})
    [draft] = april["drafts"]
    assert billed_ids(draft, "time_entries") == [canonical(firm, "TimeEntry", "T9")]
    assert amounts(draft) == [S.value("1", "120.00")]


def test_two_currencies_on_one_client_are_two_drafts_never_summed(runs: dict[str, Any]) -> None:
    gbp, eur = runs["P1"]["drafts"], runs["P2"]["drafts"]
    assert [d["currency"] for d in gbp] == ["GBP"] and [d["currency"] for d in eur] == ["EUR"]
    assert Decimal(eur[0]["total"]) == S.P2_TOTAL
    assert gbp[0]["invoice_id"] != eur[0]["invoice_id"]


def test_a_cap_exceeded_is_written_down_visibly(firm: Running, runs: dict[str, Any]) -> None:
    answer = runs["P3"]
    [draft] = answer["drafts"]
    assert answer["contract_type"] == "capped_time_and_materials"
    assert [line["kind"] for line in draft["lines"]] == ["time", "time", "write_down"]
    assert draft["lines"][-1]["amount"] == str(-S.P3_WRITTEN_DOWN)
    assert Decimal(draft["total"]) == S.P3_CAP
    assert Decimal(draft["written_down"]) == S.P3_WRITTEN_DOWN
    assert Decimal(draft["standard"]) == S.P3_STANDARD
    [item] = draft["written_down_items"]
    assert item["id"] == canonical(firm, "TimeEntry", "T32")
    assert Decimal(item["amount"]) == S.P3_WRITTEN_DOWN


def test_fixed_fee_bills_its_billing_ready_milestone_and_not_its_hours(
    firm: Running, runs: dict[str, Any]
) -> None:
    answer = runs["P4"]
    [draft] = answer["drafts"]
    [line] = draft["lines"]
    assert line["kind"] == "milestone" and Decimal(line["amount"]) == S.P4_TOTAL
    assert line["milestone"]["id"] == canonical(firm, "Milestone", "M1")
    assert line["time_entries"] == []


def test_a_retainer_bills_its_fee_and_the_overage(firm: Running, runs: dict[str, Any]) -> None:
    [draft] = runs["P6"]["drafts"]
    kinds = [line["kind"] for line in draft["lines"]]
    assert kinds == ["retainer_fee", "included_hours", "overage"]
    assert amounts(draft) == [S.P6_FEE, Decimal("0.00"), S.P6_OVERAGE]
    assert Decimal(draft["overage"]) == S.P6_OVERAGE and Decimal(draft["total"]) == S.P6_TOTAL
    assert billed_ids(draft, "time_entries") == [
        canonical(firm, "TimeEntry", "T61"),
        canonical(firm, "TimeEntry", "T62"),
    ]


def test_the_run_is_an_event_in_the_log(firm: Running, runs: dict[str, Any]) -> None:
    answer = runs["P3"]
    recorded = firm.hub.app.find(UUID(answer["run_id"]), BillingRun)
    assert recorded is not None and recorded.drafts == answer["drafts"]
    assert answer["position"] >= recorded.version


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"period_start": "2026-03-01", "period_end": "2026-03-01"}, 422, "period_end"),
        ({"period_start": "2026-03-01"}, 422, "period_end"),
        ({"period_start": "2026-03-01", "period_end": "not a date"}, 422, "period_end"),
        ({"period_start": "2026-03-01", "period_end": "2026-04-01", "x": 1}, 422, "x"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    firm: Running, body: dict[str, Any], status: int, field: str
) -> None:
    full = {"engagement_id": canonical(firm, "Project", "P1"), **body}
    answer = firm.api.post("/v1/commands/run-billing", json=full, headers=firm.token("operate"))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text


def test_an_unknown_engagement_and_a_missing_scope_are_refused(firm: Running) -> None:
    body = {"engagement_id": "00000000-0000-4000-8000-000000000000", **MARCH}
    unknown = firm.api.post("/v1/commands/run-billing", json=body, headers=firm.token("operate"))
    assert unknown.status_code == 422 and "engagement_id" in unknown.text
    body["engagement_id"] = canonical(firm, "Project", "P1")
    denied = firm.api.post("/v1/commands/run-billing", json=body, headers=firm.token("read"))
    assert denied.status_code == 403
    anonymous = firm.api.post("/v1/commands/run-billing", json=body)
    assert anonymous.status_code == 401


def financials(running: Running, project: str) -> dict[str, Any]:
    head = running.hub.app.hub_recorder.select_head()[0]
    answer = running.api.get(
        f"/v1/engagements/{canonical(running, 'Project', project)}/financials",
        params={"min_position": str(head)},
        headers=running.token("read", "read:confidential"),
    )
    assert answer.status_code == 200, answer.text
    [gbp] = [c for c in answer.json()["currencies"] if c["currency"] == "GBP"]
    return gbp["billing_runs"]


def test_financials_show_what_the_runs_drafted_and_wrote_down(
    runs: dict[str, Any], firm: Running
) -> None:
    capped = financials(firm, "P3")
    assert Decimal(capped["drafted"]["amount"]) == S.P3_CAP
    assert Decimal(capped["written_down"]["amount"]) == S.P3_WRITTEN_DOWN
    retainer = financials(firm, "P6")
    assert Decimal(retainer["retainer_overage"]["amount"]) == S.P6_OVERAGE
    assert Decimal(retainer["drafted"]["amount"]) == S.P6_TOTAL
    scrape = firm.api.get("/metrics").text
    assert 'pshub_retainer_overage{currency="GBP"} 300.0' in scrape


def test_invoice_cycle_time_runs_from_billing_ready_to_issued_and_paid(
    firm: Running, runs: dict[str, Any]
) -> None:
    [draft] = runs["P4"]["drafts"]
    mapped = firm.api.post(
        "/v1/commands/map-xref",
        json={"system": "xero", "tenant": "t1", "type": "Invoice", "id": "XINV-4",
              "canonical_id": draft["invoice_id"]},
        headers=firm.token("operate"),
    )  # fmt: skip
    assert mapped.status_code == 200, mapped.text
    today = datetime.now(UTC).date()
    paid = envelope(
        "xero",
        "invoice",
        {
            "id": "XINV-4",
            "number": "INV-0042",
            "currency": "GBP",
            "issue_date": (today + timedelta(days=3)).isoformat(),
            "status": "paid",
        },
        source_type="Invoice",
        time=datetime.now(UTC) + timedelta(days=10),
    )
    publish(firm, paid)
    head = firm.hub.app.hub_recorder.select_head()[0]
    engagement = canonical(firm, "Project", "P4")
    answer = firm.api.get(
        "/v1/metrics/invoice-cycle",
        params={"engagement_id": engagement, "min_position": str(head)},
        headers=firm.token("read"),
    )
    assert answer.status_code == 200, answer.text
    [cycle] = answer.json()["drafts"]
    assert (cycle["invoice_id"], cycle["status"]) == (draft["invoice_id"], "paid")
    assert (cycle["days_to_issue"], cycle["days_to_paid"]) == (3, 10)
    scrape = firm.api.get("/metrics").text
    assert 'pshub_invoice_cycle_days_count{stage="paid"} 1.0' in scrape


def test_billing_ready_and_the_drafts_are_on_the_billing_feeds(
    firm: Running, runs: dict[str, Any]
) -> None:
    """No connector is configured here: the feeds publish what the targets must hold."""
    milestone = canonical(firm, "Milestone", "M1")
    drafts = {d["invoice_id"] for r in runs.values() for d in r["drafts"]}

    def published(entity: str) -> list[dict[str, Any]]:
        return [
            event
            for subject, event, _ in read_stream(firm.nats_url, firm.hub.streams.feeds)
            if subject.endswith(f".{entity}")
        ]

    ready = until(
        lambda: (
            len({e["type"] for e in published("billing_ready")}) == 2 and published("billing_ready")
        ),
        what="BillingReady on both billing feeds",
    )
    assert {e["type"] for e in ready} == {
        f"pshub.feed.{t}.billing_ready.v1" for t in ("xero", "quickbooks")
    }
    assert {e["data"]["BillingReady"]["milestone_id"] for e in ready} == {milestone}
    until(
        lambda: drafts <= {e["subject"] for e in published("invoice_draft")},
        what="every run draft on the billing feeds",
    )


def test_approved_time_not_yet_synced_waits_within_its_sla(
    firm: Running, runs: dict[str, Any]
) -> None:
    head = firm.hub.app.hub_recorder.select_head()[0]
    answer = firm.api.get(
        "/v1/metrics/billing-sync",
        params={"engagement_id": canonical(firm, "Project", "P1"), "min_position": str(head)},
        headers=firm.token("read"),
    )
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    # T1, T2, T3 (its corrected 3 h) and T9, approved moments ago; no engine took them yet.
    assert Decimal(figures["waiting_hours"]) == Decimal("8") + Decimal("7.5") + 3 + 1
    assert (figures["due_hours"], figures["share_within_sla"]) == ("0", None)
    bad = firm.api.get(
        "/v1/metrics/billing-sync", params={"engagement_id": "x"}, headers=firm.token("read")
    )
    assert bad.status_code == 400 and "engagement_id" in bad.text


def test_a_run_with_nothing_due_records_nothing(firm: Running) -> None:
    head = firm.hub.app.hub_recorder.select_head()[0]
    january = {"period_start": "2026-01-01", "period_end": "2026-02-01"}
    answer = run(firm, "P1", january, status=200)
    assert (answer["created"], answer["drafts"]) == (False, [])
    assert firm.hub.app.hub_recorder.select_head()[0] == head


def test_the_metrics_rebuilt_from_zero_give_the_same_billing_figures(
    firm: Running, runs: dict[str, Any]
) -> None:
    """Last in the module: the runs, cycle times and approvals are rebuilt from the log."""

    def figures() -> list[Any]:
        head = firm.hub.app.hub_recorder.select_head()[0]
        found: list[Any] = [financials(firm, p) for p in ("P1", "P3", "P4", "P6")]
        for route in ("invoice-cycle", "billing-sync"):
            answer = firm.api.get(
                f"/v1/metrics/{route}",
                params={"min_position": str(head)},
                headers=firm.token("read"),
            )
            assert answer.status_code == 200, answer.text
            found.append({k: v for k, v in answer.json().items() if k != "position"})
        return found

    before = figures()
    assert before[4]["drafts"], "the cycle of the paid draft is known"
    answer = firm.api.post("/v1/projections/metrics/rebuild", headers=firm.token("operate"))
    assert answer.status_code == 202, answer.text

    def rebuilt() -> bool:
        items = firm.api.get("/v1/projections", headers=firm.token("read")).json()["items"]
        metrics = next(i for i in items if i["name"] == "metrics")
        return metrics["generation"] == 2 and not metrics["rebuilding"]

    until(rebuilt, timeout=60, what="the metrics rebuild")
    assert figures() == before
