"""How a long-running hub process uses Python's cyclic garbage collector.

What lives as long as the process (compiled models, the application, then the caches of
aggregates, decoded events and log pages the projections and feeds keep) is what a full
collection walks: 0.3-0.5 s with the GIL held, in the hub and in a feeds worker alike, every
half minute or so under load (ops/bench/feeds.py: the largest stalls in a feed's lag, and
its p99). So after each full collection its survivors are frozen (moved where the collector
no longer looks), and the next full collection walks only what came after them. Refcounting
frees frozen objects as always; only a reference cycle among them that dies later waits, for
the sweep: every `SWEEP_EVERY` seconds the frozen objects are handed back, and the next full
collection walks everything once.
"""

from __future__ import annotations

import gc
import time
from typing import Any

SWEEP_EVERY = 600.0


class FreezeAfterFullCollection:
    """A gc callback: freezes what a full collection left, except once per sweep period."""

    def __init__(self, sweep_every: float = SWEEP_EVERY) -> None:
        self.sweep_every = sweep_every
        self._swept = time.monotonic()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        now = time.monotonic()
        if now - self._swept >= self.sweep_every:
            self._swept = now
            gc.unfreeze()  # the next full collection walks everything once
        else:
            gc.freeze()


def tune_garbage_collector(sweep_every: float = SWEEP_EVERY) -> None:
    """For a long-running hub process, after start-up. Those objects made the collector's
    passes, every 700 allocations, a quarter of ingest CPU at 60,000 messages (ops/bench):
    they are frozen out of its view, and the young generation is collected every 50,000
    allocations (the same figures as with the collector off, and cycles are still freed).
    Full collections then freeze what they leave (see the module's text)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    if not any(isinstance(c, FreezeAfterFullCollection) for c in gc.callbacks):
        gc.callbacks.append(FreezeAfterFullCollection(sweep_every))
