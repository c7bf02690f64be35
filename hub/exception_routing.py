"""Who works an exception case: a routing table by reason and region or legal entity.

The table is configuration (PSHUB_EXCEPTION_ROUTING, JSON). The owner it gives is written
into the case when it is raised, so a rebuild of the queue from the log shows the owner the
case had, not the one today's table would give.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

# Who works a case by default, by reason: data stewards match records, integration engineers
# fix feeds and refused input, finance operations handle broken billing rules.
DEFAULT_OWNERS = {
    "PROBABLE_MATCH": "data-stewardship",
    "UNKNOWN_AGGREGATE": "data-stewardship",
    "UNRESOLVED_LINK": "data-stewardship",
    "FETCH_FAILED": "integration",
    "PROCESSING_FAILED": "integration",
    "MALFORMED_PAYLOAD": "integration",
    "SCHEMA_VIOLATION": "integration",
    "MISSING_REQUIRED_ID": "integration",
    "PAYLOAD_TOO_LARGE": "integration",
    "FORBIDDEN": "integration",
    "INVALID_CURRENCY": "integration",
    "NEGATIVE_QUANTITY": "integration",
    "DOWNSTREAM_TIMEOUT": "integration",
    "DOWNSTREAM_REJECTED": "integration",
    "DRIFT": "integration",
}
DEFAULT_OWNER = "finance-ops"
ANY = "*"


@dataclass(frozen=True)
class Route:
    """One line of the table: the cases it matches (reason, region, legal entity; `*` or
    absent matches any) and the team that owns them."""

    owner: str
    reason: str = ANY
    region: str = ANY
    legal_entity: str = ANY

    def matches(self, reason: str, region: str, legal_entity: str) -> bool:
        return (
            self.reason in (ANY, reason)
            and self.region in (ANY, region)
            and self.legal_entity in (ANY, legal_entity)
        )


@dataclass(frozen=True)
class RoutingTable:
    """Routes tried in order, the first that matches wins; `default` owns what none match."""

    routes: tuple[Route, ...]
    default: str = DEFAULT_OWNER

    def owner_for(self, reason: str, *, region: str = "", legal_entity: str = "") -> str:
        for route in self.routes:
            if route.matches(reason, region, legal_entity):
                return route.owner
        return self.default

    @classmethod
    def built_in(cls) -> RoutingTable:
        return cls(tuple(Route(owner=o, reason=r) for r, o in DEFAULT_OWNERS.items()))

    @classmethod
    def from_json(cls, text: str | None) -> RoutingTable:
        """The built-in table with the setting's routes tried first, e.g.
        `{"default": "finance-ops", "routes": [{"reason": "RATE_MISMATCH", "legal_entity":
        "PS-UK-LTD", "owner": "finance-ops-uk"}, {"region": "APAC", "owner": "apac-ops"}]}`;
        `"replace": true` drops the built-in routes."""
        built_in = cls.built_in()
        if not text:
            return built_in
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"PSHUB_EXCEPTION_ROUTING is not JSON: {error}") from None
        if not isinstance(document, dict):
            raise ValueError("PSHUB_EXCEPTION_ROUTING must be a JSON object")
        unknown = set(document) - {"routes", "default", "replace"}
        if unknown:
            raise ValueError(f"PSHUB_EXCEPTION_ROUTING: unknown keys {sorted(unknown)}")
        routes = [_route(i, r) for i, r in enumerate(document.get("routes") or [])]
        default = document.get("default", built_in.default)
        if not isinstance(default, str) or not default:
            raise ValueError("PSHUB_EXCEPTION_ROUTING: default must be a non-empty string")
        kept: Sequence[Route] = () if document.get("replace") else built_in.routes
        return cls((*routes, *kept), default)


def _route(index: int, raw: object) -> Route:
    where = f"PSHUB_EXCEPTION_ROUTING routes[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object")
    unknown = set(raw) - {"owner", "reason", "region", "legal_entity"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if not all(isinstance(v, str) and v for v in raw.values()):
        raise ValueError(f"{where}: every value must be a non-empty string")
    if "owner" not in raw:
        raise ValueError(f"{where}: owner is required")
    return Route(**raw)


# The table in force in this process: the built-in one until bootstrap configures the
# setting's (cases are opened deep in ingest, which has no settings at hand).
_in_force = {"table": RoutingTable.built_in()}


def configure(text: str | None) -> RoutingTable:
    """Puts the setting's table in force (bootstrap calls it once per hub)."""
    _in_force["table"] = table = RoutingTable.from_json(text)
    return table


def current() -> RoutingTable:
    return _in_force["table"]


def owner_for(reason: str, *, region: str = "", legal_entity: str = "") -> str:
    return current().owner_for(reason, region=region, legal_entity=legal_entity)
