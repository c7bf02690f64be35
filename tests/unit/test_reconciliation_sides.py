"""The hub's side of a pass, read before and after the target's listing: what changed in
between is in flight, never judged."""

from __future__ import annotations

from domain.reconciliation import Expected
from hub.reconciliation.expected import HubSide, settled


def _item(target_id: str, name: str, cid: str = "a") -> Expected:
    return Expected("customer", target_id, cid, "customer", {"companyName": name})


def test_what_changed_or_arrived_during_the_listing_is_in_flight() -> None:
    before = HubSide(expected=[_item("1", "Acme"), _item("2", "Fjord", "b")])
    after = HubSide(
        expected=[_item("1", "Acme"), _item("2", "Fjord AS", "b"), _item("3", "New", "c")],
        known={("customer", "1")},
    )
    side = settled(before, after)
    assert side.expected == [_item("1", "Acme")]
    assert side.in_flight == {("customer", "2"), ("customer", "3")}
    assert side.known == {("customer", "1")}


def test_in_flight_before_stays_in_flight() -> None:
    before = HubSide(in_flight={("customer", "9")})
    assert settled(before, HubSide()).in_flight == {("customer", "9")}
