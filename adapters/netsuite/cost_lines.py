"""What NetSuite must hold of the firm's work (pure): a `timebill` per approved time entry and
an `expenseReport` (one expense line) per approved expense, each on the engagement's job, and
an `employee` per person who records them (DOMAIN.md 2.5, 2.15, 3.3-3.5).

A time entry is valued at the rate card line in force on its work date (hub.contracts.feeds
.Related.price: the most specific line, the first day of a new rate takes the new rate, a later
rate change re-prices nothing). A timebill carries no currency of its own: NetSuite reads its
rate in the job's currency, so a line in another currency is held (RATE_MISMATCH), and work no
card line prices is held (RULE_VIOLATION, rule `no_rate`): neither is sent at a wrong value.
An expense goes in its receipt's currency (`foreignAmount`) where that is not the job's, for
NetSuite to convert at its own rate of the expense date: the hub converts nothing.

Every record is upserted by externalId (pshub-<canonical id>), so a repeat, and a correction
after approval (a reversal plus a new fact), change the one cost line rather than add one;
work withdrawn from approval or deleted at its source is zeroed where NetSuite holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.contracts.feeds import Quote, Related, target_ref

FACTS = frozenset({"approved", "billed", "locked"})
Make = Callable[[str, Mapping[str, Any], dict[str, Any]], Any]


def employee(record: Mapping[str, Any], external_id: str, subsidiary: str = "") -> dict[str, Any]:
    """The employee of a person, under the subsidiary (legal entity) that employs them, else
    `subsidiary` (the one the NetSuite account books to): NetSuite refuses an employee
    without one. Neither known: left out, and NetSuite's refusal becomes a case."""
    first, _, last = str(record.get("name") or "").strip().rpartition(" ")
    entity = record.get("legal_entity") or subsidiary
    return {
        "externalId": external_id,
        "firstName": first or last,
        "lastName": last,
        "email": record.get("email"),
        "title": record.get("role"),
        "subsidiary": {"refName": entity} if entity else None,
        "isInactive": record.get("status") == "inactive" or bool(record.get("deleted")),
    }


def _refs(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "employee": {"id": target_ref(record["resource_id"], "employee")},
        "customer": {"id": target_ref(record["engagement_id"], "job")},
    }


def is_fact(record: Mapping[str, Any]) -> bool:
    """Approved work that stands: what NetSuite holds as a cost."""
    return (
        record.get("status") in FACTS and not record.get("deleted") and not record.get("is_running")
    )


def timebill(
    record: Mapping[str, Any], related: Related, external_id: str
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The timebill of a time entry, and why it is held, if it is."""
    payload: dict[str, Any] = {
        "externalId": external_id,
        **_refs(record),
        "tranDate": record["work_date"],
        "isBillable": bool(record.get("billable")),
    }
    if not is_fact(record):  # withdrawn or deleted: the cost line NetSuite holds is zeroed
        return {**payload, "hours": "0", "memo": f"pshub: reversed ({record.get('status')})"}, None
    payload["hours"] = str(record["hours"])
    quote = related.price(record)
    if quote is None:
        return payload, (
            "RULE_VIOLATION",
            f"no_rate: no rate card line prices time entry {record['id']} on {record['work_date']}",
        )
    job = related.record(record["engagement_id"]) or {}
    currency = job.get("currency")
    if currency and quote.currency != currency:
        return payload, (
            "RATE_MISMATCH",
            f"the {quote.tier} rate from {quote.effective_from} is in {quote.currency}; "
            f"job {job.get('code')} is in {currency}",
        )
    return {**payload, "rate": str(quote.rate), "memo": _memo(record, quote)}, None


def _memo(record: Mapping[str, Any], quote: Quote) -> str:
    task = record.get("task") or "Time"
    return f"{task}: {quote.tier} rate from {quote.effective_from} (pshub)"


def expense_report(record: Mapping[str, Any], related: Related, external_id: str) -> dict[str, Any]:
    """The expense report of one expense: one line, on the engagement's job."""
    amount = record["amount"]
    job = related.record(record["engagement_id"]) or {}
    currency = job.get("currency") or amount["currency"]
    value = str(amount["amount"]) if is_fact(record) else "0"
    line: dict[str, Any] = {
        "expenseDate": record["spent_date"],
        "category": {"refName": record.get("category") or "Other"},
        "customer": {"id": target_ref(record["engagement_id"], "job")},
        "isBillable": bool(record.get("billable")),
        "isNonReimbursable": not record.get("reimbursable"),
        "memo": f"pshub expense {record['id']}",
    }
    if amount["currency"] == currency:
        line["amount"] = value
    else:  # in the receipt's currency: NetSuite converts at its rate of the expense date
        line |= {"currency": {"refName": amount["currency"]}, "foreignAmount": value}
    return {
        "externalId": external_id,
        "employee": {"id": target_ref(record["resource_id"], "employee")},
        "tranDate": record["spent_date"],
        "expenseReportCurrency": {"refName": currency},
        "memo": f"pshub: {record.get('category') or 'expense'} {record['spent_date']}",
        "expense": {"items": [line]},
    }
