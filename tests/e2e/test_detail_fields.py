"""What sources say beyond the core fields reaches the golden records, through NATS and
PostgreSQL: kept, with history and lineage; a metadata edit is a recorded change; names and
e-mails need read:pii, rates and costs read:confidential; on an approved time entry a
descriptive change is a revision, never a reversal. Payloads written from DOMAIN.md 2."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.adapter_support import accepted, applied, raw, record
from tests.support.changes import envelope
from tests.support.running import Running

GRAPH_TENANT = "0e9d8c7b-6a5f-4e4d-9c3b-2a1f0e9d8c7b"
DRIVE = "b!TGVnYWwtQ29udHJhY3Rz"
FILE = "01LEGAL5ZQ2W3E4R5T6Y7U8I9O0P1A2S3D"


def history(running: Running, path: str, headers: dict[str, str] | None = None) -> list[Any]:
    response = running.api.get(f"{path}/history", headers=headers or running.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def lineage(running: Running, path: str) -> dict[str, Any]:
    response = running.api.get(f"{path}/lineage", headers=running.auth)
    assert response.status_code == 200, response.text
    return dict(response.json()["fields"])


def delta(*items: dict[str, Any]) -> bytes:
    return raw(
        {
            "value": list(items),
            "@odata.deltaLink": f"https://graph.microsoft.com/v1.0/drives/{DRIVE}/root/delta?"
            "token=aGVsbG8",
        }
    )


def drive_item(name: str, etag: str, modified: str, size: int) -> dict[str, Any]:
    return {
        "id": FILE,
        "name": name,
        "eTag": etag,
        "size": size,
        "createdDateTime": "2026-01-12T09:00:00Z",
        "lastModifiedDateTime": modified,
        "webUrl": f"https://contoso.sharepoint.com/sites/Legal/Shared%20Documents/{name}",
        "createdBy": {
            "user": {
                "id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
                "displayName": "Haruto Sato",
                "email": "h.sato@contoso.example",
            }
        },
        "lastModifiedBy": {
            "user": {"id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", "displayName": "Haruto Sato"}
        },
        "parentReference": {
            "driveId": DRIVE,
            "driveType": "documentLibrary",
            "id": "01LEGALFOLDER0000000000000000000",
            "siteId": "contoso.sharepoint.com,11,22",
        },
        "file": {"mimeType": "application/pdf", "hashes": {"quickXorHash": f"q{etag[2:6]}="}},
    }


def test_a_graph_file_keeps_where_it_lives_and_who_made_it_and_a_rename_is_a_change(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_SHAREPOINT_TENANT", GRAPH_TENANT)
    first = delta(drive_item("MSA draft.pdf", '"{A1},1"', "2026-01-12T09:00:00Z", 210_344))
    [created] = accepted(running.webhook("sharepoint", first))
    [asset_id] = applied(running, [created])
    asset = record(running, "sharepoint", "driveItem", FILE)
    assert (asset["drive_id"], asset["site_id"], asset["parent_id"]) == (
        DRIVE,
        "contoso.sharepoint.com,11,22",
        "01LEGALFOLDER0000000000000000000",
    )
    assert asset["author"] == {
        "system": "sharepoint",
        "tenant": GRAPH_TENANT,
        "type": "user",
        "id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    }
    assert (asset["author_name"], asset["author_email"]) == (
        "Haruto Sato",
        "h.sato@contoso.example",
    )
    assert (asset["size_bytes"], asset["content_type"]) == (210_344, "application/pdf")
    assert asset["created_at"] == "2026-01-12T09:00:00Z"

    renamed = delta(drive_item("MSA signed.pdf", '"{A1},2"', "2026-02-03T16:20:00Z", 214_002))
    [rename] = accepted(running.webhook("sharepoint", renamed))
    assert applied(running, [rename]) == [asset_id]
    after = record(running, "sharepoint", "driveItem", FILE)
    assert (after["title"], after["size_bytes"], after["etag"]) == (
        "MSA signed.pdf",
        214_002,
        '"{A1},2"',
    )
    path = f"/v1/knowledge-assets/{asset_id}"
    assert [item["type"] for item in history(running, path)] == [
        "Registered",
        "Published",
        "Revised",
    ]
    fields = lineage(running, path)
    assert fields["title"]["message_id"] == rename
    assert fields["modified_at"]["message_id"] == rename
    assert fields["created_at"]["message_id"] == created
    # Names and e-mails are PII: a token without read:pii sees the account, not the person.
    plain = running.api.get(path, headers=running.token("read")).json()
    assert plain["author"]["id"] == "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    for personal in ("author_name", "author_email", "modified_by_name"):
        assert personal not in plain
    text = running.api.get(f"{path}/history", headers=running.token("read")).text
    assert "Haruto" not in text and "h.sato@" not in text


def confluence_page(version: int, timestamp: int, title: str) -> bytes:
    return raw(
        {
            "page": {
                "idAsString": "2883600011",
                "id": 2883600011,
                "title": title,
                "spaceKey": "DELIVERY",
                "spaceId": 2883590145,
                "contentType": "page",
                "version": version,
                "creationDate": 1767000000000,
                "modificationDate": timestamp,
                "creatorAccountId": "557058:0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
                "lastModifierAccountId": "712020:9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
                "self": "https://acme-pro.atlassian.net/wiki/spaces/DELIVERY/pages/2883600011",
            },
            "userAccountId": "712020:9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
            "accountType": "customer",
            "timestamp": timestamp + 250,
            "updateTrigger": "edit_page",
            "suppressNotifications": False,
        }
    )


def test_a_confluence_version_bump_alone_is_a_recorded_change(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_CONFLUENCE_TENANT", "acme-pro.atlassian.net")
    title = "Delivery playbook"
    [created] = accepted(
        running.webhook(
            "confluence",
            confluence_page(1, 1767000000000, title),
            params={"event": "page_created"},
        )
    )
    [page_id] = applied(running, [created])
    # The next version changes nothing the hub kept before but its number and times.
    [edited] = accepted(
        running.webhook(
            "confluence",
            confluence_page(2, 1767100000000, title),
            params={"event": "page_updated"},
        )
    )
    assert applied(running, [edited]) == [page_id]
    page = record(running, "confluence", "page", "2883600011")
    assert (page["revision"], page["space_key"], page["space_id"]) == (2, "DELIVERY", "2883590145")
    assert page["modified_by"]["id"] == "712020:9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
    path = f"/v1/knowledge-assets/{page_id}"
    assert history(running, path)[-1]["type"] == "Revised"
    assert lineage(running, path)["revision"]["message_id"] == edited


def test_a_stripe_invoice_in_kuwaiti_dinars_keeps_balances_customer_and_transitions(
    running: Running,
) -> None:
    invoice: dict[str, Any] = {
        "id": "in_1Sx0KWDe2e",
        "object": "invoice",
        "status": "open",
        "number": "KW-2026-0017",
        "currency": "kwd",
        "customer": "cus_TqE2E",
        "customer_name": "Al Noor Trading Co.",
        "customer_email": "finance@alnoor.example",
        "collection_method": "send_invoice",
        "billing_reason": "manual",
        "created": 1767420000,
        "effective_at": 1767430800,
        "due_date": 1770022800,
        "total": 525000,
        "subtotal": 500000,
        "total_excluding_tax": 500000,
        "total_taxes": [{"amount": 25000, "tax_behavior": "exclusive", "taxable_amount": 500000}],
        "amount_due": 525000,
        "amount_paid": 0,
        "amount_remaining": 525000,
        "starting_balance": 0,
        "ending_balance": 0,
        "status_transitions": {"finalized_at": 1767430800, "paid_at": None},
        "metadata": {},
        "lines": {
            "object": "list",
            "has_more": False,
            "data": [
                {
                    "id": "il_1Sx0KWDline",
                    "amount": 500000,
                    "description": "Trade compliance review",
                    "quantity": 1,
                    "taxes": [
                        {"amount": 25000, "tax_behavior": "exclusive", "taxable_amount": 500000}
                    ],
                }
            ],
        },
    }

    def send(kind: str, obj: dict[str, Any], created: int) -> str:
        body = {
            "id": f"evt_{kind}_{created}",
            "object": "event",
            "type": kind,
            "created": created,
            "data": {"object": obj},
        }
        [message] = accepted(running.webhook("stripe", raw(body)))
        return message

    [invoice_id] = applied(running, [send("invoice.finalized", invoice, 1767430801)])
    paid = dict(invoice, status="paid", amount_paid=525000, amount_remaining=0)
    paid["status_transitions"] = {"finalized_at": 1767430800, "paid_at": 1767690000}
    paid_message = send("invoice.paid", paid, 1767690001)
    assert applied(running, [paid_message]) == [invoice_id]

    kwd = lambda amount: {"amount": amount, "currency": "KWD"}  # noqa: E731
    path = f"/v1/invoices/{invoice_id}"
    golden = running.api.get(path, headers=running.auth).json()
    assert (golden["status"], golden["payment_status"]) == ("paid", "paid")
    assert (golden["reported_tax"], golden["total_excluding_tax"]) == (
        kwd("25.000"),
        kwd("500.000"),
    )
    assert (golden["amount_due"], golden["amount_remaining"]) == (kwd("525.000"), kwd("0.000"))
    assert (golden["finalized_at"], golden["paid_at"]) == (
        "2026-01-03T09:00:00Z",
        "2026-01-06T09:00:00Z",
    )
    assert golden["customer_email"] == "finance@alnoor.example"
    assert golden["lines"][0]["source_line_id"] == "il_1Sx0KWDline"
    fields = lineage(running, path)
    assert fields["amount_remaining"]["message_id"] == paid_message
    assert fields["reported_tax"]["event"] == "Created"
    plain = running.api.get(path, headers=running.token("read")).json()
    assert "customer_email" not in plain and "customer_name" not in plain
    assert plain["amount_remaining"] == kwd("0.000")


def test_an_approved_time_entry_takes_a_lock_as_a_revision_and_its_cost_rate_is_confidential(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_HARVEST_TENANT", "t1")
    monkeypatch.setenv("PSHUB_ADAPTER_HARVEST_DEFAULT_CURRENCY", "GBP")
    # The client, project and person as Harvest's own pages would have published them.
    parents = [
        envelope(
            "harvest",
            "client",
            {"id": "9821001", "legal_name": "Kobe Steelworks KK", "billing_currency": "JPY"},
            source_type="Client",
        ),
        envelope(
            "harvest",
            "engagement",
            {
                "id": "40112001",
                "client": {"type": "Client", "id": "9821001"},
                "code": "KS-AUD",
                "name": "Plant audit",
                "currency": "JPY",
                "status": "active",
            },
            source_type="Project",
        ),
        envelope(
            "harvest",
            "resource",
            {"id": "4410201", "name": "Priya Natarajan", "email": "priya@firm.example"},
            source_type="User",
        ),
    ]
    running.publish_events(*parents)
    applied(running, [body["id"] for body in parents])
    entry = {
        "id": 2911808101,
        "spent_date": "2026-03-09",
        "user": {"id": 4410201, "name": "Priya Natarajan"},
        "client": {"id": 9821001, "name": "Kobe Steelworks", "currency": "JPY"},
        "project": {"id": 40112001, "name": "Plant audit", "code": "KS-AUD"},
        "task": {"id": 19911, "name": "Fieldwork"},
        "hours": 7.25,
        "rounded_hours": 7.5,
        "notes": "Line 3 walk-through",
        "is_locked": False,
        "locked_reason": None,
        "is_closed": True,
        "is_billed": False,
        "started_time": "8:45am",
        "ended_time": "4:00pm",
        "is_running": False,
        "billable": True,
        "billable_rate": 24000.0,
        "cost_rate": 62.5,
        "updated_at": "2026-03-10T09:12:44Z",
    }

    def page(item: dict[str, Any]) -> bytes:
        return raw({"time_entries": [item], "page": 1, "total_pages": 1})

    [first] = accepted(running.webhook("harvest", page(entry)))
    [entry_id] = applied(running, [first])
    locked = dict(
        entry,
        is_locked=True,
        locked_reason="Item Approved and Locked for this Time Period",
        updated_at="2026-03-31T23:00:00Z",
    )
    [lock] = accepted(running.webhook("harvest", page(locked)))
    assert applied(running, [lock]) == [entry_id]

    path = f"/v1/time-entries/{entry_id}"
    types = [item["type"] for item in history(running, path)]
    assert types[-1] == "Revised" and "Reversed" not in types
    every = running.token("read", "read:pii", "read:confidential")
    golden = running.api.get(path, headers=every).json()
    assert (golden["status"], golden["is_locked"]) == ("approved", True)
    assert golden["locked_reason"] == "Item Approved and Locked for this Time Period"
    assert (golden["started_time"], golden["ended_time"]) == ("08:45", "16:00")
    assert golden["cost_rate"] == {"amount": "62.50", "currency": "GBP"}
    assert golden["source_rate"] == {"amount": "24000", "currency": "JPY"}
    assert golden["task_ref"]["id"] == "19911"
    plain = running.api.get(path, headers=running.token("read")).json()
    assert "cost_rate" not in plain and "source_rate" not in plain
    assert json.dumps(plain).count("62.5") == 0


def test_the_published_schemas_describe_the_new_fields(running: Running) -> None:
    answer = running.api.get("/v1/schemas/knowledge_asset", headers=running.auth)
    assert answer.status_code == 200, answer.text
    record_fields = answer.json()["record"]["properties"]
    assert "PII" not in record_fields["author"]["description"]  # the account is not the person
    assert record_fields["author_name"]["x-classification"] == "pii"
    assert record_fields["size_bytes"]["description"] == "Its size in bytes."
    invoice = running.api.get("/v1/schemas/invoice", headers=running.auth).json()
    assert (
        "Fixed once the document is issued"
        in invoice["change"]["properties"]["reported_tax"]["description"]
    )
    assert invoice["record"]["properties"]["payment_status"]["description"]
