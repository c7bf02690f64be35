"""A small firm's month for the metrics tests, as an adapter would publish it, and the
figures it should give, worked out here by hand (never by the product's code)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.support.changes import envelope, money, ref

CENT = Decimal("0.01")


def value(hours: str, rate: str) -> Decimal:
    """Hours x rate, rounded half-up to the penny, as an invoice line would be."""
    return (Decimal(hours) * Decimal(rate)).quantize(CENT, ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal) -> str:
    return str((numerator / denominator).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def march_working_days() -> int:
    return sum(
        date(2026, 3, d).weekday() < 5 for d in range(1, calendar.monthrange(2026, 3)[1] + 1)
    )


def _h(entity: str, data: dict[str, Any], source_type: str, seq: int = 1) -> dict[str, Any]:
    return envelope("harvest", entity, data, source_type=source_type, seq=seq)


def parties() -> list[dict[str, Any]]:
    return [
        _h(
            "client",
            {"id": "C1", "legal_name": "Metrics Ltd", "country": "GB", "billing_currency": "GBP"},
            "Client",
        ),
        _h(
            "engagement",
            {
                "id": "P1",
                "client": ref("Client", "C1"),
                "name": "Audit",
                "currency": "GBP",
                "status": "active",
            },
            "Project",
        ),
        _h(
            "engagement",
            {
                "id": "P2",
                "client": ref("Client", "C1"),
                "name": "Tax",
                "currency": "EUR",
                "status": "active",
            },
            "Project",
        ),
        _h(
            "resource",
            {
                "id": "U1",
                "name": "Ann",
                "email": "ann@firm.example",
                "role": "consultant",
                "department": "Advisory",
                "weekly_capacity_hours": "40",
                "cost_rate": money("50.00"),
            },
            "User",
        ),
        _h(
            "resource",
            {
                "id": "U2",
                "name": "Bob",
                "email": "bob@firm.example",
                "role": "manager",
                "department": "Advisory",
                "weekly_capacity_hours": "20",
            },
            "User",
        ),
    ]


def _time(
    id_: str,
    user: str,
    project: str,
    day: str,
    hours: str,
    status: str = "approved",
    seq: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "id": id_,
        "engagement": ref("Project", project),
        "resource": ref("User", user),
        "work_date": day,
        "hours": hours,
        "status": status,
        **extra,
    }
    return _h("time_entry", data, "TimeEntry", seq)


def work() -> list[dict[str, Any]]:
    """Time and expenses, published before any rate card is known."""
    return [
        _time("T1", "U1", "P1", "2026-03-09", "8"),
        _time("T2", "U1", "P1", "2026-03-10", "7.5"),  # the new consultant rate's first day
        _time("T3", "U2", "P1", "2026-03-10", "4"),
        _time("T4", "U1", "P1", "2026-03-11", "2", billable=False),
        _time("T5", "U1", "P1", "2026-03-12", "3", status="submitted"),
        _time("T7", "U1", "P2", "2026-03-11", "6"),
        _time("T8", "U1", "P1", "2026-03-12", "0", status="draft", is_running=True),
        _h(
            "expense",
            {
                "id": "E1",
                "engagement": ref("Project", "P1"),
                "resource": ref("User", "U1"),
                "spent_date": "2026-03-10",
                "amount": money("45.50"),
                "category": "Travel",
                "status": "approved",
            },
            "Expense",
        ),
        _h(
            "expense",
            {
                "id": "E2",
                "engagement": ref("Project", "P1"),
                "resource": ref("User", "U1"),
                "spent_date": "2026-03-10",
                "amount": money("20.00"),
                "category": "Meals",
                "billable": False,
                "status": "approved",
            },
            "Expense",
        ),
    ]


def _line(
    rate: str,
    start: str,
    end: str | None = None,
    cost: str | None = None,
    currency: str = "GBP",
    **keys: Any,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "bill_rate": money(rate, currency),
        "effective_from": start,
        "effective_to": end,
        **keys,
    }
    if cost is not None:
        line["cost_rate"] = money(cost, currency)
    return line


def rate_card(consultant_from_10th: str = "120.00", seq: int = 1) -> dict[str, Any]:
    lines = [
        _line("100.00", "2026-01-01", "2026-03-10", cost="60.00", role="consultant"),
        _line(consultant_from_10th, "2026-03-10", cost="60.00", role="consultant"),
        _line("150.00", "2026-01-01", role="manager"),
        # Most specific: this person on this engagement.
        _line(
            "200.00",
            "2026-01-01",
            cost="90.00",
            resource=ref("User", "U2"),
            engagement=ref("Project", "P1"),
        ),
        _line(
            "110.00",
            "2026-01-01",
            currency="EUR",
            role="consultant",
            engagement=ref("Project", "P2"),
        ),
    ]
    return _h("rate_card", {"id": "RC1", "name": "Firm card", "lines": lines}, "RateCard", seq)


def invoice() -> dict[str, Any]:
    return envelope(
        "xero",
        "invoice",
        {
            "id": "INV1",
            "engagement": ref("Project", "P1", system="harvest"),
            "client": ref("Client", "C1", system="harvest"),
            "number": "INV-0001",
            "currency": "GBP",
            "issue_date": "2026-03-15",
            "status": "issued",
            "lines": [
                {
                    "description": "Review, 5 h",
                    "quantity": "5",
                    "unit_price": "180.00",
                    "tax_rate": "0.2",
                    "time_entries": [ref("TimeEntry", "T6", system="harvest")],
                }
            ],
            "amount_paid": money("500.00"),
        },
        source_type="Invoice",
    )


def billed_entry() -> dict[str, Any]:
    return _time(
        "T6",
        "U2",
        "P1",
        "2026-03-11",
        "5",
        status="billed",
        invoice=ref("Invoice", "INV1", system="xero"),
    )


# The figures, by hand ----------------------------------------------------------------

T1, T2, T3 = value("8", "100.00"), value("7.5", "120.00"), value("4", "200.00")
T6_STANDARD = value("5", "200.00")
WIP_TIME = T1 + T2 + T3
WIP_EXPENSES = Decimal("45.50")
WIP = WIP_TIME + WIP_EXPENSES
BILLED = value("5", "180.00")
PAID = Decimal("500.00")
WRITTEN_DOWN = T6_STANDARD - BILLED
# Cost: every approved hour at the card's cost rate on its date (U2's card line, U1's card
# lines), plus the non-billable expense.
COST = (
    value("8", "60.00")
    + value("7.5", "60.00")
    + value("4", "90.00")
    + value("2", "60.00")
    + value("5", "90.00")
    + Decimal("20.00")
)
REVENUE = BILLED + WIP
P2_WIP = value("6", "110.00")
P2_COST_GBP = value("6", "50.00")  # no cost on the EUR line: the person's own, in GBP


def commercial() -> list[dict[str, Any]]:
    """A capped engagement (P3) and a fixed-fee one (P4), with their contracts."""
    return [
        _h(
            "engagement",
            {
                "id": "P3",
                "client": ref("Client", "C1"),
                "name": "Capped",
                "currency": "GBP",
                "status": "active",
            },
            "Project",
        ),
        _h(
            "engagement",
            {
                "id": "P4",
                "client": ref("Client", "C1"),
                "name": "Fixed",
                "currency": "GBP",
                "status": "active",
            },
            "Project",
        ),
        _h(
            "contract",
            {
                "id": "K3",
                "engagement": ref("Project", "P3"),
                "type": "capped_time_and_materials",
                "currency": "GBP",
                "cap": money("1000.00"),
                "status": "active",
            },
            "Contract",
        ),
        _h(
            "contract",
            {
                "id": "K4",
                "engagement": ref("Project", "P4"),
                "type": "fixed_fee",
                "currency": "GBP",
                "value": money("5000.00"),
                "status": "active",
            },
            "Contract",
        ),
    ]


def commercial_work() -> list[dict[str, Any]]:
    return [
        _time("T31", "U1", "P3", "2026-03-02", "8"),
        _time("T32", "U1", "P3", "2026-03-03", "5"),
        _h(
            "milestone",
            {
                "id": "M1",
                "engagement": ref("Project", "P4"),
                "contract": ref("Contract", "K4"),
                "name": "Design",
                "amount": money("3000.00"),
                "status": "accepted",
                "accepted_on": "2026-03-05",
            },
            "Milestone",
        ),
        _h(
            "milestone",
            {
                "id": "M2",
                "engagement": ref("Project", "P4"),
                "contract": ref("Contract", "K4"),
                "name": "Build",
                "amount": money("2000.00"),
            },
            "Milestone",
        ),
    ]


CAP = Decimal("1000.00")
P3_DELIVERED = value("8", "100.00") + value("5", "100.00")
P3_WRITTEN_DOWN = P3_DELIVERED - CAP
P4_WIP = Decimal("3000.00")


def retainer() -> list[dict[str, Any]]:
    """A retainer (P6): 10 h a month for a 2,000.00 fee, overage at 150.00 an hour."""
    terms = {
        "period": "monthly",
        "fee": money("2000.00"),
        "included_hours": "10",
        "rollover_rule": "expire",
        "overage_rate": money("150.00"),
    }
    return [
        _h(
            "engagement",
            {
                "id": "P6",
                "client": ref("Client", "C1"),
                "name": "Retainer",
                "currency": "GBP",
                "status": "active",
            },
            "Project",
        ),
        _h(
            "contract",
            {
                "id": "K6",
                "engagement": ref("Project", "P6"),
                "type": "retainer",
                "currency": "GBP",
                "retainer": terms,
                "status": "active",
            },
            "Contract",
        ),
        _time("T61", "U1", "P6", "2026-03-02", "4"),
        _time("T62", "U1", "P6", "2026-03-03", "2"),
    ]


def retainer_billing() -> list[dict[str, Any]]:
    lines = [
        {"description": "Retainer fee, March", "quantity": "1", "unit_price": "2000.00"},
        {
            "description": "Hours the fee covers",
            "quantity": "4",
            "unit_price": "0",
            "time_entries": [ref("TimeEntry", "T61", system="harvest")],
        },
        {
            "description": "Hours above the retainer",
            "quantity": "2",
            "unit_price": "150.00",
            "time_entries": [ref("TimeEntry", "T62", system="harvest")],
        },
    ]
    doc = envelope(
        "xero",
        "invoice",
        {
            "id": "INV6",
            "engagement": ref("Project", "P6", system="harvest"),
            "client": ref("Client", "C1", system="harvest"),
            "number": "INV-0006",
            "currency": "GBP",
            "issue_date": "2026-04-01",
            "status": "issued",
            "lines": lines,
        },
        source_type="Invoice",
    )
    billed = [
        _time(
            t,
            "U1",
            "P6",
            day,
            hours,
            status="billed",
            seq=2,
            invoice=ref("Invoice", "INV6", system="xero"),
        )
        for t, day, hours in (("T61", "2026-03-02", "4"), ("T62", "2026-03-03", "2"))
    ]
    return [doc, *billed]


RETAINER_BILLED = Decimal("2000.00") + value("2", "150.00")
OVERAGE_STANDARD = value("2", "100.00")
OVERAGE_BILLED = value("2", "150.00")


def credit_note() -> dict[str, Any]:
    """A credit note against INV1 that names no engagement, only the invoice it credits."""
    return envelope(
        "xero",
        "invoice",
        {
            "id": "CN1",
            "kind": "credit_note",
            "original_invoice": ref("Invoice", "INV1"),
            "client": ref("Client", "C1", system="harvest"),
            "number": "CN-0001",
            "currency": "GBP",
            "issue_date": "2026-03-20",
            "status": "issued",
            "lines": [
                {
                    "description": "Goodwill",
                    "quantity": "1",
                    "unit_price": "100.00",
                    "tax_rate": "0.2",
                }
            ],
        },
        source_type="Invoice",
    )


CREDITED = value("1", "100.00")


def paid_invoice() -> list[dict[str, Any]]:
    """INV2, issued on 15 March and paid in full by a change from the 25th."""
    data = {
        "id": "INV2",
        "engagement": ref("Project", "P1", system="harvest"),
        "client": ref("Client", "C1", system="harvest"),
        "number": "INV-0002",
        "currency": "GBP",
        "issue_date": "2026-03-15",
        "status": "issued",
        "lines": [{"description": "Advice", "quantity": "2", "unit_price": "100.00"}],
    }
    paid_at = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)
    return [
        envelope("xero", "invoice", data, source_type="Invoice"),
        envelope(
            "xero",
            "invoice",
            {**data, "amount_paid": money("200.00")},
            seq=2,
            source_type="Invoice",
            time=paid_at,
        ),
    ]


DAYS_TO_PAID = (date(2026, 3, 25) - date(2026, 3, 15)).days
