"""Contracts beyond plain time and materials for the metrics tests (a cap, fixed fee, a
retainer), a credit note and a paid invoice, with their figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tests.integration.metrics_scenario import harvest_change, time_entry, value
from tests.support.changes import envelope, money, ref


def commercial() -> list[dict[str, Any]]:
    """A capped engagement (P3) and a fixed-fee one (P4), with their contracts."""
    return [
        harvest_change(
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
        harvest_change(
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
        harvest_change(
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
        harvest_change(
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
        time_entry("T31", "U1", "P3", "2026-03-02", "8"),
        time_entry("T32", "U1", "P3", "2026-03-03", "5"),
        harvest_change(
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
        harvest_change(
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
        harvest_change(
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
        harvest_change(
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
        time_entry("T61", "U1", "P6", "2026-03-02", "4"),
        time_entry("T62", "U1", "P6", "2026-03-03", "2"),
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
        time_entry(
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
