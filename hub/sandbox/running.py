"""Running the sandbox for the embedded demo: each target's stand-in started on a free
loopback port, each feed's connector pointed at it, and what the targets hold kept in the
data directory between runs (so a second `make run` finds what the first one delivered, as
the hub's xrefs say it should).

Started only where `make run` runs (`wanted`): the embedded store, no target configured, and
PSHUB_DEMO_SANDBOX not false.
"""

from __future__ import annotations

import logging
import os
import pickle
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
    state in `keep` (a file of the data directory) and gives the environment back."""

    def __init__(self, keep: Path | None = None) -> None:
        self.keep = keep
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
        return self

    def stop(self) -> None:
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

    def _save(self) -> None:
        if self.keep is None:
            return
        state = {
            "drift_seeded": self.drift_seeded,
            "targets": {
                name: {k: v for k, v in vars(t).items() if k not in _RUNTIME}
                for name, t in self.targets().items()
            },
        }
        self.keep.parent.mkdir(parents=True, exist_ok=True)
        partial = self.keep.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(state))
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
