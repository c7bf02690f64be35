"""Running the sandbox for the embedded demo: each target's stand-in started on a free
loopback port, each feed's connector pointed at it, and what the targets hold kept in the
data directory between runs (so a second `make run` finds what the first one delivered, as
the hub's xrefs say it should).

Started only where `make run` runs (`wanted`): the embedded store, no target configured, and
PSHUB_DEMO_SANDBOX not false.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from adapters.billable import INVOICES_SETTING
from hub.sandbox.harvest import Harvest
from hub.sandbox.netsuite import NetSuite
from hub.sandbox.quickbooks import QuickBooksApi
from hub.sandbox.sharepoint import GraphApi
from hub.sandbox.xero import XeroApi

log = logging.getLogger(__name__)

SYSTEMS = ("netsuite", "harvest", "quickbooks", "xero", "sharepoint")
# The accounts the sandbox serves, as a firm's would be named (each connector's tenant).
TENANTS = {
    "netsuite": "SANDBOX",
    "harvest": "100001",
    "quickbooks": "9130-sandbox",
    "xero": "5d2c1e0a-0000-4000-8000-5a4db0c0ffee",
    "sharepoint": "b!sandbox-drive",
}
# What lives only as long as the process (sockets, locks, the requests seen).
_RUNTIME = {"server", "lock", "requests", "base_url", "_throttles", "_httpd"}


def wanted(settings: Any, env: Mapping[str, str] | None = None) -> bool:
    """Whether this hub runs the sandbox: PSHUB_DEMO_SANDBOX true, or unset with the
    embedded store and no target's base URL configured (`make run`)."""
    env = os.environ if env is None else env
    if settings.demo_sandbox is not None:
        return bool(settings.demo_sandbox)
    configured = any(env.get(f"PSHUB_FEED_{s.upper()}_BASE_URL", "").strip() for s in SYSTEMS)
    return not settings.database_url and not configured


def sandboxed(setting: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The systems the sandbox stands in for (PSHUB_DEMO_SANDBOX_TARGETS; see Settings)."""
    env = os.environ if env is None else env
    named = [s.strip() for s in setting.split(",") if s.strip()]
    if named:
        return named
    runs = env.get(INVOICES_SETTING, "").strip().lower() == "runs"
    return [s for s in SYSTEMS if runs or s not in ("quickbooks", "xero")]


class Sandbox:
    """The five targets' stand-ins; `start` points the feeds at them, `stop` keeps their
    state in `keep` (a file of the data directory) and gives the environment back. While they
    run, what they hold is also kept every `save_every` seconds after it changed: a hub killed
    without its shutdown (SIGKILL, a power cut) would otherwise come back to empty targets
    while its feeds' ledgers say they hold everything, and the demo's reconciliation would
    show it all missing downstream."""

    def __init__(self, keep: Path | None = None, save_every: float = 1.0) -> None:
        self.keep = keep
        self.save_every = save_every
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self.netsuite = NetSuite()
        self.harvest = Harvest(TENANTS["harvest"])
        self.quickbooks = QuickBooksApi()
        self.xero = XeroApi(TENANTS["xero"])
        self.sharepoint = GraphApi(TENANTS["sharepoint"])
        # Whether the demo's drift was made (hub/sandbox/drift.py): once per sandbox.
        self.drift_seeded = False
        self.started: list[str] = []
        self._env: dict[str, str | None] = {}
        self._load()

    def targets(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SYSTEMS}

    def base_urls(self) -> dict[str, str]:
        """Where each started target listens."""
        urls = {
            "netsuite": self.netsuite.server.base_url,
            "harvest": self.harvest.server.base_url,
            "quickbooks": self.quickbooks.base_url,
            "xero": self.xero.base_url,
            "sharepoint": self.sharepoint.base_url,
        }
        return {name: urls[name] for name in self.started}

    def start(self, systems: Iterable[str] = SYSTEMS) -> Sandbox:
        """Starts the targets of `systems` on 127.0.0.1 and configures each one's feed
        connector to it.

        Through the environment, as an operator configures a connector: every part of the
        hub that reads a connector (feeds, quote-to-cash, reconciliation, the routes) reads it
        there. The module-level targets read their tenant at import, hence before any import
        of them; `stop` gives the environment back."""
        asked = set(systems)
        chosen = [s for s in SYSTEMS if s in asked]
        unknown = asked - set(SYSTEMS)
        if unknown:
            raise ValueError(f"the sandbox has no {', '.join(sorted(unknown))}")
        for name in chosen:
            target = getattr(self, name)
            if isinstance(target, (NetSuite, Harvest)):
                target.server.start()
            else:
                target.__enter__()
        self.started = chosen
        urls = self.base_urls()
        for name in chosen:
            token = XeroApi.token if name not in ("netsuite", "harvest") else f"sandbox-{name}"
            self._set(f"PSHUB_FEED_{name.upper()}_BASE_URL", urls[name])
            self._set(f"PSHUB_FEED_{name.upper()}_TOKEN", token)
            self._set(f"PSHUB_FEED_{name.upper()}_TENANT", TENANTS[name])
        log.info("sandbox targets on loopback: %s", urls)
        if self.keep is not None and self._saver is None:
            self._stopping.clear()
            self._saver = threading.Thread(target=self._keep_saving, name="sandbox-keep")
            self._saver.daemon = True
            self._saver.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._saver is not None:
            self._saver.join(10)
            self._saver = None
        self.netsuite.server.stop()
        self.harvest.server.stop()
        for api in (self.quickbooks, self.xero, self.sharepoint):
            if api._httpd is not None:
                api.__exit__(None, None, None)
                api._httpd = None
        self._save()
        for name, value in self._env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._env.clear()

    def _set(self, name: str, value: str) -> None:
        self._env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    # Keeping what the targets hold ----------------------------------------------------------

    def _keep_saving(self) -> None:
        """Saves what the targets hold whenever a request came since the last save."""
        saved = self._answered()
        while not self._stopping.wait(self.save_every):
            answered = self._answered()
            if answered == saved:
                continue
            try:
                self._save()
                saved = answered
            except Exception:  # a full disk: keep serving, try again at the next round
                log.warning("sandbox state could not be kept at %s", self.keep, exc_info=True)

    def _answered(self) -> int:
        return sum(len(_server(t).requests) for t in self.targets().values())

    def _save(self) -> None:
        if self.keep is None:
            return
        with contextlib.ExitStack() as held:
            # Each target's handlers change its store under its own lock: hold them all (in
            # one order; a handler takes only its own) so the copy is of one moment.
            for target in self.targets().values():
                held.enter_context(_lock(target))
            state = pickle.dumps(
                {
                    "drift_seeded": self.drift_seeded,
                    "targets": {
                        name: {k: v for k, v in vars(t).items() if k not in _RUNTIME}
                        for name, t in self.targets().items()
                    },
                }
            )
        self.keep.parent.mkdir(parents=True, exist_ok=True)
        partial = self.keep.with_suffix(".partial")
        partial.write_bytes(state)
        partial.replace(self.keep)  # a crash mid-write leaves the last whole copy

    def _load(self) -> None:
        if self.keep is None or not self.keep.exists():
            return
        try:
            # The hub's own file in its own data directory, written by `_save` above.
            state = pickle.loads(self.keep.read_bytes())  # noqa: S301
        except Exception:  # an unreadable copy: start empty, as on a first run
            log.warning("sandbox state at %s unreadable; starting empty", self.keep)
            return
        self.drift_seeded = bool(state.get("drift_seeded"))
        for name, kept in state.get("targets", {}).items():
            vars(getattr(self, name)).update(kept)


def _server(target: Any) -> Any:
    """The HTTP server that answers for a target (NetSuite and Harvest have one apart)."""
    return getattr(target, "server", target)


def _lock(target: Any) -> Any:
    server = _server(target)
    return server._lock if hasattr(server, "_lock") else server.lock
