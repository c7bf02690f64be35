"""Reading one Salesforce record change field by field: what it reports, and as what.

An UPDATE reports only the fields named in changedFields/nulledFields (others present are
enrichment: current values, not changes); CREATE, UNDELETE and a fetched record report
every field, an absent one being empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.salesforce.payloads import to_18
from hub.contracts.changes import Ref

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_MISSING = object()


@dataclass(frozen=True)
class Delta:
    """The fields of one record change and which of them it reports."""

    fields: Mapping[str, Any]
    changed: frozenset[str] = frozenset()
    nulled: frozenset[str] = frozenset()
    full: bool = False

    def reports(self, path: str) -> bool:
        if self.full:
            return lookup(self.fields, path, missing=_MISSING) is not _MISSING
        return any(p == path or p.startswith(path + ".") for p in self.changed | self.nulled)

    def nulls(self, path: str) -> bool:
        return path in self.nulled or (self.full and lookup(self.fields, path) is None)


def lookup(fields: Mapping[str, Any], path: str, missing: Any = None) -> Any:
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return missing
        # REST spells compound sub-fields in lower camel case ("countryCode"), CDC in Pascal.
        keys = {k.lower(): k for k in value}
        if part.lower() not in keys:
            return missing
        value = value[keys[part.lower()]]
    return value


def text(delta: Delta, *paths: str) -> tuple[bool, str | None]:
    """Whether any of the paths is reported, and the first non-empty text among them."""
    if not any(delta.reports(p) for p in paths) and not delta.full:
        return False, None
    for path in paths:
        value = lookup(delta.fields, path)
        if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
            found = str(value).strip()
            if found:
                return True, found
    # A full record without the field says it is empty; an UPDATE naming it, that it was
    # cleared (or set to something that is not text, which is not kept).
    return True, None


def put_text(out: dict[str, Any], delta: Delta, target: str, *paths: str) -> None:
    reported, value = text(delta, *paths)
    if reported:
        out[target] = value


def put_ref(out: dict[str, Any], delta: Delta, target: str, path: str, kind: str) -> None:
    """A lookup field (an id of another record) as a reference to it."""
    reported, value = text(delta, path)
    if reported:
        out[target] = Ref(type=kind, id=to_18(value)) if value else None


def put_address(out: dict[str, Any], delta: Delta, target: str, prefix: str) -> None:
    """A compound address (CDC `BillingAddress.City`, REST `BillingCity`) line by line: an
    UPDATE reports only the lines it changed; a full record every line."""
    lines: dict[str, Any] = {}
    candidates = {
        "street": ("Street",),
        "city": ("City",),
        # The state picklist's code where the org has one, else the state as written.
        "region": ("StateCode", "State"),
        "postal_code": ("PostalCode",),
        "country": ("CountryCode",),  # a country name alone is not a code: not guessed
    }
    for line, names in candidates.items():
        paths = [p for n in names for p in (f"{prefix}{n}", f"{prefix}Address.{n}")]
        reported, value = text(delta, *paths)
        if not reported:
            continue
        if line == "country" and value is not None:
            if not _COUNTRY.match(value):
                continue
            value = value.upper()
        lines[line] = value
    if not lines:
        return
    out[target] = None if delta.full and not any(lines.values()) else lines


def decimal(delta: Delta, path: str) -> tuple[bool, Decimal | None]:
    if not delta.reports(path):
        return False, None
    value = lookup(delta.fields, path)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return True, None
    return True, Decimal(str(value))
