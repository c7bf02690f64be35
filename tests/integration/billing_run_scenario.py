"""A firm's March for the billing-run tests, as Harvest and SharePoint would publish it: one
engagement per contract type on one client, in two currencies, and the figures each run
should give, worked out here by hand (never by the product's code)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.support.changes import envelope, money, ref

CENT = Decimal("0.01")
LEGAL_ENTITIES = '{"PS-UK-LTD": "GB"}'


def value(hours: str, rate: str) -> Decimal:
    return (Decimal(hours) * Decimal(rate)).quantize(CENT, ROUND_HALF_UP)


def h(entity: str, data: dict[str, Any], source_type: str, seq: int = 1) -> dict[str, Any]:
    return envelope("harvest", entity, data, source_type=source_type, seq=seq)


def engagement(code: str, currency: str = "GBP") -> dict[str, Any]:
    return h(
        "engagement",
        {
            "id": code,
            "client": ref("Client", "C1"),
            "name": f"Engagement {code}",
            "currency": currency,
            "status": "active",
            "legal_entity": "PS-UK-LTD",
        },
        "Project",
    )


def contract(code: str, type_: str, **terms: Any) -> dict[str, Any]:
    data = {
        "id": f"K-{code}",
        "engagement": ref("Project", code),
        "type": type_,
        "currency": "GBP",
        "status": "active",
        **terms,
    }
    return h("contract", data, "Contract")


def parties() -> list[dict[str, Any]]:
    retainer = {
        "period": "monthly",
        "fee": money("2000.00"),
        "included_hours": "10",
        "rollover_rule": "expire",
        "overage_rate": money("150.00"),
    }
    return [
        h(
            "client",
            {
                "id": "C1",
                "legal_name": "Billing Ltd",
                "country": "GB",
                "billing_currency": "GBP",
                "tax_id": "GB123",
            },
            "Client",
        ),
        h(
            "resource",
            {"id": "U1", "name": "Ann", "email": "ann@firm.example", "role": "consultant"},
            "User",
        ),
        engagement("P1"),  # time and materials, no contract line: the engagement's own model
        engagement("P2", "EUR"),  # the same client billed in euros
        engagement("P3"),
        engagement("P4"),
        engagement("P6"),
        contract("P3", "capped_time_and_materials", cap=money("1000.00")),
        contract("P4", "fixed_fee", value=money("3000.00")),
        contract("P6", "retainer", retainer=retainer),
        rate_card(),
    ]


def rate_card() -> dict[str, Any]:
    def line(rate: str, start: str, end: str | None = None, **keys: Any) -> dict[str, Any]:
        currency = keys.pop("currency", "GBP")
        return {
            "bill_rate": money(rate, currency),
            "effective_from": start,
            "effective_to": end,
            **keys,
        }

    lines = [
        line("100.00", "2026-01-01", "2026-03-10", role="consultant"),
        line("120.00", "2026-03-10", role="consultant"),  # the new rate from the 10th
        line("110.00", "2026-01-01", currency="EUR", role="consultant",
             engagement=ref("Project", "P2")),
    ]  # fmt: skip
    return h("rate_card", {"id": "RC1", "name": "Firm card", "lines": lines}, "RateCard")


def time(
    id_: str, project: str, day: str, hours: str, status: str = "approved", seq: int = 1, **x: Any
) -> dict[str, Any]:
    data = {
        "id": id_,
        "engagement": ref("Project", project),
        "resource": ref("User", "U1"),
        "work_date": day,
        "hours": hours,
        "status": status,
        "task": "Analysis",
        **x,
    }
    return h("time_entry", data, "TimeEntry", seq)


def work() -> list[dict[str, Any]]:
    return [
        time("T1", "P1", "2026-03-09", "8"),
        time("T2", "P1", "2026-03-10", "7.5"),  # the first day of the new rate
        time("T3", "P1", "2026-03-11", "4"),  # corrected to 3 h after approval (below)
        time("T4", "P1", "2026-03-12", "2", status="submitted"),  # not approved: not billed
        time("T5", "P1", "2026-03-12", "1", billable=False),
        time("T9", "P1", "2026-04-02", "1"),  # April's: not March's run
        h(
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
        time("T7", "P2", "2026-03-11", "6"),
        time("T31", "P3", "2026-03-02", "8"),
        time("T32", "P3", "2026-03-03", "5"),
        time("T41", "P4", "2026-03-03", "6"),  # fixed fee: its hours are not billed
        time("T61", "P6", "2026-03-02", "6"),
        time("T62", "P6", "2026-03-03", "6"),
        envelope(
            "sharepoint",
            "knowledge_asset",
            {
                "id": "D1",
                "title": "Design acceptance certificate",
                "kind": "document",
                "uri": "https://docs.example/D1.pdf",
                "engagement": ref("Project", "P4", system="harvest"),
            },
            source_type="driveItem",
        ),
    ]


def correction() -> dict[str, Any]:
    """T3 re-approved at 3 h: a reversal plus a new fact, before the run."""
    return time("T3", "P1", "2026-03-11", "3", seq=2)


def milestone() -> dict[str, Any]:
    data = {
        "id": "M1",
        "engagement": ref("Project", "P4"),
        "contract": ref("Contract", "K-P4"),
        "name": "Design",
        "amount": money("3000.00"),
        "status": "accepted",
        "accepted_on": "2026-03-05",
        "accepted_by": "Client CFO",
    }
    return h("milestone", data, "Milestone")


# The figures, by hand ------------------------------------------------------------------

P1_LINES = [value("8", "100.00"), value("7.5", "120.00"), value("3", "120.00"), Decimal("45.50")]
P1_TOTAL = sum(P1_LINES, Decimal(0))  # 2105.50
P2_TOTAL = value("6", "110.00")  # 660.00 EUR
P3_STANDARD = value("8", "100.00") + value("5", "100.00")  # 1300.00
P3_CAP = Decimal("1000.00")
P3_WRITTEN_DOWN = P3_STANDARD - P3_CAP  # 300.00
P4_TOTAL = Decimal("3000.00")
P6_FEE = Decimal("2000.00")
P6_OVERAGE = value(str(Decimal(12) - Decimal(10)), "150.00")  # 2 h beyond 10: 300.00
P6_TOTAL = P6_FEE + P6_OVERAGE
