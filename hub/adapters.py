"""The source adapters present in adapters/, and each one's configuration from the environment.

An adapter is found by its folder: adapters/<system>/ exposing ADAPTER. Its settings are
PSHUB_ADAPTER_<SYSTEM>_<NAME> (TENANT, BASE_URL, TOKEN, SIGNING_SECRET, DEFAULT_CURRENCY,
LEGAL_ENTITY, PAGE_SIZE, POLL_SECONDS); any other name goes to `extra`, lower-cased
(e.g. PSHUB_ADAPTER_HARVEST_RECONCILE_FROM -> extra["reconcile_from"]).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Mapping
from functools import cache

import adapters
from hub.contracts.adapters import AdapterConfig, SourceAdapter

_FIELDS = {
    "tenant",
    "base_url",
    "token",
    "signing_secret",
    "default_currency",
    "legal_entity",
    "page_size",
}


@cache
def registry() -> dict[str, SourceAdapter]:
    """Every adapter package's ADAPTER, by system name."""
    found: dict[str, SourceAdapter] = {}
    for module in pkgutil.iter_modules(adapters.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"adapters.{module.name}")
        adapter = getattr(package, "ADAPTER", None)
        if isinstance(adapter, SourceAdapter):
            found[adapter.system] = adapter
    return found


def config_for(system: str, environ: Mapping[str, str] | None = None) -> AdapterConfig:
    """The adapter's settings from PSHUB_ADAPTER_<SYSTEM>_* variables."""
    env = os.environ if environ is None else environ
    prefix = f"PSHUB_ADAPTER_{system.upper()}_"
    values: dict[str, str] = {}
    extra: dict[str, str] = {}
    for key, value in env.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :].lower()
        if name in _FIELDS:
            values[name] = value
        elif name != "poll_seconds":
            extra[name] = value
    page_size = int(values.pop("page_size", "100"))
    return AdapterConfig(page_size=page_size, extra=extra, **values)  # type: ignore[arg-type]


def poll_seconds(system: str, environ: Mapping[str, str] | None = None) -> float | None:
    """How often the hub polls this source (unset: never)."""
    env = os.environ if environ is None else environ
    value = env.get(f"PSHUB_ADAPTER_{system.upper()}_POLL_SECONDS")
    return float(value) if value else None
