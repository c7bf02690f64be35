"""What Harvest must hold, from golden records (pure): clients and projects, only for what did
not come from Harvest itself (DOMAIN.md 2.2, 2.15)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from hub.contracts.feeds import FeedItem, TargetSettings, Writer, target_ref

SYSTEM = "harvest"
# A project is opened in Harvest once the engagement is won (time is booked from then on).
OPEN = frozenset({"won", "active", "on_hold"})
CLOSED = frozenset({"closed"})


def from_harvest(record: Mapping[str, Any]) -> bool:
    """Whether Harvest has the record of its own: a Harvest xref that is not the
    acknowledgement of the hub's own write (those are marked `acknowledged`)."""
    return any(
        x.get("system") == SYSTEM and not x.get("acknowledged") for x in record.get("xrefs") or ()
    )


def _own_id(record: Mapping[str, Any], type_: str) -> str | None:
    for xref in record.get("xrefs") or ():
        if xref.get("system") == SYSTEM and str(xref.get("type", "")).lower() == type_.lower():
            return str(xref["id"])
    return None


def _amount(money: Any) -> str | None:
    return str(money["amount"]) if isinstance(money, Mapping) and "amount" in money else None


class HarvestTarget:
    name = SYSTEM
    category = "psa"
    entities = frozenset({"client", "engagement"})

    def items(self, entity: str, record: Mapping[str, Any]) -> list[FeedItem]:
        if from_harvest(record):
            return []
        if record.get("deleted"):
            # Archived in Harvest (never deleted: its time would go with it), where Harvest
            # holds it under an acknowledged xref.
            type_ = {"client": "Client", "engagement": "Project"}.get(entity, "")
            if not _own_id(record, type_):
                return []
            live = dict(record, deleted=False)
            return [replace(item, payload={**item.payload, "is_active": False})
                    for item in self.items(entity, live)]  # fmt: skip
        if entity == "client":
            return [self._client(record)]
        status = record.get("status")
        if entity == "engagement" and record.get("client_id") and status in OPEN | CLOSED:
            return [self._project(record)]
        return []

    def _item(
        self, entity: str, type_: str, record: Mapping[str, Any], payload: dict[str, Any]
    ) -> FeedItem:
        return FeedItem(
            target=SYSTEM,
            entity=entity,
            canonical_id=UUID(str(record["id"])),
            version=int(record["version"]),
            key=entity,
            payload={k: v for k, v in payload.items() if v not in (None, "")},
            target_id=_own_id(record, type_),
        )

    def _client(self, record: Mapping[str, Any]) -> FeedItem:
        address = record.get("billing_address") or {}
        payload = {
            "name": record.get("legal_name"),
            "currency": record.get("billing_currency"),
            "is_active": record.get("status") != "inactive",
            "address": address.get("street") if isinstance(address, Mapping) else None,
        }
        return self._item("client", "Client", record, payload)

    def _project(self, record: Mapping[str, Any]) -> FeedItem:
        contract = record.get("contract_type") or "time_and_materials"
        rate = _amount(record.get("hourly_rate"))
        fixed = contract == "fixed_fee"
        payload = {
            "client_id": target_ref(record["client_id"], "Client", as_int=True),
            "name": record.get("name") or record.get("code"),
            "code": record.get("code"),
            "is_active": record.get("status") in OPEN,
            "is_billable": contract != "non_billable",
            "is_fixed_fee": fixed,
            "fee": _amount(record.get("fee")) if fixed else None,
            "bill_by": "Project" if rate else "none",
            "hourly_rate": rate,
            "budget_by": "none",
            "starts_on": record.get("start_date"),
            "ends_on": record.get("end_date"),
        }
        return self._item("project", "Project", record, payload)

    def writer(self, settings: TargetSettings, client: Any) -> Writer:
        from adapters.harvest.writes import HarvestWriter  # noqa: PLC0415

        return HarvestWriter(settings, client)

    def reader(self, settings: TargetSettings, client: Any) -> Any:
        """What a reconcile pass reads the target through (hub/contracts/reconcile.py)."""
        from adapters.harvest.reads import HarvestReader  # noqa: PLC0415

        return HarvestReader(settings, client)


TARGET = HarvestTarget()
