"""Which system migrations of a feed category are refused, and why (field and rule): the
checks `pshub feeds migrate` and POST /v1/feeds/migrate make before anything runs."""

from __future__ import annotations

import pytest

from hub.feeds.migration import MigrationRefused, check, systems

ON = {"PSHUB_FEED_XERO_ENABLED": "true", "PSHUB_FEED_NETSUITE_ENABLED": "yes"}


def test_each_category_holds_its_targets_then_its_source_systems() -> None:
    assert systems("billing") == ["quickbooks", "xero", "stripe"]
    assert systems("erp") == ["netsuite", "odoo"]
    assert systems("psa") == ["harvest"]
    assert systems("knowledge") == ["sharepoint", "confluence"]


def test_a_migration_to_an_enabled_feed_of_the_category_is_allowed() -> None:
    assert check("billing", "quickbooks", "xero", ON).name == "xero"
    assert check("erp", "odoo", "netsuite", ON).name == "netsuite"  # Odoo has no feed
    assert check("billing", "xero", "quickbooks", {}).name == "quickbooks"  # enabled by default


@pytest.mark.parametrize(
    ("category", "source", "target", "field", "rule", "usage"),
    [
        ("payroll", "quickbooks", "xero", "category", "known_category", True),
        ("billing", "sage", "xero", "from", "system_of_category", True),
        ("billing", "harvest", "xero", "from", "system_of_category", True),
        ("billing", "xero", "xero", "to", "differs_from_from", True),
        ("billing", "quickbooks", "stripe", "to", "feed_of_category", True),  # no Stripe feed
        ("billing", "quickbooks", "netsuite", "to", "feed_of_category", True),
        ("erp", "odoo", "sap", "to", "feed_of_category", True),
    ],
)
def test_a_migration_that_cannot_be_made_is_refused_naming_the_field_and_rule(
    category: str, source: str, target: str, field: str, rule: str, usage: bool
) -> None:
    with pytest.raises(MigrationRefused) as refused:
        check(category, source, target, ON)
    assert (refused.value.field, refused.value.rule, refused.value.usage) == (field, rule, usage)


def test_a_migration_to_a_disabled_feed_is_refused_as_the_configuration_s_fault() -> None:
    with pytest.raises(MigrationRefused) as refused:
        check("billing", "quickbooks", "xero", {"PSHUB_FEED_XERO_ENABLED": "false"})
    assert (refused.value.field, refused.value.rule, refused.value.usage) == (
        "to",
        "feed_enabled",
        False,
    )
    assert "PSHUB_FEED_XERO_ENABLED" in str(refused.value)
