"""The reconciliation comparison: both sides matched by the system's id, field by field."""

from __future__ import annotations

from decimal import Decimal

from domain.reconciliation import (
    DIFFERING,
    MATCHING,
    MISSING_DOWNSTREAM,
    MISSING_IN_HUB,
    UNKNOWN,
    Difference,
    Expected,
    Held,
    Money,
    compare,
    differences,
)


def _expected(target_id: str, cid: str, **fields: object) -> Expected:
    return Expected("customer", target_id, cid, "customer", fields)


def test_each_outcome_once() -> None:
    expected = [
        _expected("1", "a", companyName="Acme"),
        _expected("2", "b", companyName="Fjord"),
        _expected("3", "c", companyName="Gone"),
    ]
    held = [
        Held("customer", "1", {"companyName": "Acme", "id": "1", "links": []}),
        Held("customer", "2", {"companyName": "Fjord AS"}),
        Held("customer", "9", {"companyName": "Made by hand"}),
    ]
    found = compare(expected, held)
    outcomes = {(f.outcome, f.target_id) for f in found.findings}
    assert outcomes == {
        (MATCHING, "1"),
        (DIFFERING, "2"),
        (MISSING_DOWNSTREAM, "3"),
        (MISSING_IN_HUB, "9"),
    }
    [differing] = [f for f in found.findings if f.outcome == DIFFERING]
    assert differing.differences == (Difference("companyName", "Fjord", "Fjord AS"),)
    assert found.totals()["overall"] == {
        MATCHING: 1,
        MISSING_DOWNSTREAM: 1,
        MISSING_IN_HUB: 1,
        DIFFERING: 1,
    }
    assert found.totals()["drift"] == 3


def test_a_record_known_from_ingest_matches_by_presence_and_in_flight_is_not_judged() -> None:
    held = [Held("customer", "7", {"companyName": "Theirs"}), Held("customer", "8", {})]
    found = compare(
        [], held, known=frozenset({("customer", "7")}), in_flight=frozenset({("customer", "8")})
    )
    assert [(f.outcome, f.target_id) for f in found.findings] == [(MATCHING, "7")]


def test_nested_fields_numbers_and_lists_compare_leaf_by_leaf() -> None:
    hub = {
        "currency": {"refName": "NOK"},
        "Line": [{"Amount": "375.00", "Qty": "2.5"}],
        "Active": True,
        "code": "007",
    }
    system = {
        "currency": {"refName": "NOK", "id": "4"},
        "Line": [{"Amount": Decimal("375"), "Qty": 2.5, "Id": "1"}],
        "Active": True,
        "code": "007",
    }
    assert differences(hub, system) == []
    system["Line"][0]["Amount"] = Decimal("380.00")
    system["Active"] = 1
    system["currency"] = {"refName": "EUR"}
    assert differences(hub, system) == [
        Difference("currency.refName", "NOK", "EUR"),
        Difference("Line.0.Amount", "375.00", "380.00"),
        Difference("Active", True, 1),
    ]


def test_texts_are_not_numbers_and_empty_is_no_value() -> None:
    assert differences({"code": "007"}, {"code": "7"}) == [Difference("code", "007", "7")]
    assert differences({"notes": ""}, {}) == []
    assert differences({"notes": None}, {"notes": ""}) == []


def test_an_annotation_is_an_instruction_not_a_field() -> None:
    hub = {"name": "ENG-1 Pricing", "@microsoft.graph.conflictBehavior": "fail"}
    assert differences(hub, {"name": "ENG-1 Pricing"}) == []


def test_a_list_of_another_length_differs_as_a_whole() -> None:
    found = differences({"Line": [1, 2]}, {"Line": [1]})
    assert found == [Difference("Line", [1, 2], [1])]


def test_an_unknown_value_is_never_a_difference() -> None:
    assert differences({"parent": {"id": UNKNOWN}}, {"parent": {"id": "1001"}}) == []


def test_money_per_currency_by_outcome_never_across_currencies() -> None:
    gbp = Money("GBP", Decimal("375.00"))
    expected = [
        Expected("invoice", "1", "a", "line:a", {"x": 1}, gbp),
        Expected("invoice", "2", "b", "line:b", {"x": 1}, Money("GBP", Decimal("84.20"))),
        Expected("invoice", "3", "c", "line:c", {"x": 1}, Money("EUR", Decimal("10"))),
    ]
    held = [Held("invoice", "1", {"x": 2}, gbp)]
    money = compare(expected, held).totals()["money"]
    assert money == {
        DIFFERING: {"GBP": "375.00"},
        MISSING_DOWNSTREAM: {"EUR": "10", "GBP": "84.20"},
    }


def test_a_finding_keeps_its_identity_from_one_pass_to_the_next() -> None:
    [first] = compare([_expected("1", "a", companyName="A")], []).findings
    [again] = compare([_expected("1", "a", companyName="B")], [Held("customer", "1", {})]).findings
    assert first.identity == again.identity == "customer:a:customer"
    [theirs] = compare([], [Held("customer", "9", {})]).findings
    assert theirs.identity == "customer:system:9"


def test_a_part_of_a_whole_the_hub_did_not_send_is_not_judged() -> None:
    expected = [Expected("invoice", "inv-1", "e", "draftinvoice", {"Status": "DRAFT"})]
    held = [
        Held("invoice", "inv-1", {"Status": "DRAFT"}),
        Held("invoice", "inv-9", {}),
        Held("line", "l-1", {}, parent=("invoice", "inv-1")),  # a line someone added
        Held("line", "l-9", {}, parent=("invoice", "inv-9")),  # on an invoice not the hub's
    ]
    found = compare(expected, held, known=frozenset({("invoice", "inv-9")}))
    outcomes = sorted((f.outcome, f.target_id) for f in found.findings)
    assert outcomes == [("matching", "inv-1"), ("matching", "inv-9"), ("missing_in_hub", "l-1")]
