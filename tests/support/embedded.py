"""Telling a record's own change events from what it says of records it embeds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.contracts.adapters import EMBEDDED_PREFIX


def own(events: Iterable[Any]) -> list[Any]:
    """The events of the records themselves: without the changes of the records they embed
    (a Xero invoice's Contact, a QuickBooks CustomerRef), which tests of their own cover."""
    return [e for e in events if not (e.sequence or "").startswith(EMBEDDED_PREFIX)]
