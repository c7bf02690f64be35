"""Survivorship of a multi-source record's fields (hub/ingest/rules.py Rules.survives)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.ingest.rules import FieldSource, Rules

EARLY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LATE = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def test_a_field_of_equal_rank_goes_to_the_more_recent_change() -> None:
    rules = Rules()
    last = FieldSource("xero", LATE)
    assert not rules.survives("invoice", "due_date", "quickbooks", EARLY, last)
    assert rules.survives("invoice", "due_date", "quickbooks", LATE, last)
    assert rules.survives("invoice", "due_date", "xero", EARLY, last), "a system's own value"


def test_what_an_invoice_was_paid_is_each_systems_own_whatever_its_time() -> None:
    """QuickBooks's payment made at 10:00 and reported after Xero's of 10:15: its amount paid
    is its own share (Invoice.paid_in), not an older value of Xero's, so it is kept."""
    rules = Rules()
    last = FieldSource("xero", LATE)
    assert rules.survives("invoice", "amount_paid", "quickbooks", EARLY, last)
    assert not rules.survives("invoice", "status", "quickbooks", EARLY, last)
    assert not rules.survives("client", "amount_paid", "quickbooks", EARLY, last)
