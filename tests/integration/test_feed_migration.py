"""A firm moves a feed category to another system (`pshub feeds migrate`, POST
/v1/feeds/migrate) on real PostgreSQL and NATS, with loopback servers of QuickBooks, Xero and
NetSuite: the new system ends up holding what it must, counted after each run; run twice, the
migration changes nothing; the old system's feed is retired in the running hub; a target down
during the migration keeps its items in the backlog until it answers."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from hub.cli import main
from hub.feeds import migration
from hub.feeds.assignments import lock_key
from hub.feeds.registry import known_targets
from hub.sandbox.netsuite import NetSuite
from hub.sandbox.quickbooks import QuickBooksApi
from hub.sandbox.xero import XeroApi
from hub.settings import Settings
from tests.integration.test_billing_knowledge_feeds import REALM, XERO_TENANT, approved_time, firm
from tests.support.changes import envelope, money, ref
from tests.support.feeding import NETSUITE_ACCOUNT, read_stream, until
from tests.support.hygiene import Databases
from tests.support.running import Running, running_hub

SYSTEMS = ("NETSUITE", "HARVEST", "QUICKBOOKS", "XERO", "SHAREPOINT")
MIGRATE = ["feeds", "migrate", "billing", "--from", "quickbooks", "--to", "xero"]
XERO_WEBHOOK_KEY = "xero-webhook-key-7c1d"


def connect(monkeypatch: pytest.MonkeyPatch, target: str, base_url: str, token: str, tenant: str):
    monkeypatch.setenv(f"PSHUB_FEED_{target}_ENABLED", "true")
    monkeypatch.setenv(f"PSHUB_FEED_{target}_BASE_URL", base_url)
    monkeypatch.setenv(f"PSHUB_FEED_{target}_TOKEN", token)
    monkeypatch.setenv(f"PSHUB_FEED_{target}_TENANT", tenant)


@contextlib.contextmanager
def hub_feeding(
    only: str | None,
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Running]:
    """A hub whose only running feed is `only`'s (its connector set beforehand)."""
    for name in SYSTEMS:
        if name != only:
            monkeypatch.setenv(f"PSHUB_FEED_{name}_ENABLED", "false")
    options = {"feed_backoff": 0.05, "feed_backoff_cap": 1.0}
    with running_hub(settings, make_database, nats_url, **options) as running:
        monkeypatch.setenv("PSHUB_DATABASE_URL", running.hub.database_url)  # for the CLI
        yield running


def more_time(running: Running, engagement: Any) -> None:
    """A second approved, billable time entry by the person approved_time registered."""
    entry = {
        "id": "T2",
        "engagement": ref("engagement", str(engagement.id), system="hub"),
        "resource": ref("User", "U1"),
        "work_date": "2026-03-03",
        "hours": "1.00",
        "billable": True,
        "status": "approved",
        "task": "Analysis",
        "billable_rate": money("125.00"),
    }
    body = envelope("harvest", "time_entry", entry, source_type="TimeEntry")
    running.publish_events(body)
    assert running.outcome(body["id"])["status"] == "applied"


def reported(
    running: Running, system: str, invoice: dict[str, Any], *, tenant: str = "t1", seq: int = 1
) -> None:
    """A billing system's report of an invoice, applied."""
    body = envelope(system, "invoice", invoice, source_type="Invoice", tenant=tenant, seq=seq)
    running.publish_events(body)
    outcome = running.outcome(body["id"])
    assert outcome["status"] == "applied", outcome


def issued(client: Any, source_id: str, number: str, issue_date: str) -> dict[str, Any]:
    """An invoice of 500.00 issued to the client, 100.00 paid: open when billing moves."""
    return {
        "id": source_id,
        "client": ref("client", str(client.id), system="hub"),
        "number": number,
        "currency": "GBP",
        "issue_date": issue_date,
        "status": "issued",
        "lines": [{"description": "February retainer", "quantity": "1", "unit_price": "500.00"}],
        "amount_paid": money("100.00"),
    }


def issued_in_quickbooks(running: Running, client: Any) -> None:
    reported(running, "quickbooks", issued(client, "1047", "1047", "2026-02-27"))


def invoice_1047(running: Running) -> dict[str, Any]:
    """The golden invoice QuickBooks numbered 1047."""
    answer = running.api.get("/v1/xref/quickbooks/Invoice/1047", headers=running.auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def invoices_numbered(running: Running, number: str) -> int:
    items = running.api.get("/v1/invoices", params={"limit": 500}, headers=running.auth).json()
    return sum(1 for i in items["items"] if i.get("number") == number)


def paid_into_quickbooks(running: Running, so_far: str) -> None:
    """QuickBooks reports invoice 1047 with `so_far` paid (its own figure: all it was paid)."""
    body = {"id": "1047", "number": "1047", "currency": "GBP", "amount_paid": money(so_far)}
    reported(running, "quickbooks", body, seq=2)


def paid_in_xero(
    running: Running, xero: XeroApi, carried: dict[str, Any], amount: str, day: int
) -> None:
    """The customer pays `amount` into Xero on its copy of 1047 (a bank transfer Xero
    matched) on that day of March, and Xero tells the hub with a key-only webhook: the hub's
    Xero adapter fetches the invoice from Xero (this loopback one) as it stands there, with
    its payments listed."""
    headers = {"Authorization": f"Bearer {xero.token}", "Xero-Tenant-Id": XERO_TENANT}
    payment = {
        "Invoice": {"InvoiceID": carried["InvoiceID"]},
        "Account": {"Code": "090"},
        "Date": f"2026-03-{day:02d}",
        "Amount": float(amount),
        "Reference": f"BACS 00{day}",
    }
    paid = httpx.put(
        f"{xero.base_url}/api.xro/2.0/Payments", headers=headers, json={"Payments": [payment]}
    )
    assert paid.status_code == 200, paid.text
    event = {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{carried['InvoiceID']}",
        "resourceId": carried["InvoiceID"],
        "eventDateUtc": f"2026-03-{day:02d}T09:30:00.000",
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": XERO_TENANT,
        "tenantType": "ORGANISATION",
    }
    body = json.dumps(
        {"events": [event], "firstEventSequence": 7, "lastEventSequence": 7, "entropy": "K3Y"}
    ).encode()
    signature = hmac.new(XERO_WEBHOOK_KEY.encode(), body, hashlib.sha256).digest()
    answer = running.webhook(
        "xero", body, headers={"x-xero-signature": base64.b64encode(signature).decode()}
    )
    assert answer.status_code < 300, answer.text


def published(running: Running, target: str) -> set[str]:
    """The ids of the items on feed.<target>.* (the stream keeps each id once per item)."""
    prefix = running.hub.streams.prefix + f"feed.{target}."
    messages = read_stream(running.nats_url, running.hub.streams.feeds)
    found = [event["id"] for subject, event, _ in messages if subject.startswith(prefix)]
    assert len(found) == len(set(found)), "an item published twice"
    return set(found)


def feed_state(running: Running, target: str) -> dict[str, Any]:
    items = running.api.get("/v1/projections", headers=running.auth).json()["items"]
    [found] = [i for i in items if i["name"] == f"feed.{target}"]
    return found


def xero_counts(api: XeroApi) -> tuple[int, int, int]:
    """Contacts, invoices (drafts) and their lines the Xero organisation holds."""
    drafts = api.held(XERO_TENANT, "Invoices")
    lines = sum(len(d.get("LineItems") or ()) for d in drafts)  # none before its first line
    return len(api.held(XERO_TENANT, "Contacts")), len(drafts), lines


def hub_payments(api: XeroApi) -> int:
    """The payments the hub gave Xero (its mark on their Reference), of all Xero holds."""
    held = api.held(XERO_TENANT, "Payments")
    return sum(1 for p in held if str(p.get("Reference", "")).startswith("pshub:"))


def quickbooks_counts(api: QuickBooksApi) -> tuple[int, int]:
    return len(api.held(REALM, "customer")), len(api.held(REALM, "invoice"))


def test_billing_moves_from_quickbooks_to_xero_twice_with_no_duplicate(
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The Xero account payments made into QuickBooks after the move are recorded against
    # (PSHUB_FEED_XERO_PAYMENT_ACCOUNT, read when the target is loaded).
    monkeypatch.setattr(known_targets()["xero"], "payment_account", "090")
    with QuickBooksApi() as qbo, XeroApi(XERO_TENANT) as xero:
        connect(monkeypatch, "QUICKBOOKS", qbo.base_url, qbo.token, REALM)
        # The hub reads Xero too: what Xero's webhooks name is fetched from it.
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_BASE_URL", xero.base_url)
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_TOKEN", xero.token)
        monkeypatch.setenv("PSHUB_ADAPTER_XERO_SIGNING_SECRET", XERO_WEBHOOK_KEY)
        with hub_feeding("QUICKBOOKS", settings, make_database, nats_url, monkeypatch) as running:
            client, engagement = firm(running)
            approved_time(running, engagement)
            until(lambda: quickbooks_counts(qbo) == (2, 1), what="QuickBooks fed")
            assert xero_counts(xero) == (0, 0, 0)

            issued_in_quickbooks(running, client)
            # The firm connects Xero, then moves billing to it from the command line.
            connect(monkeypatch, "XERO", xero.base_url, xero.token, XERO_TENANT)
            capsys.readouterr()
            assert main(MIGRATE) == 0
            out = capsys.readouterr().out
            assert "billing: moved from quickbooks to xero at position" in out, out
            assert "4 item(s) delivered now" in out, out
            assert (
                "1 open invoice(s) of quickbooks carried to xero (their open balance, under the "
                "same number): 1047"
            ) in out, out
            # The line QuickBooks holds as an unsent invoice is Xero's now too: said, not undone.
            assert "1 item(s) quickbooks was given before the migration are held by xero" in out
            assert xero_counts(xero) == (1, 2, 2), "a contact, the draft, its line, invoice 1047"
            [contact] = xero.held(XERO_TENANT, "Contacts")
            assert contact["ContactNumber"] == str(client.id)
            invoices = {i["Status"]: i for i in xero.held(XERO_TENANT, "Invoices")}
            draft, carried = invoices["DRAFT"], invoices["AUTHORISED"]
            assert str(draft["LineItems"][0]["LineAmount"]) == "750.00"
            # QuickBooks's open invoice 1047 (500.00, 100.00 paid) is Xero's to collect now.
            assert carried["InvoiceNumber"] == "1047"
            assert carried["Contact"]["ContactID"] == contact["ContactID"]
            assert (carried["CurrencyCode"], str(carried["Total"])) == ("GBP", "400.00")
            assert carried["Reference"] == "quickbooks invoice 1047"
            [balance] = carried["LineItems"]
            assert balance["AccountCode"] == "840"
            assert balance["Description"] == "Open balance of quickbooks invoice 1047 of 2026-02-27"
            invoice = invoice_1047(running)
            assert invoice["carried_to"] == "xero" and invoice["carried_from"] == "quickbooks"
            assert invoice["carried_balance"] == {"amount": "400.00", "currency": "GBP"}
            assert {(x["system"], x["type"], x["id"]) for x in invoice["xrefs"]} >= {
                ("quickbooks", "Invoice", "1047"),
                ("xero", "Invoice", carried["InvoiceID"]),
            }
            # The deliveries came back into the log as xrefs, as the running feed's do.
            record = running.api.get(f"/v1/engagements/{engagement.id}", headers=running.auth)
            assert ("xero", "DraftInvoice") in {
                (x["system"], x["type"]) for x in record.json()["xrefs"]
            }

            # The running hub retires the QuickBooks feed without a restart.
            state = until(
                lambda: (
                    (s := feed_state(running, "quickbooks"))["state"] == "retired"
                    and s["running"] is False
                    and s
                ),
                what="the QuickBooks feed retired and stopped in the running hub",
            )
            assert state["migration"]["from"] == "quickbooks"
            assert state["migration"]["to"] == "xero"
            assert state["migration"]["actor"].startswith("cli:")
            [kept] = state["migration"]["open_invoices"]
            assert kept["number"] == "1047" and kept["xref"]["id"] == "1047"
            assert kept["open_balance"] == {"amount": "400.00", "currency": "GBP"}
            assert feed_state(running, "xero")["state"] == "live"

            # Run twice, it changes nothing: no write reaches either system.
            writes = len(xero.requests), len(qbo.requests)
            generation = feed_state(running, "xero")["generation"]
            assert main(MIGRATE) == 0
            out = capsys.readouterr().out
            assert "moved from quickbooks to xero already" in out and "0 item(s)" in out, out
            assert "1 open invoice(s) of quickbooks were carried to xero when" in out, out
            assert xero_counts(xero) == (1, 2, 2)
            assert (len(xero.requests), len(qbo.requests)) == writes
            assert feed_state(running, "xero")["generation"] == generation, "not rebuilt again"

            # The operator restarts the hub's feeds with Xero configured: new billable work
            # goes to Xero only.
            running.hub.stop_feeds()
            running.hub.start_feeds()
            more_time(running, engagement)
            until(lambda: xero_counts(xero) == (1, 2, 3), what="the new line in Xero")
            # The hub's Xero feed publishes what the migration delivered, each item once.
            until(lambda: len(published(running, "xero")) == 5, what="feed.xero.* published")

            # The customer still pays 50.00 into QuickBooks, which reports 150.00 paid so far:
            # counted once, and Xero's copy is given it as a payment (on the account the firm
            # named), so that Xero asks for 350.00 only.
            paid_into_quickbooks(running, "150.00")
            [payment] = until(
                lambda: xero.held(XERO_TENANT, "Payments"), what="the payment on Xero's copy"
            )
            assert (str(payment["Amount"]), payment["Account"]["Code"]) == ("50.00", "090")
            assert payment["Invoice"]["InvoiceID"] == carried["InvoiceID"]
            assert payment["Reference"].startswith("pshub: paid into quickbooks")
            [copy] = [
                i for i in xero.held(XERO_TENANT, "Invoices") if i.get("InvoiceNumber") == "1047"
            ]
            assert (copy["Status"], str(copy["AmountDue"])) == ("AUTHORISED", "350.00")
            invoice = invoice_1047(running)
            assert invoice["open_balance"] == {"amount": "350.00", "currency": "GBP"}
            assert [(p["amount"]["amount"], p["system"]) for p in invoice["payments"]] == [
                ("100.00", "quickbooks"),
                ("50.00", "quickbooks"),
            ]
            until(lambda: len(published(running, "xero")) == 6, what="the payment published")

            # The customer pays 200.00 into Xero. Xero's copy, as the hub's adapter fetches
            # it, was paid 250.00 (AmountPaid: the 50.00 the hub gave it and the customer's
            # 200.00): Xero was paid 200.00 itself, 150.00 still owed.
            paid_in_xero(running, xero, carried, "200.00", 20)
            until(
                lambda: invoice_1047(running)["open_balance"]["amount"] == "150.00",
                what="200.00 paid in Xero, 150.00 owed",
            )
            # Then the rest: Xero's copy is paid, and so is the invoice, in full (150.00 in
            # QuickBooks, 350.00 in Xero); Xero's one line of the balance is not taken for an
            # edit of the issued lines.
            paid_in_xero(running, xero, carried, "150.00", 25)
            invoice = until(
                lambda: (i := invoice_1047(running))["status"] == "paid" and i,
                what="invoice 1047 paid",
            )
            assert invoice["open_balance"] == {"amount": "0.00", "currency": "GBP"}
            assert sum(Decimal(p["amount"]["amount"]) for p in invoice["payments"]) == 500
            assert [line["description"] for line in invoice["lines"]] == ["February retainer"]
            assert invoices_numbered(running, "1047") == 1, "no second golden invoice"
            assert xero_counts(xero) == (1, 2, 3), "the echo wrote nothing back"
            assert hub_payments(xero) == 1, "the echo gave Xero nothing more"
            assert quickbooks_counts(qbo) == (2, 1), "a retired feed delivers nothing"
            assert feed_state(running, "quickbooks")["running"] is False

            # And the route, asked the same, records nothing and delivers nothing twice.
            answer = running.api.post(
                "/v1/feeds/migrate",
                json={"category": "billing", "from": "quickbooks", "to": "xero"},
                headers=running.token("operate"),
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["changed"] is False and answer.json()["delivered"] == 0
            assert xero_counts(xero) == (1, 2, 3)
            assert quickbooks_counts(qbo) == (2, 1)
            assert len(published(running, "xero")) == 6
            assert hub_payments(xero) == 1


def test_xero_down_during_the_migration_keeps_its_backlog_until_it_answers(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with QuickBooksApi() as qbo, XeroApi(XERO_TENANT) as xero:
        connect(monkeypatch, "QUICKBOOKS", qbo.base_url, qbo.token, REALM)
        with hub_feeding("QUICKBOOKS", settings, make_database, nats_url, monkeypatch) as running:
            _, engagement = firm(running)
            approved_time(running, engagement)
            until(lambda: quickbooks_counts(qbo) == (2, 1), what="QuickBooks fed")
            connect(monkeypatch, "XERO", xero.base_url, xero.token, XERO_TENANT)
            body = {"category": "billing", "from": "quickbooks", "to": "xero"}

            # Without the operate scope: refused.
            answer = running.api.post("/v1/feeds/migrate", json=body, headers=running.auth)
            assert answer.status_code == 403
            operator = running.token("operate")
            for bad, field, rule in (
                ({**body, "category": "payroll"}, "category", "known_category"),
                ({**body, "from": "sage"}, "from", "system_of_category"),
                ({**body, "to": "harvest"}, "to", "feed_of_category"),
                ({**body, "to": "quickbooks"}, "to", "differs_from_from"),
            ):
                answer = running.api.post("/v1/feeds/migrate", json=bad, headers=operator)
                assert answer.status_code == 422, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["errors"][0]["field"] == field
                assert answer.json()["errors"][0]["rule"] == rule
            missing = running.api.post(
                "/v1/feeds/migrate", json={"category": "billing"}, headers=operator
            )
            assert missing.status_code == 422
            # One migration of a category at a time, across processes.
            with psycopg.connect(running.hub.database_url, autocommit=True) as other:
                other.execute("SELECT pg_advisory_lock(%s)", (lock_key("billing"),))
                busy = running.api.post("/v1/feeds/migrate", json=body, headers=operator)
                assert busy.status_code == 409 and busy.json()["reason"] == "DUPLICATE"
                # (Released now: a closed session's locks go only when its backend has ended.)
                other.execute("SELECT pg_advisory_unlock(%s)", (lock_key("billing"),))

            # Xero answers 503 to everything: the migration is made, its items wait.
            xero.throttle(times=1000, status=503, retry_after="0")
            answer = running.api.post("/v1/feeds/migrate", json=body, headers=operator)
            assert answer.status_code == 200, answer.text
            done = answer.json()
            assert done["changed"] is True and done["delivered"] == 0
            assert done["backlog"]["pending"] == 3 and "503" in done["waiting_on"], done
            assert xero_counts(xero) == (0, 0, 0)
            assert feed_state(running, "quickbooks")["state"] == "retired"
            assert feed_state(running, "xero")["backlog"]["pending"] == 3, "visible"

            # Xero answers again: the hub's Xero feed (configured now) drains the backlog.
            xero.unthrottle()
            running.hub.stop_feeds()
            running.hub.start_feeds()
            until(lambda: xero_counts(xero) == (1, 1, 1), what="the backlog drained")
            until(lambda: feed_state(running, "xero")["backlog"]["pending"] == 0)

            # The second run is still no change.
            again = running.api.post("/v1/feeds/migrate", json=body, headers=operator)
            assert again.status_code == 200, again.text
            assert again.json()["changed"] is False and again.json()["delivered"] == 0
            assert again.json()["migration"] == done["migration"]
            assert xero_counts(xero) == (1, 1, 1)
            assert quickbooks_counts(qbo) == (2, 1)


def copy_in_quickbooks(api: QuickBooksApi, number: str) -> dict[str, Any] | None:
    found = [i for i in api.held(REALM, "invoice") if i.get("DocNumber") == number]
    return found[0] if found else None


def test_what_xero_is_paid_after_billing_moved_to_quickbooks_is_taken_off_its_copy(
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Xero's invoice 2044 (500.00, 100.00 paid) is carried to QuickBooks, which is given an
    invoice of 400.00. The customer still pays 150.00 into Xero (it reports 250.00 paid):
    counted once, and QuickBooks's copy, unpaid and unsent, asks for 250.00. QuickBooks then
    reports its copy paid (250.00): the invoice is paid, 500.00 in all, one QuickBooks copy."""
    with QuickBooksApi() as qbo, XeroApi(XERO_TENANT) as xero:
        connect(monkeypatch, "XERO", xero.base_url, xero.token, XERO_TENANT)
        with hub_feeding("XERO", settings, make_database, nats_url, monkeypatch) as running:
            client, _ = firm(running)
            until(lambda: xero_counts(xero)[0] == 1, what="the client's contact in Xero")

            invoice = issued(client, "X-2044", "2044", "2026-02-20")
            reported(running, "xero", invoice, tenant=XERO_TENANT)
            connect(monkeypatch, "QUICKBOOKS", qbo.base_url, qbo.token, REALM)
            assert (
                main(["feeds", "migrate", "billing", "--from", "xero", "--to", "quickbooks"]) == 0
            )
            assert "carried to quickbooks" in capsys.readouterr().out
            copy = copy_in_quickbooks(qbo, "2044")
            assert copy is not None and str(copy["TotalAmt"]) == "400.00"

            # The hub's QuickBooks feed, configured now, follows what happens next.
            running.hub.stop_feeds()
            running.hub.start_feeds()
            paid = {**invoice, "amount_paid": money("250.00")}
            reported(running, "xero", paid, tenant=XERO_TENANT, seq=2)
            until(
                lambda: str((copy_in_quickbooks(qbo, "2044") or {}).get("TotalAmt")) == "250.00",
                what="QuickBooks's copy asking for 250.00",
            )
            [line] = [x for x in copy_in_quickbooks(qbo, "2044")["Line"] if "Description" in x]
            assert line["Description"].endswith("less 150.00 paid into xero since")
            answer = running.api.get("/v1/xref/xero/Invoice/X-2044", headers=running.auth)
            invoice = answer.json()
            assert invoice["open_balance"] == {"amount": "250.00", "currency": "GBP"}
            assert [(p["amount"]["amount"], p["system"]) for p in invoice["payments"]] == [
                ("100.00", "xero"),
                ("150.00", "xero"),
            ]

            # QuickBooks reports its copy paid: what it was paid, its own 250.00. Its source
            # time is before Xero's last report: each system's amount paid is its own, so it
            # counts all the same (ranked by recency, it was dropped).
            paid = {
                "id": copy["Id"],
                "number": "2044",
                "currency": "GBP",
                "status": "paid",
                "amount_paid": money("250.00"),
            }
            reported(running, "quickbooks", paid, tenant=REALM)
            invoice = until(
                lambda: (
                    (i := running.api.get("/v1/xref/xero/Invoice/X-2044", headers=running.auth))
                    and i.json()["status"] == "paid"
                    and i.json()
                ),
                what="invoice 2044 paid",
            )
            assert invoice["status"] == "paid" and invoice["id"] == answer.json()["id"]
            assert sum(Decimal(p["amount"]["amount"]) for p in invoice["payments"]) == 500
            assert [p["system"] for p in invoice["payments"]][-1] == "quickbooks"
            assert [i.get("DocNumber") for i in qbo.held(REALM, "invoice")].count("2044") == 1


def test_the_erp_moves_from_odoo_to_netsuite(
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    netsuite = NetSuite()
    netsuite.server.start()
    try:
        with hub_feeding(None, settings, make_database, nats_url, monkeypatch) as running:
            firm(running)
            # Odoo is an ERP the hub reads from and feeds nothing to; bad asks are refused.
            with pytest.raises(SystemExit) as usage:
                main(["feeds", "migrate", "payroll", "--from", "odoo", "--to", "netsuite"])
            assert usage.value.code == 2
            assert "invalid choice: 'payroll'" in capsys.readouterr().err
            assert main(["feeds", "migrate", "erp", "--from", "harvest", "--to", "netsuite"]) == 2
            said = capsys.readouterr().err
            assert said.count("\n") == 1 and "not a system of the erp category" in said, said
            assert main(["feeds", "migrate", "erp", "--from", "odoo", "--to", "odoo"]) == 2
            assert main(["feeds", "migrate", "erp", "--from", "odoo", "--to", "netsuite"]) == 1
            assert "the netsuite feed is disabled" in capsys.readouterr().err

            connect(monkeypatch, "NETSUITE", netsuite.server.base_url, "t", NETSUITE_ACCOUNT)
            erp = ["feeds", "migrate", "erp", "--from", "odoo", "--to", "netsuite"]
            # NetSuite is down: the move is made, what it must hold waits in its backlog.
            netsuite.server.down = True
            assert main(erp) == 0
            said = capsys.readouterr()
            assert "erp: moved from odoo to netsuite at position" in said.out
            assert "2 item(s) wait in the netsuite backlog (DOWNSTREAM_TIMEOUT" in said.err
            assert dict(netsuite.created) == {}
            assert feed_state(running, "netsuite")["backlog"]["pending"] == 2

            # It answers again: the next run records nothing and drains the backlog.
            netsuite.server.down = False
            assert main(erp) == 0
            said = capsys.readouterr()
            assert "nothing recorded again" in said.out and "2 item(s) delivered now" in said.out
            assert "backlog" not in said.err
            assert dict(netsuite.created) == {"customer": 1, "job": 1}
            assert main(erp) == 0
            assert "0 item(s) delivered now" in capsys.readouterr().out
            assert dict(netsuite.created) == {"customer": 1, "job": 1}
            puts = [r for r in netsuite.server.requests if r.method in ("PUT", "PATCH", "POST")]
            assert len(puts) == 3, "one refused (503), two delivered, nothing written again"
            state = feed_state(running, "netsuite")
            assert state["state"] == "live" and state["migration"]["from"] == "odoo"
    finally:
        netsuite.server.stop()


def test_a_migration_that_stopped_before_building_is_finished_by_the_next_run(
    settings: Settings,
    make_database: Databases,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    netsuite = NetSuite()
    netsuite.server.start()
    try:
        with hub_feeding(None, settings, make_database, nats_url, monkeypatch) as running:
            firm(running)
            connect(monkeypatch, "NETSUITE", netsuite.server.base_url, "t", NETSUITE_ACCOUNT)
            erp = ["feeds", "migrate", "erp", "--from", "odoo", "--to", "netsuite"]

            def dies(*_: Any, **__: Any) -> Any:
                raise RuntimeError("the process died here")

            with monkeypatch.context() as crash:
                crash.setattr(migration, "rebuild_feed", dies)
                assert main(erp) == 1  # recorded, then stopped before building the feed
            assert "the process died here" in capsys.readouterr().err
            assert dict(netsuite.created) == {}
            assert feed_state(running, "netsuite")["migration"]["from"] == "odoo"

            assert main(erp) == 0
            said = capsys.readouterr().out
            assert "nothing recorded again" in said and "2 item(s) delivered now" in said, said
            assert dict(netsuite.created) == {"customer": 1, "job": 1}
            assert feed_state(running, "netsuite")["generation"] == 2
    finally:
        netsuite.server.stop()
