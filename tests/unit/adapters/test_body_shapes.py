"""Telling a source's body shapes apart (issue 8, part 5), adapter by adapter, over bodies
written from DOMAIN.md (tests/support/vendor_bodies.py): one record where a page is expected,
the empty inputs a source really sends, and bodies of no source's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.refusals import load_json
from hub import intake
from hub.adapters import registry
from hub.contracts.adapters import EMBEDDED_PREFIX, AdapterConfig, AdapterError, Mapped
from tests.support import vendor_bodies as vendor

CONFIG = AdapterConfig(tenant="shapes", default_currency="AUD")


def take(system: str, body: Any, **kw: Any) -> Mapped:
    """The mapping, with the events of the records themselves (what a record says of a record
    it embeds, its client, is tested in test_embedded.py)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    mapped = intake.take_in(system, raw, config=CONFIG, **kw)
    mapped.events = [e for e in mapped.events if not (e.sequence or "").startswith(EMBEDDED_PREFIX)]
    return mapped


def refusal(system: str, body: Any, **kw: Any) -> AdapterError:
    with pytest.raises(AdapterError) as caught:
        take(system, body, **kw)
    return caught.value


def test_json_that_is_not_utf8_is_malformed_but_a_byte_order_mark_is_tolerated() -> None:
    for text in ('{"id": 7}'.encode("utf-16"), '{"n": "Zürich"}'.encode("latin-1")):
        with pytest.raises(AdapterError) as caught:
            load_json(text)
        error = caught.value
        assert (error.status, error.reason, error.field, error.rule) == (
            400,
            "MALFORMED_PAYLOAD",
            "body",
            "utf-8",
        )
    assert load_json(b'\xef\xbb\xbf{"id": 7}') == {"id": 7}


def test_a_lone_surrogate_escape_is_malformed_but_an_escaped_pair_is_a_character() -> None:
    for text in (b'{"name": "Harbour\\ud800line"}', b'{"\\udfff": 1}', b'["\\uDC00"]'):
        with pytest.raises(AdapterError) as caught:
            load_json(text)
        assert (caught.value.reason, caught.value.rule) == ("MALFORMED_PAYLOAD", "utf-8")
    assert load_json(b'{"note": "\\ud83d\\udea2 shipped"}') == {"note": "\U0001f6a2 shipped"}


@pytest.mark.parametrize(
    ("body", "collection", "source_type"),
    [
        (vendor.HARVEST_CLIENT, "clients", "Client"),
        (vendor.HARVEST_PROJECT, "projects", "Project"),
        (vendor.HARVEST_USER, "users", "User"),
        (vendor.HARVEST_TIME_ENTRY, "time_entries", "TimeEntry"),
        (vendor.HARVEST_EXPENSE, "expenses", "Expense"),
    ],
)
def test_a_harvest_record_read_by_id_maps_as_the_same_record_in_a_page(
    body: dict[str, Any], collection: str, source_type: str
) -> None:
    alone = take("harvest", body)
    named = take("harvest", body, event=collection)
    paged = take("harvest", {collection: [body], "page": 1, "total_entries": 1})

    [event] = alone.events
    assert event.sourcetype == source_type
    assert event.subject == str(body["id"])
    assert [e.model_dump() for e in named.events] == [event.model_dump()]
    assert [e.model_dump() for e in paged.events] == [event.model_dump()]


def test_a_harvest_invoice_read_by_id_is_told_by_its_amounts_and_lines() -> None:
    invoice = {
        "id": 13150891,
        "client_key": "7c3a1f09e2b84d56a0c9b8e7f6d5c4b3a2910e8d",
        "number": "KC-2025-031",
        "amount": 4950.0,
        "due_amount": 4950.0,
        "tax": None,
        "currency": "AUD",
        "state": "open",
        "issue_date": "2025-04-01",
        "due_date": "2025-05-01",
        "client": {"id": 9911042, "name": "Harbourline Shipping"},
        "line_items": [
            {
                "id": 53341901,
                "kind": "Service",
                "description": "Pricing diagnostic, March",
                "quantity": 27.5,
                "unit_price": 180.0,
                "amount": 4950.0,
                "taxed": False,
                "taxed2": False,
                "project": {"id": 44100877, "name": "Pricing diagnostic", "code": "HBL-07"},
            }
        ],
        "updated_at": "2025-04-01T03:00:00Z",
    }

    [event] = take("harvest", invoice).events

    assert (event.sourcetype, event.subject) == ("Invoice", "13150891")


def test_a_harvest_record_of_two_kinds_at_once_must_be_named_with_event() -> None:
    blended = {**vendor.HARVEST_TIME_ENTRY, "first_name": "Priya"}

    error = refusal("harvest", blended)

    assert (error.reason, error.field, error.rule) == ("SCHEMA_VIOLATION", "event", "ambiguous")
    assert take("harvest", blended, event="time_entry").events


def test_a_lone_harvest_billable_rate_is_refused_since_it_names_no_user() -> None:
    rate = {"id": 1836493, "amount": 180.0, "start_date": "2025-01-01", "end_date": None}

    error = refusal("harvest", rate)

    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "body")
    assert "billable_rates" in error.message


def test_an_empty_harvest_page_is_nothing_to_do_whichever_collection_it_lists() -> None:
    for collection in ("clients", "projects", "users", "time_entries", "expenses", "invoices"):
        result = take("harvest", {collection: [], "page": 1, "total_entries": 0})
        assert (result.events, result.fetches) == ([], [])
        assert result.ignored == f"an empty {collection} page: nothing changed"


def test_an_odoo_record_alone_in_a_read_result_or_in_a_list_maps_the_same() -> None:
    [project] = vendor.ODOO_PROJECT_READ["result"]
    as_read = take("odoo", vendor.ODOO_PROJECT_READ)
    alone = take("odoo", project)
    bare_list = take("odoo", [project])

    [event] = as_read.events
    assert (event.sourcetype, event.subject) == ("project.project", "58")
    for other in (alone, bare_list):
        assert [e.model_dump() for e in other.events] == [event.model_dump()]
    [milestone] = take("odoo", vendor.ODOO_MILESTONE).events
    assert milestone.sourcetype == "project.milestone"
    [partner] = take("odoo", vendor.ODOO_PARTNER).events
    assert partner.sourcetype == "res.partner"


def test_odoo_refuses_an_error_answer_and_a_bare_empty_list_but_not_an_empty_result() -> None:
    error = refusal(
        "odoo",
        {"jsonrpc": "2.0", "id": 5, "error": {"code": 200, "message": "Odoo Server Error"}},
    )
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "error")
    assert refusal("odoo", []).field == "body"
    assert take("odoo", vendor.ODOO_EMPTY_RESULT).ignored
    # An object of no Odoo model is refused as such, before anyone asks for its id.
    error = refusal("odoo", {"name": "Harbourline", "write_date": "2025-03-01 00:00:00"})
    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "_model")


def test_a_graph_drive_item_read_by_id_is_the_same_change_as_in_a_delta_page() -> None:
    page = {"value": [vendor.GRAPH_FILE_ITEM], "@odata.deltaLink": vendor.GRAPH_LATEST_DELTA_LINK}

    [alone] = take("sharepoint", vendor.GRAPH_FILE_ITEM).events
    [paged] = take("sharepoint", page).events

    assert alone.id == paged.id  # same drive, item and eTag: one idempotency key
    assert alone.data == paged.data
    assert take("sharepoint", vendor.GRAPH_FOLDER_ITEM).ignored


def test_a_graph_drive_item_refusal_names_its_own_field_not_a_page_position() -> None:
    item = {k: v for k, v in vendor.GRAPH_FILE_ITEM.items() if k != "lastModifiedDateTime"}

    error = refusal("sharepoint", item)

    assert (error.reason, error.field) == ("SCHEMA_VIOLATION", "lastModifiedDateTime")
    assert "value.0" not in error.message


def test_an_empty_or_folders_only_delta_page_keeps_its_delta_link_with_the_reason() -> None:
    folders = {
        "value": [vendor.GRAPH_FOLDER_ITEM],
        "@odata.deltaLink": vendor.GRAPH_LATEST_DELTA_LINK,
    }
    for page in (vendor.GRAPH_EMPTY_DELTA_PAGE, folders):
        result = take("sharepoint", page)
        assert (result.events, result.fetches) == ([], [])
        assert result.ignored
        assert result.cursor == vendor.GRAPH_LATEST_DELTA_LINK


def test_an_empty_body_is_only_accepted_as_graphs_handshake() -> None:
    assert take("sharepoint", b"", validation_token="Validation: reachability").ignored
    for system in registry():
        error = refusal(system, b"  ")
        assert (error.status, error.reason, error.field) == (400, "MALFORMED_PAYLOAD", "body")


class _Silent:
    """An adapter that maps a body to nothing and gives no reason."""

    system = "silent"

    def map_payload(self, body: bytes, **kw: Any) -> Mapped:
        return Mapped()


def test_a_mapping_that_yields_nothing_and_gives_no_reason_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake, "adapter_for", lambda system: _Silent())

    error = refusal("silent", {"anything": True})

    assert (error.reason, error.field, error.rule) == ("SCHEMA_VIOLATION", "body", "shape")
