"""The feeds' provisioning gate (projections/feeds/gate.py): which items wait for quote-to-cash,
and what each state of a provisioning decides."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import uuid4

import pytest

from hub.contracts.feeds import FeedItem
from projections.feeds import gate
from projections.feeds.view import Ledger

AT = datetime(2026, 3, 2, tzinfo=UTC)


def item(target_id: str | None = None) -> FeedItem:
    return FeedItem("netsuite", "job", uuid4(), 3, "job", {"companyName": "X"}, target_id)


@pytest.mark.parametrize(
    ("state", "requested_at", "decided"),
    [("won", None, None), ("blocked", None, None), ("requested", AT, gate.OPEN),
     ("ready", AT, gate.OPEN), ("closed", AT, gate.OPEN), ("closed", None, gate.WITHDRAWN)],
)  # fmt: skip
def test_a_provisioning_opens_the_gate_once_requested_and_withdraws_if_closed_before(
    state: str, requested_at: datetime | None, decided: str | None
) -> None:
    provisioning = SimpleNamespace(state=state, requested_at=requested_at)
    assert gate.decision(provisioning) == decided


def test_only_the_creation_of_a_won_engagement_waits() -> None:
    won = {"status": "won"}
    assert gate.holds("engagement", won, item(), None, None)
    assert gate.holds("engagement", {"status": "active"}, item(), None, gate.WAITING)
    # Opened, or not an engagement, or a pipeline deal (never provisioned): not held.
    assert not gate.holds("engagement", won, item(), None, gate.OPEN)
    assert not gate.holds("client", won, item(), None, None)
    assert not gate.holds("engagement", {"status": "pipeline"}, item(), None, None)
    # The target holds it already (its id known, or delivered before): an update goes.
    assert not gate.holds("engagement", won, item("1001"), None, None)
    assert not gate.holds("engagement", won, item(), Ledger(None, "h", None), None)
    assert not gate.holds("engagement", won, item(), Ledger(None, None, "1001"), None)
    # Once held, a closed engagement's items are held too; withdrawn ones never go.
    assert gate.holds("engagement", {"status": "closed"}, item(), None, gate.WAITING)
    assert gate.holds("engagement", {"status": "closed"}, item(), None, gate.WITHDRAWN)
    assert not gate.holds("engagement", {"status": "closed"}, item(), None, None)
