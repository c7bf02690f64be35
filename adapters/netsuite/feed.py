"""What NetSuite must hold, from golden records (pure): a customer per client, a job (project)
per won engagement, an employee per person, and the cost lines of approved work
(adapters/netsuite/cost_lines.py), all upserted by externalId (DOMAIN.md 2.5, 2.15)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from adapters.netsuite import cost_lines
from hub.contracts.feeds import FeedItem, Related, TargetSettings, Writer, target_ref

SYSTEM = "netsuite"
# Engagement states that have been won: NetSuite holds a job from then on.
WON = frozenset({"won", "active", "on_hold", "closed"})
# jobBillingType (DOMAIN.md 2.5: the REST form of the select is a reference by id).
BILLING_TYPES = {
    "time_and_materials": "_timeAndMaterials",
    "capped_time_and_materials": "_timeAndMaterials",
    "fixed_fee": "_fixedBidMilestone",
    "retainer": "_chargeBased",
    "non_billable": "_none",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# The record types the cost lines of work are (REST record ids).
WORK = {"time_entry": "timebill", "expense": "expenseReport"}


def external_id(canonical_id: UUID | str) -> str:
    """The externalId the hub writes a record under: only letters, digits, _ and - (a `|`
    or a `.` breaks NetSuite's eid: URL form)."""
    return _UNSAFE.sub("-", f"pshub-{canonical_id}")


def _ref(name: Any) -> dict[str, str] | None:
    return {"refName": str(name)} if name else None


def _own_id(record: Mapping[str, Any], type_: str) -> str | None:
    for xref in record.get("xrefs") or ():
        if xref.get("system") == SYSTEM and str(xref.get("type", "")).lower() == type_.lower():
            return str(xref["id"])
    return None


def _from_netsuite(record: Mapping[str, Any], type_: str) -> bool:
    """Whether NetSuite has the record of its own (not the acknowledgement of the hub's write)."""
    return any(
        x.get("system") == SYSTEM
        and str(x.get("type", "")).lower() == type_.lower()
        and not x.get("acknowledged")
        for x in record.get("xrefs") or ()
    )


def _compact(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v not in (None, "")}


class NetSuiteTarget:
    name = SYSTEM
    category = "erp"
    entities = frozenset({"client", "engagement", "resource", "time_entry", "expense"})
    # A cost line is valued at the rate card in force on its work date, in the job's currency.
    related = frozenset({"rate_card"})

    def __init__(self, *, subsidiary: str = "") -> None:
        # The subsidiary of an employee whose person names no legal entity: the one the
        # NetSuite account books to (as the NetSuite adapter reads a job without one).
        self.subsidiary = subsidiary

    def items(self, entity: str, record: Mapping[str, Any], related: Related) -> list[FeedItem]:
        if entity in WORK:
            return self._work(entity, record, related)
        if entity == "resource" and _from_netsuite(record, "employee"):
            return []  # NetSuite's own employee: the ERP keeps its people as it has them
        if record.get("deleted"):
            # NetSuite keeps what it holds; a record deleted at its source becomes inactive
            # there (what NetSuite holds, it holds under an acknowledged xref).
            type_ = {"client": "customer", "engagement": "job", "resource": "employee"}
            if not _own_id(record, type_.get(entity, "")):
                return []
            live = dict(record, deleted=False)
            return [replace(item, payload={**item.payload, "isInactive": True})
                    for item in self.items(entity, live, related)]  # fmt: skip
        if entity == "resource":
            payload = cost_lines.employee(record, external_id(record["id"]), self.subsidiary)
            return [self._item("employee", record, payload)]
        if entity == "client":
            return [self._customer(record)]
        if entity == "engagement" and record.get("status") in WON and record.get("client_id"):
            return [self._job(record)]
        return []

    def _work(self, entity: str, record: Mapping[str, Any], related: Related) -> list[FeedItem]:
        """A time entry's timebill or an expense's report; withdrawn or deleted work only
        where NetSuite holds it (zeroed)."""
        type_ = WORK[entity]
        if not cost_lines.is_fact(record) and not _own_id(record, type_):
            return []
        if entity == "time_entry":
            payload, hold = cost_lines.timebill(record, related, external_id(record["id"]))
        else:
            payload = cost_lines.expense_report(record, related, external_id(record["id"]))
            hold = None
        return [self._item(type_, record, payload, hold)]

    def _item(
        self,
        entity: str,
        record: Mapping[str, Any],
        payload: dict[str, Any],
        hold: tuple[str, str] | None = None,
    ) -> FeedItem:
        return FeedItem(
            target=SYSTEM,
            entity=entity,
            canonical_id=UUID(str(record["id"])),
            version=int(record["version"]),
            key=entity,
            payload=_compact(payload),
            target_id=_own_id(record, entity),
            hold=hold,
        )

    def _customer(self, record: Mapping[str, Any]) -> FeedItem:
        payload = {
            "externalId": external_id(record["id"]),
            "companyName": record.get("legal_name"),
            "altName": record.get("trading_name"),
            "currency": _ref(record.get("billing_currency")),
            # A client belongs to no legal entity of the firm: its primary subsidiary is the
            # one the NetSuite account books to, where configured (else NetSuite's default).
            "subsidiary": _ref(self.subsidiary or None),
            "isInactive": record.get("status") == "inactive",
        }
        return self._item("customer", record, payload)

    def _job(self, record: Mapping[str, Any]) -> FeedItem:
        billing = BILLING_TYPES.get(str(record.get("contract_type") or ""))
        payload = {
            "externalId": external_id(record["id"]),
            "entityId": record.get("code"),
            "companyName": record.get("name"),
            "parent": {"id": target_ref(record["client_id"], "customer")},
            "subsidiary": _ref(record.get("legal_entity")),
            "currency": _ref(record.get("currency")),
            "startDate": record.get("start_date"),
            "projectedEndDate": record.get("end_date"),
            "jobBillingType": {"id": billing} if billing else None,
            # The manager as NetSuite knows the person (an employee the hub read from there);
            # one it does not know is left out: NetSuite keeps the manager it has.
            "projectManager": target_ref(
                record.get("manager_id"), "employee", as_ref=True, optional=True
            ),
            "isInactive": record.get("status") == "closed",
        }
        return self._item("job", record, payload)

    def writer(self, settings: TargetSettings, client: Any) -> Writer:
        from adapters.netsuite.writes import NetSuiteWriter  # noqa: PLC0415

        return NetSuiteWriter(settings, client)

    def reader(self, settings: TargetSettings, client: Any) -> Any:
        """What a reconcile pass reads the target through (hub/contracts/reconcile.py)."""
        from adapters.netsuite.reads import NetSuiteReader  # noqa: PLC0415

        return NetSuiteReader(settings, client)


# PSHUB_ADAPTER_NETSUITE_LEGAL_ENTITY: the legal entity the NetSuite account books to.
TARGET = NetSuiteTarget(
    subsidiary=os.environ.get("PSHUB_ADAPTER_NETSUITE_LEGAL_ENTITY", "").strip()
)
