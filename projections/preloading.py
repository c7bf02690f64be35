"""Which aggregates a page of the log changes that a projection does not hold as they stood
before it: read together in one query (a loader over `select_events_of`), not one query per
event when the page reaches them. Updates of records last changed long ago (a week's time
approved at once) missed a projection's cache one by one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

# Loads several aggregates, each at the version asked (those it finds).
LoadMany = Callable[[Mapping[UUID, int]], dict[UUID, Any]]


def missing(
    notifications: Sequence[Notification],
    cached: Mapping[UUID, Any],
    skip: Callable[[Notification], bool] = lambda _: False,
) -> dict[UUID, int]:
    """For each aggregate the page changes (at its first event here, unless `skip`), the
    version to load when `cached` does not hold it at the version before."""
    wanted: dict[UUID, int] = {}
    seen: set[UUID] = set()
    for notification in notifications:
        aggregate_id, version = notification.originator_id, notification.originator_version
        if aggregate_id in seen:
            continue
        seen.add(aggregate_id)
        if version == 1 or skip(notification):
            continue
        held = cached.get(aggregate_id)
        if held is None or held.version != version - 1:
            wanted[aggregate_id] = version - 1
    return wanted
