"""Each record serialised once per process at each version, for all the projections that
serialise it.

The golden records and every feed turn an aggregate into its golden record (`to_record`: a
pydantic model validated from the aggregate's attributes, then dumped as JSON-ready data) at
each event that changes it. Feeds keep their own copies of the aggregates, so a time entry
was serialised once per feed that follows it (NetSuite, QuickBooks and Xero), the largest
part of a feeds worker's CPU (py-spy --gil, ops/bench/feeds.py: 18 %). A record at one
version of its aggregate is the same whoever built it (events are immutable and folded in
order), so the first projection to serialise it keeps it for the others. What this returns is
shared: never change it (the feeds copy before they mark xrefs; see FeedProjection._marked).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID


class SharedRecords:
    """`to_record` of an aggregate, answered from the records this process serialised last,
    by (aggregate id, version)."""

    def __init__(self, to_record: Callable[[Any], dict[str, Any]], size: int = 20_000) -> None:
        self.to_record = to_record
        # Projections of one process follow the log close together: the latest versions are
        # what is asked for again.
        self.size = size
        self._records: OrderedDict[tuple[UUID, int], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, aggregate: Any) -> dict[str, Any]:
        key = (aggregate.id, aggregate.version)
        with self._lock:
            record = self._records.get(key)
        if record is None:
            # Serialised outside the lock: two threads may both serialise one version, which
            # is harmless (equal records), and neither waits on the other's work.
            record = self.to_record(aggregate)
            with self._lock:
                self._records[key] = record
                if len(self._records) > self.size:
                    self._records.popitem(last=False)
        return record
