"""The downstream targets the hub knows: each adapters/<system>/feed.py that exposes `TARGET`
(a hub.contracts.feeds.Target), and how each is configured (CONTRACT.md, outbound connectors).

PSHUB_FEED_<TARGET>_ENABLED (default true) turns a feed off altogether; with it on and no
PSHUB_FEED_<TARGET>_BASE_URL, the feed is published on feed.<target>.<entity> and nothing is
delivered.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from functools import cache

from hub.contracts.feeds import Target, TargetSettings

# In the order their feeds are listed.
SYSTEMS = ("netsuite", "quickbooks", "xero", "harvest", "sharepoint")


@cache
def known_targets() -> dict[str, Target]:
    """Every target whose connector module is present."""
    found: dict[str, Target] = {}
    for system in SYSTEMS:
        try:
            module = importlib.import_module(f"adapters.{system}.feed")
        except ModuleNotFoundError as exc:
            if exc.name != f"adapters.{system}.feed":
                raise  # a connector that is there but broken must say so
            continue
        target = getattr(module, "TARGET", None)
        if target is not None:
            found[target.name] = target
    return found


def _env(target: str, name: str, env: Mapping[str, str]) -> str:
    return env.get(f"PSHUB_FEED_{target.upper()}_{name}", "").strip()


def enabled(target: str, env: Mapping[str, str] | None = None) -> bool:
    value = _env(target, "ENABLED", os.environ if env is None else env).lower()
    return value not in ("0", "false", "no", "off")


def connector(target: str, env: Mapping[str, str] | None = None) -> TargetSettings | None:
    """The target's connector settings, or None where no base URL is configured."""
    env = os.environ if env is None else env
    base_url = _env(target, "BASE_URL", env)
    if not base_url:
        return None
    return TargetSettings(
        base_url=base_url.rstrip("/"),
        token=_env(target, "TOKEN", env),
        tenant=_env(target, "TENANT", env),
    )


def active_targets(env: Mapping[str, str] | None = None) -> dict[str, Target]:
    return {name: t for name, t in known_targets().items() if enabled(name, env)}
