"""Single records (issue 8, part 5): page-shaped sources also take one record as the source's
API returns it by id (a Harvest `GET /v2/<kind>/{id}` object, one Odoo record, one Graph
driveItem), on the webhook and through `pshub adapter <system> publish`, and it becomes a
golden record like the same record inside a page. The bodies are written from DOMAIN.md
(tests/support/vendor_bodies.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.adapter_support import stream_messages
from tests.support import vendor_bodies as vendor
from tests.support.adapter_flow import by_source, deliver, record
from tests.support.running import Running

HARVEST_ACCOUNT = "2113907"
ODOO_DATABASE = "kestrel-au"
GRAPH_TENANT = "3e2a1c5b-8f4d-4e6a-9b7c-0d1e2f3a4b5c"


def one_applied(running: Running, system: str, body: Any, **params: str) -> dict[str, Any]:
    """Posts one record to the webhook; returns the outcome of the record's own message (what
    it says of a client it embeds comes after, as its own message)."""
    outcome, *embedded = deliver(running, system, json.dumps(body).encode(), **params)
    assert all(o["entity"] == "client" for o in embedded), embedded
    assert outcome["status"] == "applied", outcome
    return outcome


def test_harvest_records_read_by_id_become_golden_records_told_apart_by_their_fields(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_HARVEST_TENANT", HARVEST_ACCOUNT)
    pii = running.token("read", "read:pii")

    client = one_applied(running, "harvest", vendor.HARVEST_CLIENT)
    project = one_applied(running, "harvest", vendor.HARVEST_PROJECT)
    user = one_applied(running, "harvest", vendor.HARVEST_USER)
    entry = one_applied(running, "harvest", vendor.HARVEST_TIME_ENTRY)
    # The kind may also be named, as for a record whose fields Harvest might add to.
    expense = one_applied(running, "harvest", vendor.HARVEST_EXPENSE, event="expense")

    golden_client = record(running, "harvest", "Client", "9911042")
    assert golden_client["id"] == client["canonical_ids"][0]
    assert (golden_client["legal_name"], golden_client["billing_currency"]) == (
        "Harbourline Shipping",
        "AUD",
    )
    assert golden_client["xrefs"] == [
        {"system": "harvest", "tenant": HARVEST_ACCOUNT, "type": "Client", "id": "9911042"}
    ]
    engagement = record(running, "harvest", "Project", "44100877")
    assert engagement["id"] == project["canonical_ids"][0]
    assert engagement["client_id"] == golden_client["id"]
    assert (engagement["code"], engagement["name"]) == ("HBL-07", "Pricing diagnostic")
    assert (engagement["currency"], engagement["status"]) == ("AUD", "active")
    resource = record(running, "harvest", "User", "4410021", pii)
    assert resource["id"] == user["canonical_ids"][0]
    assert (resource["name"], resource["email"]) == ("Priya Raman", "priya.raman@kestrel.example")
    time_entry = record(running, "harvest", "TimeEntry", "2711990051")
    assert time_entry["id"] == entry["canonical_ids"][0]
    assert (time_entry["engagement_id"], time_entry["resource_id"]) == (
        engagement["id"],
        resource["id"],
    )
    assert (time_entry["work_date"], time_entry["hours"]) == ("2025-03-05", "2.25")
    assert time_entry["status"] == "approved"  # is_closed
    golden_expense = record(running, "harvest", "Expense", "15290077")
    assert golden_expense["id"] == expense["canonical_ids"][0]
    assert golden_expense["amount"] == {"amount": "612.40", "currency": "AUD"}
    assert golden_expense["spent_date"] == "2025-03-06"


def test_a_harvest_record_whose_fields_fit_no_single_kind_must_be_named_with_event(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_HARVEST_TENANT", HARVEST_ACCOUNT)
    before = stream_messages(running)
    # A time entry someone merged with its user's profile: both kinds' fields at once.
    blended = {**vendor.HARVEST_TIME_ENTRY, "first_name": "Priya", "last_name": "Raman"}

    response = running.webhook("harvest", json.dumps(blended).encode())

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["reason"] == "SCHEMA_VIOLATION"
    assert problem["errors"][0]["field"] == "event"
    assert "time_entries" in problem["detail"] and "users" in problem["detail"]
    assert stream_messages(running) == before


def test_an_odoo_search_read_item_and_a_read_result_become_golden_records(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_ODOO_TENANT", ODOO_DATABASE)

    partner = one_applied(running, "odoo", vendor.ODOO_PARTNER)
    project = one_applied(running, "odoo", vendor.ODOO_PROJECT_READ)

    client = record(running, "odoo", "res.partner", "301")
    assert client["id"] == partner["canonical_ids"][0]
    assert (client["legal_name"], client["country"], client["tax_id"]) == (
        "Harbourline Shipping",
        "AU",
        "AU51824753556",
    )
    engagement = record(running, "odoo", "project.project", "58")
    assert engagement["id"] == project["canonical_ids"][0]
    assert engagement["client_id"] == client["id"]  # partner_id [301, ...]
    assert (engagement["name"], engagement["currency"]) == ("Harbourline - Fleet analytics", "AUD")
    assert engagement["xrefs"] == [
        {"system": "odoo", "tenant": ODOO_DATABASE, "type": "project.project", "id": "58"}
    ]


def test_one_graph_drive_item_becomes_a_knowledge_asset_and_a_folder_is_nothing_to_do(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_ADAPTER_SHAREPOINT_TENANT", GRAPH_TENANT)
    item_id = vendor.GRAPH_FILE_ITEM["id"]

    outcome = one_applied(running, "sharepoint", vendor.GRAPH_FILE_ITEM)

    asset = record(running, "sharepoint", "driveItem", item_id)
    assert asset["id"] == outcome["canonical_ids"][0]
    assert (asset["title"], asset["uri"]) == (
        "Harbourline SOW v3.pdf",
        vendor.GRAPH_FILE_ITEM["webUrl"],
    )
    assert (asset["kind"], asset["status"]) == ("document", "published")
    assert asset["xrefs"] == [
        {"system": "sharepoint", "tenant": GRAPH_TENANT, "type": "driveItem", "id": item_id}
    ]
    # The same item at the same eTag inside a delta page is the same change: a duplicate.
    page = {
        "value": [vendor.GRAPH_FILE_ITEM],
        "@odata.deltaLink": vendor.GRAPH_LATEST_DELTA_LINK,
    }
    [again] = running.webhook("sharepoint", json.dumps(page).encode()).json()["message_ids"]
    assert again == outcome["message_id"]

    before = stream_messages(running)
    folder = running.webhook("sharepoint", json.dumps(vendor.GRAPH_FOLDER_ITEM).encode())
    assert folder.status_code == 200, folder.text
    assert folder.json() == {
        "message_ids": [],
        "ignored": "a folder, package or the root is not a knowledge asset",
    }
    assert stream_messages(running) == before


def test_pshub_publish_takes_a_single_harvest_record_and_a_single_drive_item(
    running: Running, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PSHUB_DATABASE_URL": running.hub.database_url,
        "PSHUB_NATS_URL": running.nats_url,
        "PSHUB_NATS_PREFIX": running.hub.settings.nats_prefix,
        "PSHUB_ADAPTER_HARVEST_TENANT": HARVEST_ACCOUNT,
        "PSHUB_ADAPTER_SHAREPOINT_TENANT": GRAPH_TENANT,
    }
    published: dict[str, list[str]] = {}
    for system, body in (
        ("harvest", vendor.HARVEST_CLIENT),
        ("sharepoint", vendor.GRAPH_FILE_ITEM),
    ):
        path = tmp_path / f"{system}.json"
        path.write_text(json.dumps(body, indent=2))
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli", "adapter", system, "publish", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        published[system] = done.stdout.split()

    client = by_source(running.settle(published["harvest"]))["9911042"]
    assert client["status"] == "applied", client
    assert record(running, "harvest", "Client", "9911042")["legal_name"] == "Harbourline Shipping"
    item = by_source(running.settle(published["sharepoint"]))[vendor.GRAPH_FILE_ITEM["id"]]
    assert item["status"] == "applied", item
    asset = record(running, "sharepoint", "driveItem", vendor.GRAPH_FILE_ITEM["id"])
    assert asset["title"] == "Harbourline SOW v3.pdf"
