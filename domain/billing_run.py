"""BillingRun: one run of billing for an engagement and a service period, as an event.

The run's id is derived from (engagement, period), so a second run for the same engagement
and period finds the first and records nothing. Its one event names every draft it made (the
invoice ids), each line with the time entries, expenses and milestone it bills (at the version
billed), and what the cap wrote down item by item: the audit trail of what was billed and why.
The drafts themselves are Invoice aggregates in status draft, recorded in the same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.billing_rules import Draft, Line, Period
from domain.errors import RuleViolationError
from domain.ids import natural_id


def run_id(engagement_id: UUID, period: Period) -> UUID:
    return natural_id(
        "billing_run", str(engagement_id), period.start.isoformat(), period.end.isoformat()
    )


def draft_id(run: UUID, currency: str) -> UUID:
    """The invoice id of a run's draft in one currency."""
    return natural_id("billing_run_draft", str(run), currency)


class BillingRun(Aggregate):
    """A billing run: what it billed, in which drafts, and what it wrote down."""

    ENTITY = "billing_run"

    @event("Ran")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        engagement_id: UUID,
        contract_id: UUID | None,
        contract_type: str,
        period_start: date,
        period_end: date,
        drafts: list[dict[str, Any]],
        unpriced: list[str],
    ) -> None:
        self.engagement_id = engagement_id
        self.contract_id = contract_id
        self.contract_type = contract_type
        self.period_start = period_start
        self.period_end = period_end
        self.drafts = drafts
        self.unpriced = unpriced

    @classmethod
    def of(
        cls,
        *,
        engagement_id: UUID,
        contract_id: UUID | None,
        contract_type: str,
        period: Period,
        drafts: list[Draft],
        unpriced: list[UUID],
    ) -> BillingRun:
        rid = run_id(engagement_id, period)
        return cls(
            id=rid,
            engagement_id=engagement_id,
            contract_id=contract_id,
            contract_type=contract_type,
            period_start=period.start,
            period_end=period.end,
            drafts=[draft_json(draft_id(rid, d.currency), d) for d in drafts],
            unpriced=sorted(str(u) for u in unpriced),
        )

    def redraft(self, draft: Draft, because: list[dict[str, Any]]) -> None:
        """Replaces the run's draft in `draft.currency` after the work it bills was corrected
        (DOMAIN 3.4: a reversal plus a new fact) while the invoice was still a draft. `because`
        names each item: its kind, id, the version billed and the version now. A draft left
        with no line is withdrawn (its invoice deleted): the event's draft says
        `withdrawn: true`, so the trail shows why the run bills nothing in that currency."""
        [index] = [i for i, d in enumerate(self.drafts) if d["currency"] == draft.currency]
        invoice_id = UUID(self.drafts[index]["invoice_id"])
        found = draft_json(invoice_id, draft)
        if not draft.lines:
            found["withdrawn"] = True
        self._redrafted(index=index, draft=found, because=because)

    def add_draft(self, draft: Draft, because: list[dict[str, Any]]) -> None:
        """Adds the run's draft in a currency it had none in: work a correction moved into
        that currency (an expense re-entered in another one) is billed there, never summed
        with the currency it left. `because` names the items, as for `redraft`."""
        if any(d["currency"] == draft.currency for d in self.drafts):
            raise RuleViolationError(
                f"the run has a draft in {draft.currency} already: re-draft it",
                rule="one_draft_per_currency",
                field="currency",
            )
        found = draft_json(draft_id(self.id, draft.currency), draft)
        self._drafted(draft=found, because=because)

    @event("Drafted")
    def _drafted(self, draft: dict[str, Any], because: list[dict[str, Any]]) -> None:
        self.drafts = [*self.drafts, draft]

    @event("Redrafted")
    def _redrafted(self, index: int, draft: dict[str, Any], because: list[dict[str, Any]]) -> None:
        drafts = list(self.drafts)
        drafts[index] = draft
        self.drafts = drafts


def draft_json(invoice_id: UUID, d: Draft) -> dict[str, Any]:
    """A draft as the run's event keeps it: money as exact strings, ids as strings."""
    found: dict[str, Any] = {
        "invoice_id": str(invoice_id),
        "currency": d.currency,
        "total": str(d.total.amount),
        "standard": str(d.standard.amount),
        "written_down": str(d.write_down.amount),
        "overage": str(d.overage.amount),
        "lines": [line_json(line) for line in d.lines],
        "written_down_items": [
            {"kind": w.kind, "id": str(w.id), "version": w.version, "amount": str(w.amount.amount)}
            for w in d.written_down
        ],
    }
    if d.rolled_over is not None:
        found["rolled_over_hours"] = str(d.rolled_over)
    return found


def line_json(line: Line) -> dict[str, Any]:
    def refs(items: tuple[tuple[UUID, int], ...]) -> list[dict[str, Any]]:
        return [{"id": str(i), "version": v} for i, v in items]

    return {
        "kind": line.kind,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "amount": str(line.amount.amount),
        "time_entries": refs(line.time_entries),
        "expenses": refs(line.expenses),
        "milestone": None if line.milestone is None else refs((line.milestone,))[0],
        "service_date": None if line.service_date is None else line.service_date.isoformat(),
    }
