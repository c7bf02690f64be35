"""Running quote-to-cash in a hub process: the process manager on a runner of its own (like a
projection, woken by the store's NOTIFY) and the timeout sweep on a timer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from hub.feeds.registry import active_targets, connector, known_targets
from hub.quote_to_cash.process import QuoteToCash
from hub.quote_to_cash.store import ProvisioningStore
from projections.runner import ProjectionRunner

log = logging.getLogger(__name__)


def provisioning_targets(setting: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Target -> category that must acknowledge a won engagement before it is ready.

    Empty setting: every enabled feed target that follows engagements and has a connector
    (a base URL): only those deliver, so only those can acknowledge; a feed published on
    feed.* alone would time out every engagement. Otherwise a comma list of targets, each
    `name` (a known feed target's category) or `name:category`.
    """
    if not setting.strip():
        return {
            name: target.category
            for name, target in active_targets(env).items()
            if "engagement" in target.entities and connector(name, env) is not None
        }
    known = known_targets()
    result = {}
    for part in (p.strip() for p in setting.split(",") if p.strip()):
        name, _, category = part.partition(":")
        if not category:
            if name not in known:
                raise ValueError(f"provisioning target {name!r} needs a category (name:category)")
            category = known[name].category
        result[name.strip()] = category.strip()
    return result


class Provisioner:
    """The quote-to-cash process of this hub process."""

    def __init__(
        self,
        app: Any,
        *,
        database_url: str | None,
        targets: dict[str, str],
        timeout_seconds: float,
        sweep_every: float | None = None,
    ) -> None:
        self.store = ProvisioningStore(app.hub_recorder.datastore)
        self.store.create_tables(app.hub_recorder.append_role)
        self.process = QuoteToCash(
            app, self.store, targets=targets, timeout_seconds=timeout_seconds
        )
        self.runner = ProjectionRunner(self.process, app.hub_recorder, conninfo=database_url)
        # Often enough that a timeout opens within a fifth of its length (at most a minute).
        self.sweep_every = sweep_every or min(60.0, max(0.2, timeout_seconds / 5))
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        self.runner.start()
        self._stop.clear()
        self._sweeper = threading.Thread(
            target=self._sweep, name="quote-to-cash-timeouts", daemon=True
        )
        self._sweeper.start()

    def stop(self) -> None:
        self._stop.set()
        self.runner.stop()
        if self._sweeper is not None:
            self._sweeper.join(10)

    def status(self, head: int) -> dict[str, Any]:
        """What GET /v1/projections says of the process (beside the projections)."""
        position = self.process.position()
        return {
            "name": "quote_to_cash",
            "generation": 1,
            "position": position,
            "head": head,
            "lag": head - position,
            "running": self.runner._thread is not None and self.runner._thread.is_alive(),
            "error": self.runner.error or self.error,
            "provisioning": self.store.counts(),
            "rebuilding": False,
        }

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_every):
            try:
                self.process.sweep()
                self.error = None
            except Exception as exc:  # the next sweep tries again; the hub stays up
                self.error = f"{type(exc).__name__}: {exc}"
                log.exception("quote-to-cash timeout sweep failed")
