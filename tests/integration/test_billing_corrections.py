"""Work corrected after a billing run drafted it, and retainer hours approved after their
period's run, over NATS ingest and PostgreSQL through POST /v1/commands/run-billing.

- A correction while the run's invoice is still a draft re-drafts it: the line takes the new
  value, the run's Redrafted event names the versions, and a second run changes nothing.
- A correction after the billing engine issued it (its state came back through ingest)
  leaves the invoice alone and opens one RATE_MISMATCH case; a second correction opens none.
- Late retainer hours are billed by the next run as a catch-up overage of their own period.

Every figure is worked out here by hand (billing_run_scenario.value), never by the product.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.billing_run import BillingRun
from domain.invoice import Invoice
from hub.readiness import entities
from hub.settings import Settings
from tests.integration import billing_run_scenario as S
from tests.support.changes import envelope, money, ref
from tests.support.running import Running, running_hub

MARCH = {"period_start": "2026-03-01", "period_end": "2026-04-01"}
APRIL = {"period_start": "2026-04-01", "period_end": "2026-05-01"}


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Any, nats_url: str) -> Iterator[Running]:
    with running_hub(
        settings, make_database, nats_url, ingest_max_deliveries=3, legal_entities=S.LEGAL_ENTITIES
    ) as running:
        publish(running, *S.parties(), S.engagement("P5"))
        publish(
            running,
            S.time("T1", "P1", "2026-03-09", "8"),  # corrected to 6 h while drafted
            S.time("T51", "P5", "2026-03-09", "4"),  # corrected after the engine issued it
            S.time("T61", "P6", "2026-03-02", "6"),
            S.time("T62", "P6", "2026-03-03", "6"),
        )
        yield running
    entities.configure(None)


def publish(running: Running, *bodies: dict[str, Any]) -> None:
    running.publish_events(*bodies)
    outcomes = running.settle([b["id"] for b in bodies])
    assert [o["status"] for o in outcomes] == ["applied"] * len(bodies), outcomes
    head = running.hub.app.hub_recorder.select_head()[0]
    assert running.hub.runners["metrics"].wait_for(head, 30)


def canonical(running: Running, type_: str, source_id: str) -> str:
    found = running.xref("harvest", type_, source_id)
    assert found.status_code == 200, found.text
    return str(found.json()["id"])


def run(running: Running, project: str, period: dict[str, str], status: int = 201) -> Any:
    body = {"engagement_id": canonical(running, "Project", project), **period}
    answer = running.api.post(
        "/v1/commands/run-billing", json=body, headers=running.token("operate")
    )
    assert answer.status_code == status, answer.text
    return answer.json()


def version(running: Running, entry: str) -> int:
    found = running.api.get(f"/v1/time-entries/{entry}", headers=running.token("read"))
    assert found.status_code == 200, found.text
    return int(found.json()["version"])


def head(running: Running) -> int:
    return int(running.hub.app.hub_recorder.select_head()[0])


def test_a_correction_while_drafted_redrafts_the_line_to_the_new_value(firm: Running) -> None:
    first = run(firm, "P1", MARCH)
    [draft] = first["drafts"]
    assert [Decimal(line["amount"]) for line in draft["lines"]] == [S.value("8", "100.00")]
    t1 = canonical(firm, "TimeEntry", "T1")
    billed = draft["lines"][0]["time_entries"][0]["version"]

    publish(firm, S.time("T1", "P1", "2026-03-09", "6", seq=2))
    again = run(firm, "P1", MARCH, status=200)
    new = version(firm, t1)
    assert again["created"] is False and again["correction_cases"] == []
    assert again["redrafted"] == [
        {
            "invoice_id": draft["invoice_id"],
            "items": [{"kind": "time_entry", "id": t1, "billed_version": billed, "version": new}],
            "withdrawn": False,
        }
    ]
    [redrafted] = again["drafts"]
    assert redrafted["invoice_id"] == draft["invoice_id"]
    assert [Decimal(line["amount"]) for line in redrafted["lines"]] == [S.value("6", "100.00")]
    assert redrafted["lines"][0]["time_entries"] == [{"id": t1, "version": new}]
    # The invoice golden record is the same draft with the new line.
    invoice = firm.api.get(
        f"/v1/invoices/{draft['invoice_id']}",
        params={"min_position": str(head(firm))},
        headers=firm.token("read"),
    ).json()
    assert invoice["status"] == "draft"
    assert Decimal(invoice["subtotal"]["amount"]) == S.value("6", "100.00")
    # Traceable: the run's Redrafted event in the log names why.
    recorded = firm.hub.app.find(UUID(first["run_id"]), BillingRun)
    assert recorded is not None and recorded.drafts == again["drafts"]
    # Settled once: a further run changes nothing and records nothing.
    before = head(firm)
    third = run(firm, "P1", MARCH, status=200)
    assert third["redrafted"] == [] and third["drafts"] == again["drafts"]
    assert head(firm) == before
    # A correction of the note only (a reversal plus a new fact too) leaves the line true.
    publish(firm, S.time("T1", "P1", "2026-03-09", "6", seq=3, notes="Workshop, revised"))
    assert version(firm, t1) > new
    before = head(firm)
    fourth = run(firm, "P1", MARCH, status=200)
    assert fourth["redrafted"] == [] and fourth["drafts"] == again["drafts"]
    assert head(firm) == before


def _issue(running: Running, invoice_id: str) -> None:
    """The billing engine took the draft and issued it: its state comes back through ingest."""
    mapped = running.api.post(
        "/v1/commands/map-xref",
        json={"system": "xero", "tenant": "t1", "type": "Invoice", "id": "XINV-5",
              "canonical_id": invoice_id},
        headers=running.token("operate"),
    )  # fmt: skip
    assert mapped.status_code == 200, mapped.text
    today = datetime.now(UTC).date().isoformat()
    issued = envelope(
        "xero",
        "invoice",
        {"id": "XINV-5", "number": "INV-0105", "currency": "GBP", "issue_date": today,
         "status": "issued"},
        source_type="Invoice",
    )  # fmt: skip
    publish(running, issued)


def test_a_correction_after_issue_opens_one_case_and_never_edits_the_invoice(
    firm: Running,
) -> None:
    [draft] = run(firm, "P5", MARCH)["drafts"]
    t51 = canonical(firm, "TimeEntry", "T51")
    billed = draft["lines"][0]["time_entries"][0]["version"]
    _issue(firm, draft["invoice_id"])

    publish(firm, S.time("T51", "P5", "2026-03-09", "5", seq=2))
    again = run(firm, "P5", MARCH, status=200)
    assert again["redrafted"] == [] and again["drafts"] == [draft]
    [case_id] = again["correction_cases"]
    case = firm.api.get(f"/v1/exceptions/{case_id}", headers=firm.token("read")).json()
    assert (case["reason"], case["status"], case["entity"]) == ("RATE_MISMATCH", "open", "invoice")
    assert t51 in case["detail"] and "INV-0105" in case["detail"]
    assert f"version {billed}" in case["detail"]
    assert f"version {version(firm, t51)}" in case["detail"]
    invoice = firm.api.get(
        f"/v1/invoices/{draft['invoice_id']}",
        params={"min_position": str(head(firm))},
        headers=firm.token("read"),
    ).json()
    assert invoice["status"] == "issued"
    assert Decimal(invoice["subtotal"]["amount"]) == S.value("4", "100.00")  # as issued

    # A second correction of the same billed fact, and another run: no second case.
    publish(firm, S.time("T51", "P5", "2026-03-09", "5.5", seq=3))
    third = run(firm, "P5", MARCH, status=200)
    assert third["correction_cases"] == [] and third["redrafted"] == []
    listed = firm.api.get(
        "/v1/exceptions",
        params={"reason": "RATE_MISMATCH", "min_position": str(head(firm))},
        headers=firm.token("read"),
    )
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [case_id]


def test_late_retainer_hours_are_billed_next_run_as_their_periods_overage(
    firm: Running,
) -> None:
    march = run(firm, "P6", MARCH)
    assert Decimal(march["drafts"][0]["overage"]) == S.P6_OVERAGE  # 12 h of 10: 2 h over
    # Three March hours approved after March's run: March's included hours are used up.
    publish(firm, S.time("T63", "P6", "2026-03-20", "3"))
    april = run(firm, "P6", APRIL)
    [draft] = april["drafts"]
    kinds = [line["kind"] for line in draft["lines"]]
    assert kinds == ["retainer_fee", "overage"]
    catch_up = draft["lines"][1]
    assert "2026-03-01 to 2026-04-01" in catch_up["description"]
    assert Decimal(catch_up["quantity"]) == 3
    assert Decimal(catch_up["amount"]) == S.value("3", "150.00")
    assert [r["id"] for r in catch_up["time_entries"]] == [canonical(firm, "TimeEntry", "T63")]
    assert Decimal(draft["total"]) == S.P6_FEE + S.value("3", "150.00")
    # Billed once: May's run has the fee alone.
    may = run(firm, "P6", {"period_start": "2026-05-01", "period_end": "2026-06-01"})
    assert [line["kind"] for line in may["drafts"][0]["lines"]] == ["retainer_fee"]


def test_a_draft_whose_every_item_was_withdrawn_is_withdrawn_not_left_empty(
    firm: Running,
) -> None:
    """T81 and its engagement's only draft: Harvest re-opens T81 (no longer approved) and
    deletes nothing else; the re-draft has no line left, so the invoice is deleted and the
    run's Redrafted event says the draft was withdrawn. Re-approved, T81 is billed again by
    the next run (never twice)."""
    publish(firm, S.engagement("P8"), S.time("T81", "P8", "2026-03-09", "5"))
    first = run(firm, "P8", MARCH)
    [draft] = first["drafts"]
    assert Decimal(draft["total"]) == S.value("5", "100.00")
    t81 = canonical(firm, "TimeEntry", "T81")

    publish(firm, S.time("T81", "P8", "2026-03-09", "5", status="submitted", seq=2))
    again = run(firm, "P8", MARCH, status=200)
    [settled] = again["redrafted"]
    assert (settled["invoice_id"], settled["withdrawn"]) == (draft["invoice_id"], True)
    assert [i["id"] for i in settled["items"]] == [t81]
    [withdrawn] = again["drafts"]
    assert withdrawn["withdrawn"] is True and withdrawn["lines"] == []
    assert Decimal(withdrawn["total"]) == 0
    recorded = firm.hub.app.find(UUID(first["run_id"]), BillingRun)
    assert recorded is not None and recorded.drafts == again["drafts"]
    invoice = firm.hub.app.find(UUID(draft["invoice_id"]), Invoice)
    assert invoice is not None and invoice.deleted and invoice.status == "draft"
    shown = firm.api.get(
        f"/v1/invoices/{draft['invoice_id']}",
        params={"min_position": str(head(firm))},
        headers=firm.token("read"),
    )
    assert shown.status_code == 410, shown.text  # gone, its history kept
    assert shown.json()["record"]["deleted"] is True
    # Settled once: nothing more is recorded by a further run.
    before = head(firm)
    assert run(firm, "P8", MARCH, status=200)["redrafted"] == []
    assert head(firm) == before
    # Approved again: April's run bills it (its March work date is before April's end).
    publish(firm, S.time("T81", "P8", "2026-03-09", "5", seq=3))
    [april] = run(firm, "P8", APRIL)["drafts"]
    assert [r["id"] for line in april["lines"] for r in line["time_entries"]] == [t81]
    assert Decimal(april["total"]) == S.value("5", "100.00")


def expense(id_: str, project: str, amount: dict[str, str], seq: int = 1) -> dict[str, Any]:
    data = {
        "id": id_,
        "engagement": ref("Project", project),
        "resource": ref("User", "U1"),
        "spent_date": "2026-03-10",
        "amount": amount,
        "category": "Travel",
        "status": "approved",
    }
    return S.h("expense", data, "Expense", seq)


def test_an_item_corrected_into_another_currency_moves_to_a_draft_in_it(firm: Running) -> None:
    """P9's March draft bills 2 h at 100.00 and a 45.50 GBP expense; the expense is re-entered
    as 50.00 EUR. The GBP draft keeps the time alone (200.00), and the run gets a EUR draft
    of the expense (50.00 EUR): never summed with GBP, never dropped. April bills neither."""
    publish(
        firm,
        S.engagement("P9"),
        S.time("T91", "P9", "2026-03-09", "2"),
        expense("E9", "P9", money("45.50")),
    )
    [gbp] = run(firm, "P9", MARCH)["drafts"]
    assert Decimal(gbp["total"]) == S.value("2", "100.00") + Decimal("45.50")
    e9 = canonical(firm, "Expense", "E9")

    publish(firm, expense("E9", "P9", money("50.00", "EUR"), seq=2))
    again = run(firm, "P9", MARCH, status=200)
    drafts = {d["currency"]: d for d in again["drafts"]}
    assert sorted(drafts) == ["EUR", "GBP"]
    assert drafts["GBP"]["invoice_id"] == gbp["invoice_id"]
    assert Decimal(drafts["GBP"]["total"]) == S.value("2", "100.00")
    assert [line["kind"] for line in drafts["GBP"]["lines"]] == ["time"]
    eur = drafts["EUR"]
    assert Decimal(eur["total"]) == Decimal("50.00")
    [line] = eur["lines"]
    assert line["kind"] == "expense" and [r["id"] for r in line["expenses"]] == [e9]
    # The trail: the item left GBP for EUR, on both drafts' events.
    left, joined = again["redrafted"]
    assert left["invoice_id"] == gbp["invoice_id"] and left["items"][0]["moved_to"] == "EUR"
    assert joined["invoice_id"] == eur["invoice_id"] and joined["items"][0]["moved_from"] == "GBP"
    invoice = firm.api.get(
        f"/v1/invoices/{eur['invoice_id']}",
        params={"min_position": str(head(firm))},
        headers=firm.token("read"),
    ).json()
    assert (invoice["status"], invoice["currency"]) == ("draft", "EUR")
    assert Decimal(invoice["subtotal"]["amount"]) == Decimal("50.00")
    recorded = firm.hub.app.find(UUID(eur["invoice_id"]), Invoice)
    assert recorded is not None and recorded.lines[0].expense_ids == (UUID(e9),)
    # Settled once; billed once.
    before = head(firm)
    assert run(firm, "P9", MARCH, status=200)["redrafted"] == []
    assert head(firm) == before
    april = run(firm, "P9", APRIL, status=200)
    assert april["drafts"] == []
