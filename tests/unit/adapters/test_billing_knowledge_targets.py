"""The QuickBooks, Xero and SharePoint targets as the feeds find them (adapters/<system>/feed.py
TARGET): named for their system, in their category, following canonical entities, and mapping
every record a feed can hand them without raising."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.quickbooks import feed as quickbooks
from adapters.sharepoint import feed as sharepoint
from adapters.xero import feed as xero
from hub.contracts.records import RECORD_MODELS
from tests.support import golden as r

TARGETS = [
    (quickbooks.TARGET, "quickbooks", "billing"),
    (xero.TARGET, "xero", "billing"),
    (sharepoint.TARGET, "sharepoint", "knowledge"),
]


@pytest.mark.parametrize(("target", "name", "category"), TARGETS, ids=[t[1] for t in TARGETS])
def test_each_target_is_registered_under_its_system(target: Any, name: str, category: str) -> None:
    assert (target.name, target.category) == (name, category)
    assert target.entities <= set(RECORD_MODELS)


def _every_record() -> list[tuple[str, dict[str, Any]]]:
    client = r.client()
    engagement = r.engagement(client["id"])
    eng = engagement["id"]
    return [
        ("client", client),
        ("client", r.client(deleted=True)),
        ("engagement", engagement),
        ("engagement", r.engagement(None, status="pipeline")),
        ("time_entry", r.time_entry(eng)),
        # Not a currency an invoice can carry (the record model refuses it; a mapping that
        # meets one anyway bills nothing rather than raising).
        ("time_entry", {**r.time_entry(eng), "source_rate": {"amount": "1", "currency": "XTS"}}),
        ("expense", r.expense(eng)),
        ("milestone", r.milestone(eng)),
    ]


@pytest.mark.parametrize(("target", "name", "category"), TARGETS, ids=[t[1] for t in TARGETS])
def test_items_are_deterministic_and_belong_to_the_target(
    target: Any, name: str, category: str
) -> None:
    for entity, record in _every_record():
        if entity not in target.entities:
            continue
        items = target.items(entity, record)
        assert items == target.items(entity, record)
        for item in items:
            assert item.target == name and str(item.canonical_id) == record["id"]
            assert item.version == record["version"]
        if record.get("deleted"):
            assert items == []
    # Two items of one record never share a key (the outbox is keyed by record and key).
    keys = [(i.canonical_id, i.key) for e, rec in _every_record() for i in target.items(e, rec)]
    assert len(keys) == len(set(keys))
