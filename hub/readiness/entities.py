"""The firm's legal entities and their countries, for the tax check (DOMAIN 3.11).

Configuration (PSHUB_LEGAL_ENTITIES, JSON: `{"PS-UK-LTD": "GB", "PS-US-LLC": "US"}`): an
engagement names its invoicing legal entity, and the tax treatment valid for it depends on
where that entity is established and where the client is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from domain.client import check_country
from domain.errors import DomainError

_in_force: dict[str, Mapping[str, str]] = {"countries": {}}


def parse(text: str | None) -> dict[str, str]:
    """The setting's table, or a ValueError naming what is wrong with it."""
    if not text:
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"PSHUB_LEGAL_ENTITIES is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("PSHUB_LEGAL_ENTITIES must map legal entity names to countries")
    table = {}
    for name, country in document.items():
        try:
            if not isinstance(country, str) or not country:
                raise DomainError("a country code is required")
            table[name] = check_country(country)
        except DomainError as error:
            raise ValueError(f"PSHUB_LEGAL_ENTITIES[{name!r}]: {error}") from None
    return table


def configure(text: str | None) -> Mapping[str, str]:
    """Puts the setting's table in force (bootstrap calls it once per hub)."""
    _in_force["countries"] = table = parse(text)
    return table


def countries() -> Mapping[str, str]:
    return _in_force["countries"]
