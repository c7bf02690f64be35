"""A small firm's month for the metrics tests, as an adapter would publish it, and the
figures it should give, worked out here by hand (never by the product's code)."""

from __future__ import annotations

import calendar
from datetime import date
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


def harvest_change(
    entity: str, data: dict[str, Any], source_type: str, seq: int = 1
) -> dict[str, Any]:
    return envelope("harvest", entity, data, source_type=source_type, seq=seq)


def parties() -> list[dict[str, Any]]:
    return [
        harvest_change(
            "client",
            {"id": "C1", "legal_name": "Metrics Ltd", "country": "GB", "billing_currency": "GBP"},
            "Client",
        ),
        harvest_change(
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
        harvest_change(
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
        harvest_change(
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
        harvest_change(
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


def time_entry(
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
    return harvest_change("time_entry", data, "TimeEntry", seq)


def work() -> list[dict[str, Any]]:
    """Time and expenses, published before any rate card is known."""
    return [
        time_entry("T1", "U1", "P1", "2026-03-09", "8"),
        time_entry("T2", "U1", "P1", "2026-03-10", "7.5"),  # the new consultant rate's first day
        # The source's own rate differs from the card's: the card's stands (a mismatch).
        time_entry("T3", "U2", "P1", "2026-03-10", "4", billable_rate=money("190.00")),
        time_entry("T4", "U1", "P1", "2026-03-11", "2", billable=False),
        time_entry("T5", "U1", "P1", "2026-03-12", "3", status="submitted"),
        time_entry("T7", "U1", "P2", "2026-03-11", "6"),
        time_entry("T8", "U1", "P1", "2026-03-12", "0", status="draft", is_running=True),
        harvest_change(
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
        harvest_change(
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


def rate_line(
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
        rate_line("100.00", "2026-01-01", "2026-03-10", cost="60.00", role="consultant"),
        rate_line(consultant_from_10th, "2026-03-10", cost="60.00", role="consultant"),
        rate_line("150.00", "2026-01-01", role="manager"),
        # Most specific: this person on this engagement.
        rate_line(
            "200.00",
            "2026-01-01",
            cost="90.00",
            resource=ref("User", "U2"),
            engagement=ref("Project", "P1"),
        ),
        rate_line(
            "110.00",
            "2026-01-01",
            currency="EUR",
            role="consultant",
            engagement=ref("Project", "P2"),
        ),
    ]
    return harvest_change(
        "rate_card", {"id": "RC1", "name": "Firm card", "lines": lines}, "RateCard", seq
    )


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
    return time_entry(
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
