"""Which targets must hold a won engagement before it is ready (PSHUB_PROVISIONING_TARGETS)."""

from __future__ import annotations

import pytest

from hub.quote_to_cash.service import provisioning_targets

CONNECTED = {
    "PSHUB_FEED_NETSUITE_BASE_URL": "https://netsuite.example",
    "PSHUB_FEED_HARVEST_BASE_URL": "https://api.harvestapp.example",
}


def test_by_default_every_enabled_target_with_a_connector_that_follows_engagements() -> None:
    assert provisioning_targets("", CONNECTED) == {"harvest": "psa", "netsuite": "erp"}
    off = {**CONNECTED, "PSHUB_FEED_HARVEST_ENABLED": "false"}
    assert provisioning_targets("", off) == {"netsuite": "erp"}
    # Published on feed.* with no connector: nothing can acknowledge, nothing is waited for.
    assert provisioning_targets("", {}) == {}


def test_named_targets_take_their_category_or_the_one_given() -> None:
    assert provisioning_targets(" netsuite , sharepoint:knowledge ", {}) == {
        "netsuite": "erp",
        "sharepoint": "knowledge",
    }


def test_an_unknown_target_without_a_category_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'confluence' needs a category"):
        provisioning_targets("netsuite,confluence", {})
