"""The provisioning gate of a feed (quote-to-cash, issue 10): a won engagement's project is not
created downstream until its provisioning is requested.

Where the quote-to-cash process runs, it records each won engagement's provisioning in the log
(events of domain.provisioning:Provisioning). A feed reads them like any other event, so what it
decides depends on the log alone and a rebuild from position zero decides the same:

- an engagement item that would create the engagement in the target (the target holds no id
  for it, the ledger records no delivery of it) while the engagement is won, active or on hold
  is held (state `held`: neither published on feed.* nor delivered) until its provisioning is
  requested (every check passed): then it is pending like any other item;
- once an engagement's item was held, its later items are held too whatever its status (it
  may be closed before the process has closed its provisioning);
- a provisioning closed before it was requested (cancelled while blocked) withdraws what was
  held: nothing was opened downstream, so there is nothing to create or close;
- updates of an engagement the target already holds are never held.

Pure: the feed projection asks it which items to hold and what a provisioning event decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.contracts.feeds import FeedItem

if TYPE_CHECKING:  # the view writes the decisions: it imports this module
    from projections.feeds.view import Ledger

TOPIC = "domain.provisioning:Provisioning."
# The engagement states quote-to-cash provisions (hub/quote_to_cash/process.py WON_STATES).
WON_STATES = frozenset({"won", "active", "on_hold"})
# Decisions a provisioning event makes, as the feed records them per engagement.
# WAITING: the feed has held an item of it (the process has not decided yet).
OPEN, WITHDRAWN, WAITING = "open", "withdrawn", "waiting"


def decision(provisioning: Any) -> str | None:
    """What the provisioning as it stands after an event decides: OPEN once requested (ready,
    or closed after it was requested: the targets hold it and must see it close), WITHDRAWN
    when closed before it ever was, None while it waits (won, blocked)."""
    state = str(getattr(provisioning, "state", ""))
    if state in ("requested", "ready"):
        return OPEN
    if state == "closed":
        return OPEN if provisioning.requested_at is not None else WITHDRAWN
    return None


def holds(
    entity: str, record: Mapping[str, Any], item: FeedItem, kept: Ledger | None, gate: str | None
) -> bool:
    """Whether an item must wait for its engagement's provisioning (or, withdrawn, never go)."""
    if entity != "engagement" or gate == OPEN:
        return False
    if item.target_id or (kept is not None and (kept.target_id or kept.delivered_hash)):
        return False  # the target holds it already: an update, not a creation
    return gate in (WITHDRAWN, WAITING) or str(record.get("status")) in WON_STATES
