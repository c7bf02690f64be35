"""Finding golden records over HTTP: `?name=`, `?code=`, `?q=` and `?xref=` on a running hub
(real PostgreSQL and NATS), combined with field filters and keyset cursors; the filters each
collection publishes; every bad input a problem naming the field and the rule."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from domain.client import Client
from domain.engagement import EngagementStatus
from domain.registry import COLLECTIONS
from domain.values import SourceRef
from hub.demo import DemoSpec, load_demo
from hub.settings import Settings
from hub.store.recorder import EventMeta
from projections.golden_records.search import fold
from tests.support.running import Running, running_hub

PROBLEM = "application/problem+json"
ZURICH_ACCOUNT = f"0015e{uuid.uuid4().hex[:13].upper()}"


class Firm:
    """A running hub with a small demo firm and the named records these tests look for."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.ids: dict[str, str] = {}

    def client(self, name: str, country: str, currency: str, **kwargs: Any) -> str:
        client, _ = self.running.hub.app.register_client(
            legal_name=name,
            country=country,
            billing_currency=currency,
            meta=EventMeta(system="crm", actor="test"),
            **kwargs,
        )
        self.ids[name] = str(client.id)
        return str(client.id)

    def get(self, path: str, *scopes: str, **params: Any) -> Any:
        headers = self.running.token(*(scopes or ("read",)))
        return self.running.api.get(path, params=params, headers=headers)

    def names(self, collection: str, field: str = "legal_name", **params: Any) -> list[str]:
        """Every match, page by page (ids ascending, as the cursor promises)."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            resp = self.get(f"/v1/{collection}", **query)
            assert resp.status_code == 200, resp.text
            found.extend(resp.json()["items"])
            cursor = resp.json()["next_cursor"]
            if cursor is None:
                break
        ids = [item["id"] for item in found]
        assert ids == sorted(ids, key=uuid.UUID)
        return [item[field] for item in found]


@pytest.fixture(scope="module")
def firm(settings: Settings, make_database: Callable[[str], str], nats_url: str) -> Iterator[Firm]:
    with running_hub(settings, make_database, nats_url) as running:
        app = running.hub.app
        load_demo(app, DemoSpec(seed=11, scale=0.03), progress=False)
        firm = Firm(running)
        zurich = firm.client(
            "Zürich Consulting AG",
            "CH",
            "CHF",
            xref=SourceRef("salesforce", "00D5e000000TEST", "Account", ZURICH_ACCOUNT),
        )
        stored = app.get(uuid.UUID(zurich), Client)
        stored.revise(trading_name="Helvetia Beratung")
        app.record(stored, meta=EventMeta(system="crm", actor="test"))
        firm.client("ZÜRICH Consulting GmbH", "DE", "EUR")
        firm.client("Zurich Re-Insurance Ltd", "GB", "GBP")
        firm.client("Ørsted Advisory A/S", "DK", "DKK")
        firm.client("100% Pure Ltd", "GB", "GBP")
        firm.client("A_B Holdings Ltd", "GB", "GBP")
        firm.client("AxB Holdings Ltd", "GB", "GBP")
        for n in range(9):
            firm.client(f"Prüfung Paging {n} GmbH", "DE", "EUR")
        gone = firm.client("Zürcher Tombstone AG", "CH", "CHF")
        stored = app.get(uuid.UUID(gone), Client)
        stored.delete()
        app.record(stored, meta=EventMeta(actor="test"))
        for code, name, status in (
            ("ZRC-001", "Zürich Finance Roll-out", EngagementStatus.ACTIVE),
            ("ZRC-002", "Zürich Discovery", EngagementStatus.PIPELINE),
        ):
            app.create_engagement(
                client_id=uuid.UUID(zurich),
                code=code,
                name=name,
                currency="CHF",
                status=status,
                meta=EventMeta(actor="test"),
            )
        assert running.hub.runner is not None
        assert running.hub.runner.wait_for(app.hub_recorder.select_head()[0], 60)
        yield firm


def test_a_name_matches_ignoring_accents_and_case_as_prefix_and_substring(firm: Firm) -> None:
    for query in ("zur", "ZÜR", "Zürich", "zurich consulting", "consult", "CONSULTING A"):
        found = firm.names("clients", name=query)
        assert "Zürich Consulting AG" in found, query
    assert set(firm.names("clients", name="zurich consulting")) == {
        "Zürich Consulting AG",
        "ZÜRICH Consulting GmbH",
    }
    assert firm.names("clients", name="orsted") == ["Ørsted Advisory A/S"]
    assert firm.names("clients", name="Zurich Consulting AB") == []


def test_a_client_is_found_by_its_trading_name_too(firm: Firm) -> None:
    assert firm.names("clients", name="helvetia ber") == ["Zürich Consulting AG"]
    assert firm.names("clients", q="beratung zurich") == ["Zürich Consulting AG"]


def test_a_short_name_matches_the_start_of_a_word(firm: Firm) -> None:
    found = firm.names("clients", name="zü")
    assert {"Zürich Consulting AG", "ZÜRICH Consulting GmbH", "Zurich Re-Insurance Ltd"} <= set(
        found
    )
    assert "Zürich Consulting AG" in firm.names("clients", name="C")
    assert "Zürich Consulting AG" not in firm.names("clients", name="ri")
    for name in firm.names("clients", name="ri"):
        assert any(word.startswith("ri") for word in fold(name).split(" ")), name


def test_percent_and_underscore_are_literal_characters(firm: Firm) -> None:
    assert firm.names("clients", name="0% p") == ["100% Pure Ltd"]
    assert firm.names("clients", name="100%") == ["100% Pure Ltd"]
    assert firm.names("clients", name="a_b") == ["A_B Holdings Ltd"]
    assert firm.names("clients", name="_b hold") == ["A_B Holdings Ltd"]
    # Short, they match a word that starts with them: none here starts with % or _.
    assert firm.names("clients", name="%") == []
    assert firm.names("clients", name="_") == []
    assert firm.names("clients", q="a_b holdings") == ["A_B Holdings Ltd"]


def test_q_needs_every_word_in_any_order_across_names_and_codes(firm: Firm) -> None:
    assert firm.names("clients", q="gmbh zurich") == ["ZÜRICH Consulting GmbH"]
    assert firm.names("clients", q="zurich   consulting") == firm.names(
        "clients", name="zurich consulting"
    )
    assert firm.names("engagements", "name", q="zrc-001 zurich") == ["Zürich Finance Roll-out"]
    assert firm.names("engagements", "name", q="zurich nowhere") == []


def test_engagements_are_found_by_name_or_code_and_exactly_by_code(firm: Firm) -> None:
    assert sorted(firm.names("engagements", "name", name="zrc-00")) == [
        "Zürich Discovery",
        "Zürich Finance Roll-out",
    ]
    assert firm.names("engagements", "name", code="ZRC-002") == ["Zürich Discovery"]
    assert firm.names("engagements", "name", code="ZRC-00") == []


def test_a_name_search_combines_with_field_filters(firm: Firm) -> None:
    assert firm.names("engagements", "name", name="zürich", status="active") == [
        "Zürich Finance Roll-out"
    ]
    assert firm.names("clients", name="zurich", country="DE") == ["ZÜRICH Consulting GmbH"]


def test_invoices_are_found_by_their_number(firm: Firm) -> None:
    numbered = [i for i in firm.names("invoices", "number", status="paid") if i]
    number = numbered[0]
    assert firm.names("invoices", "number", code=number) == [number]
    assert number in firm.names("invoices", "number", name=number[-4:].lower())
    assert firm.names("invoices", "number", code=number.lower() + "x") == []


def test_an_xref_finds_the_record_of_that_source_record(firm: Firm) -> None:
    expected = [firm.ids["Zürich Consulting AG"]]
    for xref in (
        f"salesforce:Account:{ZURICH_ACCOUNT}",
        f"salesforce:account:{ZURICH_ACCOUNT}",
    ):
        found = firm.get("/v1/clients", xref=xref).json()["items"]
        assert [c["id"] for c in found] == expected
    assert firm.names("clients", xref=f"salesforce:Account:{ZURICH_ACCOUNT}", name="gmbh") == []
    assert firm.names("clients", xref="salesforce:Account:001NOSUCHACCOUNT") == []
    assert firm.names("engagements", "name", xref=f"salesforce:Account:{ZURICH_ACCOUNT}") == []


def test_paging_through_a_search_with_the_cursor(firm: Firm) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"name": "prufung paging", "limit": 4, **({"cursor": cursor} if cursor else {})}
        body = firm.get("/v1/clients", **params).json()
        seen.extend(c["legal_name"] for c in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        other = firm.get("/v1/clients", name="prüfung", limit=4, cursor=cursor)
        assert other.status_code == 400, "a cursor belongs to its own search"
    assert pages == 3
    assert sorted(seen) == [f"Prüfung Paging {n} GmbH" for n in range(9)]


def test_tombstones_are_left_out_unless_asked_for(firm: Firm) -> None:
    assert firm.names("clients", name="zurcher") == []
    assert firm.names("clients", name="zurcher", include_deleted="true") == ["Zürcher Tombstone AG"]


def test_people_are_searched_by_name_only_with_read_pii(firm: Firm) -> None:
    person = firm.get("/v1/resources", "read", "read:pii", limit=1).json()["items"][0]
    last = person["name"].split()[-1]
    refused = firm.get("/v1/resources", name=last)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["errors"][0] == {
        "field": "name",
        "rule": "scope",
        "message": refused.json()["errors"][0]["message"],
    }
    assert refused.json()["reason"] == "FORBIDDEN"
    assert last not in refused.text
    found = firm.get("/v1/resources", "read", "read:pii", name=last.upper()).json()["items"]
    assert person["id"] in [r["id"] for r in found]


@pytest.mark.parametrize(
    ("params", "status", "field", "rule"),
    [
        ({"name": ""}, 422, "name", "min_length"),
        ({"q": " "}, 422, "q", "min_length"),
        ({"name": "z" * 10_000}, 422, "name", "max_length"),
        ({"q": "zurich " * 2_000}, 422, "q", "max_length"),
        ({"name": "zur\x00ich"}, 400, "name", "no_nul"),
        ({"xref": "salesforce"}, 422, "xref", "xref"),
        ({"colour": "red"}, 400, "colour", "unknown_filter"),
        ({"code": "ZRC-001"}, 400, "code", "unknown_filter"),
    ],
)
def test_bad_search_inputs_are_problems_naming_field_and_rule(
    firm: Firm, params: dict[str, str], status: int, field: str, rule: str
) -> None:
    resp = firm.get("/v1/clients", **params)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert {"field": field, "rule": rule} in [
        {"field": e["field"], "rule": e["rule"]} for e in resp.json()["errors"]
    ]


@pytest.mark.parametrize("entity", sorted(COLLECTIONS))
def test_each_collection_publishes_and_answers_its_filters(firm: Firm, entity: str) -> None:
    collection = COLLECTIONS[entity]
    schema = firm.get(f"/v1/schemas/{entity}").json()
    published = {f["name"]: f for f in schema["filters"]}
    assert {"name", "q", "xref"} <= set(published)
    assert all(f["description"] for f in published.values())
    openapi = firm.running.api.get("/openapi.json").json()
    parameters = openapi["paths"][f"/v1/{collection}"]["get"]["parameters"]
    in_openapi = {p["name"]: p for p in parameters}
    for name, filter_ in published.items():
        assert in_openapi[name]["description"] == filter_["description"]
    scopes = ("read", "read:pii")
    assert firm.get(f"/v1/{collection}", *scopes, q="zz no such text zz").json()["items"] == []
    assert firm.get(f"/v1/{collection}", *scopes, name="a").status_code == 200
