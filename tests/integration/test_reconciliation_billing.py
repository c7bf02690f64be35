"""Reconciliation with QuickBooks Online (its query endpoint on loopback), Xero and a
SharePoint drive, on real PostgreSQL and NATS: an invoice edited in QuickBooks differs line by
line with its money per currency, one deleted there (or a draft deleted in Xero) is missing
downstream, a folder renamed in SharePoint differs by name, and retry re-feeds each (a lost
record made anew, under a request id of its own) until a pass finds no drift. Money figures
are checked against hours x rate computed here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hub.sandbox.quickbooks import QuickBooksApi
from hub.sandbox.sharepoint import GraphApi
from hub.sandbox.xero import XeroApi
from hub.settings import Settings
from tests.integration.test_billing_knowledge_feeds import (
    DRIVE,
    REALM,
    XERO_TENANT,
    approved_time,
    feeding,
    firm,
)
from tests.support.feeding import until
from tests.support.hygiene import Databases
from tests.support.running import Running

HOURS, RATE = Decimal("6.00"), Decimal("125.00")


def run_pass(running: Running) -> dict[str, Any]:
    started = running.api.post("/v1/reconciliation/run", headers=running.token("operate"))
    assert started.status_code == 202, started.text
    reader = running.token("read")
    return until(
        lambda: (
            (run := running.api.get(started.headers["Location"], headers=reader).json())["status"]
            != "running"
            and run
        ),
        what="the run to end",
    )


def quickbooks(running: Running, *scopes: str, target: str = "quickbooks") -> dict[str, Any]:
    answer = running.api.get(
        "/v1/reconciliation", params={"target": target}, headers=running.token(*scopes)
    )
    assert answer.status_code == 200, answer.text
    [found] = answer.json()["targets"]
    return found


def retry(running: Running, case_id: str) -> None:
    answer = running.api.post(f"/v1/exceptions/{case_id}/retry", headers=running.token("operate"))
    assert answer.status_code == 202, answer.text


def test_an_invoice_edited_or_deleted_in_quickbooks_is_found_and_refed(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        QuickBooksApi() as api,
        feeding("QUICKBOOKS", api, REALM, settings, make_database, nats_url, monkeypatch) as hub,
    ):
        _, engagement = firm(hub)
        approved_time(hub, engagement, str(HOURS))
        [invoice] = until(lambda: api.held(REALM, "invoice"), what="the invoice")
        until(
            lambda: run_pass(hub) and quickbooks(hub, "read")["totals"]["overall"]["matching"] == 3
        )
        found = quickbooks(hub, "read", "read:confidential")
        assert found["totals"]["entities"]["customer"]["matching"] == 2  # customer and job
        assert found["totals"]["entities"]["invoice"]["matching"] == 1
        assert Decimal(found["totals"]["money"]["matching"]["GBP"]) == HOURS * RATE
        assert found["totals"]["drift"] == 0

        # Someone changes the amount in QuickBooks.
        invoice["Line"][0]["Amount"] = Decimal("800.00")
        invoice["TotalAmt"] = Decimal("800.00")
        run_pass(hub)
        found = quickbooks(hub, "read", "read:confidential")
        [drift] = found["drift"]
        assert (drift["outcome"], drift["entity"], drift["target_id"]) == (
            "differing",
            "invoice",
            invoice["Id"],
        )
        assert [
            (d["field"], Decimal(d["hub"]), Decimal(d["system"])) for d in drift["differences"]
        ] == [("Line.0.Amount", HOURS * RATE, Decimal("800.00"))]
        assert Decimal(drift["money"]["amount"]) == HOURS * RATE
        assert drift["money"]["currency"] == "GBP"
        assert Decimal(found["totals"]["money"]["differing"]["GBP"]) == HOURS * RATE
        # Rate-derived figures are only for read:confidential.
        plain = quickbooks(hub, "read")
        assert plain["totals"]["money"] is None and plain["drift"][0]["money"] is None
        assert plain["drift"][0]["differences"][0]["hub"] is None
        assert plain["drift"][0]["differences"][0]["confidential"] is True

        retry(hub, drift["case_id"])
        until(lambda: Decimal(str(api.held(REALM, "invoice")[0]["TotalAmt"])) == HOURS * RATE)
        run_pass(hub)
        assert quickbooks(hub, "read")["totals"]["drift"] == 0

        # Someone deletes it in QuickBooks: missing downstream, made anew on retry.
        api.delete(REALM, "invoice", invoice["Id"])
        run_pass(hub)
        [lost] = quickbooks(hub, "read", "read:confidential")["drift"]
        assert (lost["outcome"], lost["target_id"]) == ("missing_downstream", invoice["Id"])
        assert Decimal(lost["money"]["amount"]) == HOURS * RATE
        retry(hub, lost["case_id"])
        [again] = until(lambda: api.held(REALM, "invoice"), what="the invoice made anew")
        assert again["Id"] != invoice["Id"]
        assert Decimal(str(again["TotalAmt"])) == HOURS * RATE
        until(
            lambda: run_pass(hub) and quickbooks(hub, "read")["totals"]["drift"] == 0,
            what="no drift after the re-feed",
        )
        found = quickbooks(hub, "read", "read:confidential")
        assert Decimal(found["totals"]["money"]["matching"]["GBP"]) == HOURS * RATE
        cases = hub.api.get(
            "/v1/exceptions", params={"reason": "DRIFT"}, headers=hub.token("read")
        ).json()["items"]
        assert len(cases) == 2 and {c["status"] for c in cases} == {"resolved"}


def test_a_draft_deleted_in_xero_is_missing_with_its_line_and_both_are_refed(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        XeroApi(XERO_TENANT) as api,
        feeding("XERO", api, XERO_TENANT, settings, make_database, nats_url, monkeypatch) as hub,
    ):
        _, engagement = firm(hub)
        approved_time(hub, engagement, str(HOURS))
        [draft] = until(
            lambda: [i for i in api.held(XERO_TENANT, "Invoices") if i.get("LineItems")],
            what="the draft with its line",
        )

        def xero(*scopes: str) -> dict[str, Any]:
            return quickbooks(hub, *scopes, target="xero")

        until(lambda: run_pass(hub) and xero("read")["totals"]["overall"]["matching"] == 3)
        found = xero("read", "read:confidential")
        assert {e: n["matching"] for e, n in found["totals"]["entities"].items()} == {
            "contact": 1,
            "invoice": 1,
            "line": 1,
        }
        assert Decimal(found["totals"]["money"]["matching"]["GBP"]) == HOURS * RATE

        # Someone deletes the draft in Xero: it and its line are missing downstream.
        api.delete(XERO_TENANT, draft["InvoiceID"])
        run_pass(hub)
        found = xero("read", "read:confidential")
        lost = {d["entity"]: d for d in found["drift"]}
        assert {d["outcome"] for d in found["drift"]} == {"missing_downstream"}
        assert set(lost) == {"invoice", "line"}
        assert Decimal(found["totals"]["money"]["missing_downstream"]["GBP"]) == HOURS * RATE

        retry(hub, lost["invoice"]["case_id"])
        until(
            lambda: any(
                i["Status"] == "DRAFT" and i["InvoiceID"] != draft["InvoiceID"]
                for i in api.held(XERO_TENANT, "Invoices")
            ),
            what="a new draft",
        )
        retry(hub, lost["line"]["case_id"])
        until(
            lambda: run_pass(hub) and xero("read")["totals"]["drift"] == 0,
            what="no drift after the re-feed",
        )
        [fresh] = [i for i in api.held(XERO_TENANT, "Invoices") if i["Status"] == "DRAFT"]
        assert [Decimal(str(line["LineAmount"])) for line in fresh["LineItems"]] == [HOURS * RATE]


def test_a_folder_renamed_in_sharepoint_is_renamed_back_and_one_made_there_is_reported(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_PARENT", "Engagements")
    with GraphApi(DRIVE) as api:
        api.make_folder(DRIVE, "", "Engagements")
        with feeding(
            "SHAREPOINT", api, DRIVE, settings, make_database, nats_url, monkeypatch
        ) as hub:
            _, engagement = firm(hub)
            [folder] = until(lambda: api.folders(DRIVE, "Engagements"), what="the folder")

            def drive() -> dict[str, Any]:
                return quickbooks(hub, "read", target="sharepoint")

            until(lambda: run_pass(hub) and drive()["totals"]["overall"]["matching"] == 1)
            folder["name"] = "NW-007 renamed by hand"
            api.make_folder(DRIVE, "Engagements", "Scratch")
            api.throttle(retry_after="0")  # Graph throttles the pass once: it waits and goes on
            run_pass(hub)
            found = drive()
            assert found["status"] == "reconciled"
            drift = {d["outcome"]: d for d in found["drift"]}
            assert drift["differing"]["differences"] == [
                {
                    "field": "name",
                    "hub": "NW-007 Pricing- review",
                    "system": "NW-007 renamed by hand",
                    "confidential": False,
                }
            ]
            assert drift["differing"]["canonical_id"] == str(engagement.id)
            assert drift["missing_in_hub"]["target_id"] != folder["id"]
            retry(hub, drift["differing"]["case_id"])
            until(lambda: folder["name"] == "NW-007 Pricing- review", what="renamed back")
            scratch = next(f for f in api.folders(DRIVE, "Engagements") if f["name"] == "Scratch")
            api.delete(DRIVE, scratch["id"])
            until(lambda: run_pass(hub) and drive()["totals"]["drift"] == 0, what="no drift")
