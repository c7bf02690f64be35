"""What Harvest must hold, from golden records (pure): clients and projects, and the people
assigned to a project with their billable rates, only for what did not come from Harvest itself
(DOMAIN.md 2.2, 2.15).

Who is assigned: the people a rate card names on the engagement (a person-on-engagement line),
each at the rate the card gives them there now (the usual precedence, from the latest date a
line of theirs starts: Harvest's assignment rate is the current one). A person becomes a Harvest
user once assigned to a project the hub feeds; Harvest rates carry no currency (they take the
client's), so a rate in another currency than the engagement's is held (RATE_MISMATCH), and a
person with no e-mail address, which Harvest requires, is held (RULE_VIOLATION, rule `email`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from hub.contracts.feeds import FeedItem, Related, TargetSettings, Writer, target_ref

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


def fed(engagement: Mapping[str, Any]) -> bool:
    """Whether Harvest gets a project for the engagement from the hub."""
    return (
        bool(engagement.get("client_id"))
        and engagement.get("status") in OPEN | CLOSED
        and not engagement.get("deleted")
        and not from_harvest(engagement)
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
    entities = frozenset({"client", "engagement", "resource"})
    related = frozenset({"rate_card"})  # who is assigned to a project, at which rate

    def items(self, entity: str, record: Mapping[str, Any], related: Related) -> list[FeedItem]:
        if entity == "resource":
            return self._user(record, related)
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
                    for item in self.items(entity, live, related)]  # fmt: skip
        if entity == "client":
            return [self._client(record)]
        if fed(record):
            return [self._project(record), *self._assignments(record, related)]
        return []

    def _item(
        self,
        entity: str,
        type_: str,
        record: Mapping[str, Any],
        payload: dict[str, Any],
        *,
        key: str = "",
        hold: tuple[str, str] | None = None,
    ) -> FeedItem:
        return FeedItem(
            target=SYSTEM,
            entity=entity,
            canonical_id=UUID(str(record["id"])),
            version=int(record["version"]),
            key=key or entity,
            payload={k: v for k, v in payload.items() if v not in (None, "")},
            target_id=None if key else _own_id(record, type_),
            hold=hold,
        )

    def _assignments(self, record: Mapping[str, Any], related: Related) -> list[FeedItem]:
        found = []
        for person, quote in related.assigned(record["id"]):
            payload = {
                "project_id": target_ref(record["id"], "Project", as_int=True),
                "user_id": target_ref(person, "User", as_int=True),
                "use_default_rates": False,
                "hourly_rate": str(quote.rate),
                "is_active": record.get("status") in OPEN,
            }
            hold = None
            if record.get("currency") and quote.currency != record["currency"]:
                hold = (
                    "RATE_MISMATCH",
                    f"the {quote.tier} rate from {quote.effective_from} is in "
                    f"{quote.currency}; project {record.get('code')} is in {record['currency']}",
                )
            key = f"assignment:{person}"
            found.append(self._item("user_assignment", "", record, payload, key=key, hold=hold))
        return found

    def _user(self, record: Mapping[str, Any], related: Related) -> list[FeedItem]:
        """A Harvest user for a person assigned to a project the hub feeds."""
        if from_harvest(record) or not any(
            fed(related.record(e) or {}) for e in related.engagements_of(record["id"])
        ):
            return []
        if record.get("deleted") and not _own_id(record, "User"):
            return []  # never in Harvest: nothing to archive
        first, _, last = str(record.get("name") or "").strip().rpartition(" ")
        payload = {
            "first_name": first or last,
            "last_name": last,
            "email": record.get("email"),
            "is_active": record.get("status") != "inactive" and not record.get("deleted"),
        }
        hold = None
        if not record.get("email"):
            hold = ("RULE_VIOLATION", f"email: Harvest needs an e-mail address for {record['id']}")
        return [self._item("user", "User", record, payload, hold=hold)]

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
