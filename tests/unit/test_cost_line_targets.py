"""NetSuite cost lines and Harvest assignments as the pure mappings give them, over the feed's
related records (rate cards, engagements, people): the rate on the work date (the first day of
a new rate takes it), priced once per fact, held work with its reason, a correction and a
withdrawal on the same cost line, an expense in another currency, a person with no e-mail."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from adapters.harvest.feed import TARGET as HARVEST
from adapters.netsuite.feed import TARGET as NETSUITE
from adapters.netsuite.feed import NetSuiteTarget
from domain.rate_card import RateCard, RateLine, RateTier
from domain.values import Money, Period
from projections.feeds.related import RelatedRecords

CLIENT, JOB = uuid.uuid4(), uuid.uuid4()
ANN, BOB = uuid.uuid4(), uuid.uuid4()


def rate(tier: RateTier, amount: str, start: date, end: date | None = None, **scope: Any) -> Any:
    currency = scope.pop("currency", "NOK")
    return RateLine(
        tier=tier,
        currency=currency,
        bill_rate=Money(Decimal(amount), currency),
        period=Period(start, end),
        **scope,
    )


def card(*lines: RateLine) -> RateCard:
    return RateCard.create(id=uuid.UUID(int=7), name="card", lines=list(lines))


def engagement(**over: Any) -> dict[str, Any]:
    return {
        "id": str(JOB), "version": 2, "xrefs": [], "deleted": False, "client_id": str(CLIENT),
        "code": "FJ-001", "name": "Data platform", "status": "active", "currency": "NOK",
        "contract_type": "time_and_materials", **over,
    }  # fmt: skip


def person(pid: uuid.UUID, **over: Any) -> dict[str, Any]:
    return {
        "id": str(pid), "version": 1, "xrefs": [], "deleted": False, "name": "Ann Berg",
        "email": "ann@fjord.example", "role": "consultant", "status": "active",
        "cost_rate": None, **over,
    }  # fmt: skip


def entry(day: date, hours: str = "8", who: uuid.UUID = ANN, **over: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=over.pop("id", 99))), "version": 3, "xrefs": [],
        "deleted": False, "engagement_id": str(JOB), "resource_id": str(who),
        "work_date": day.isoformat(), "hours": hours, "billable": True, "task": "Design",
        "status": "approved", "is_running": False, **over,
    }  # fmt: skip


def related(*lines: RateLine) -> RelatedRecords:
    found = RelatedRecords()
    found.learn("engagement", _Agg(JOB), engagement())
    found.learn("resource", _Agg(ANN), person(ANN))
    found.learn("resource", _Agg(BOB), person(BOB, name="Bob Lund", role="analyst"))
    found.learn("rate_card", card(*lines), {})
    return found


class _Agg:
    def __init__(self, id: uuid.UUID) -> None:
        self.id = id


ANN_RATES = (
    rate(RateTier.RESOURCE_ENGAGEMENT, "1500.00", date(2026, 1, 1), date(2026, 3, 2),
         resource_id=ANN, engagement_id=JOB),
    rate(RateTier.RESOURCE_ENGAGEMENT, "1650.00", date(2026, 3, 2),
         resource_id=ANN, engagement_id=JOB),
)  # fmt: skip


def test_time_is_valued_at_the_line_in_force_on_its_work_date() -> None:
    found = related(*ANN_RATES)
    [before] = NETSUITE.items("time_entry", entry(date(2026, 3, 1), id=1), found)
    [first_day] = NETSUITE.items("time_entry", entry(date(2026, 3, 2), id=2), found)
    assert (before.entity, before.payload["rate"], before.hold) == ("timebill", "1500.00", None)
    assert first_day.payload["rate"] == "1650.00", "the first day of a new rate takes it"
    assert first_day.payload["customer"]["id"]["$target_id"] == str(JOB)
    assert first_day.payload["employee"]["id"]["$target_id"] == str(ANN)
    assert first_day.payload["externalId"] == f"pshub-{uuid.UUID(int=2)}"


def test_the_firm_default_line_in_the_jobs_currency_prices_its_time() -> None:
    # The firm keeps a card per currency, each with a consultant line; the NOK job's time is
    # priced by the NOK line whatever order the cards came in (not held as RATE_MISMATCH).
    eur = rate(RateTier.ROLE_DEFAULT, "140.00", date(2026, 1, 1), role="consultant",
               currency="EUR")  # fmt: skip
    nok = rate(RateTier.ROLE_DEFAULT, "1400.00", date(2026, 1, 1), role="consultant")
    for lines in ((eur, nok), (nok, eur)):
        found = RelatedRecords()
        found.learn("engagement", _Agg(JOB), engagement())
        found.learn("resource", _Agg(ANN), person(ANN))
        for i, line in enumerate(lines):
            found.learn("rate_card", RateCard.create(id=uuid.UUID(int=20 + i), name=f"c{i}",
                        lines=[line]), {})  # fmt: skip
        [item] = NETSUITE.items("time_entry", entry(date(2026, 3, 2)), found)
        assert (item.payload["rate"], item.hold) == ("1400.00", None)


def test_priced_once_per_fact_and_corrected_on_the_same_line() -> None:
    found = related(*ANN_RATES)
    [priced] = NETSUITE.items("time_entry", entry(date(2026, 3, 2)), found)
    # A retroactive line does not re-price what is priced; a correction is priced anew.
    found.learn("rate_card", card(rate(RateTier.RESOURCE_ENGAGEMENT, "9999.00",
                date(2026, 1, 1), resource_id=ANN, engagement_id=JOB)), {})  # fmt: skip
    [again] = NETSUITE.items("time_entry", entry(date(2026, 3, 2), status="billed"), found)
    [corrected] = NETSUITE.items("time_entry", entry(date(2026, 3, 2), hours="6"), found)
    assert again.payload["rate"] == priced.payload["rate"] == "1650.00"
    assert (corrected.payload["rate"], corrected.payload["hours"]) == ("9999.00", "6")
    assert (
        corrected.key == priced.key
        and corrected.payload["externalId"] == (priced.payload["externalId"])
    ), "one cost line, upserted"


def test_withdrawn_work_zeroes_only_the_line_netsuite_holds() -> None:
    found = related(*ANN_RATES)
    draft = entry(date(2026, 3, 2), status="submitted")
    assert NETSUITE.items("time_entry", draft, found) == []
    held = [{"system": "netsuite", "type": "timebill", "id": "77", "acknowledged": True}]
    [zeroed] = NETSUITE.items("time_entry", {**draft, "xrefs": held}, found)
    assert (zeroed.payload["hours"], zeroed.target_id, zeroed.hold) == ("0", "77", None)
    assert "rate" not in zeroed.payload


def test_unpriced_or_foreign_rate_work_is_held_with_its_reason() -> None:
    euro = rate(RateTier.ROLE_DEFAULT, "140.00", date(2026, 1, 1), role="analyst",
                currency="EUR")  # fmt: skip
    [unpriced] = NETSUITE.items("time_entry", entry(date(2026, 3, 2), who=BOB), related())
    [foreign] = NETSUITE.items("time_entry", entry(date(2026, 3, 2), who=BOB), related(euro))
    assert unpriced.hold is not None and unpriced.hold[0] == "RULE_VIOLATION"
    assert unpriced.hold[1].startswith("no_rate:") and "rate" not in unpriced.payload
    assert foreign.hold is not None and foreign.hold[0] == "RATE_MISMATCH"
    assert "EUR" in foreign.hold[1] and "NOK" in foreign.hold[1]


def test_an_expense_in_another_currency_goes_in_its_own() -> None:
    spent = {
        "id": str(uuid.uuid4()), "version": 2, "xrefs": [], "deleted": False,
        "engagement_id": str(JOB), "resource_id": str(ANN), "spent_date": "2026-03-02",
        "amount": {"amount": "120.00", "currency": "EUR"}, "category": "Hotel",
        "billable": True, "reimbursable": True, "status": "approved",
    }  # fmt: skip
    [report] = NETSUITE.items("expense", spent, related())
    [line] = report.payload["expense"]["items"]
    assert report.entity == "expenseReport" and report.hold is None
    assert report.payload["expenseReportCurrency"] == {"refName": "NOK"}
    assert (line["currency"], line["foreignAmount"]) == ({"refName": "EUR"}, "120.00")
    assert "amount" not in line and "exchangeRate" not in line
    home = {**spent, "amount": {"amount": "450.00", "currency": "NOK"}}
    [line] = NETSUITE.items("expense", home, related())[0].payload["expense"]["items"]
    assert line["amount"] == "450.00" and "currency" not in line


def test_harvest_assigns_the_people_a_card_names_at_their_current_rate() -> None:
    found = related(*ANN_RATES)
    project, assignment = HARVEST.items("engagement", engagement(), found)
    assert (project.entity, assignment.entity) == ("project", "user_assignment")
    assert assignment.payload["hourly_rate"] == "1650.00"
    assert assignment.payload["use_default_rates"] is False
    assert assignment.payload["user_id"]["$target_id"] == str(ANN)
    [user] = HARVEST.items("resource", person(ANN), found)
    assert (user.entity, user.payload["email"], user.hold) == ("user", "ann@fjord.example", None)
    assert HARVEST.items("resource", person(BOB), found) == [], "Bob is assigned nowhere"
    from_harvest = [{"system": "harvest", "type": "Project", "id": "9"}]
    assert HARVEST.items("engagement", engagement(xrefs=from_harvest), found) == []


def test_harvest_holds_a_person_with_no_email_and_a_rate_in_another_currency() -> None:
    found = related(*ANN_RATES)
    [user] = HARVEST.items("resource", person(ANN, email=""), found)
    assert user.hold is not None and user.hold[0] == "RULE_VIOLATION"
    assert user.hold[1].startswith("email:")
    euro = rate(RateTier.RESOURCE_ENGAGEMENT, "140.00", date(2026, 1, 1), resource_id=ANN,
                engagement_id=JOB, currency="EUR")  # fmt: skip
    _, assignment = HARVEST.items("engagement", engagement(), related(euro))
    assert assignment.hold is not None and assignment.hold[0] == "RATE_MISMATCH"


def test_netsuite_gets_an_employee_for_a_person_only_where_it_has_none_of_its_own() -> None:
    [employee] = NETSUITE.items("resource", person(ANN), related())
    assert (employee.entity, employee.payload["firstName"], employee.payload["lastName"]) == (
        "employee",
        "Ann",
        "Berg",
    )
    own = [{"system": "netsuite", "type": "employee", "id": "812"}]
    assert NETSUITE.items("resource", person(ANN, xrefs=own), related()) == []
    acked = [{**own[0], "acknowledged": True}]
    [update] = NETSUITE.items("resource", person(ANN, xrefs=acked), related())
    assert update.target_id == "812"


def test_a_netsuite_employee_is_booked_to_the_subsidiary_that_employs_the_person() -> None:
    # NetSuite refuses an employee without a subsidiary (DOMAIN.md 2.15), as it does a job.
    [employee] = NETSUITE.items("resource", person(ANN, legal_entity="Fjord AS"), related())
    assert employee.payload["subsidiary"] == {"refName": "Fjord AS"}
    # A person who names none: the subsidiary the NetSuite account books to, if configured...
    account = NetSuiteTarget(subsidiary="Nordic Consulting AS")
    [fallback] = account.items("resource", person(ANN), related())
    assert fallback.payload["subsidiary"] == {"refName": "Nordic Consulting AS"}
    [own] = account.items("resource", person(ANN, legal_entity="Fjord AS"), related())
    assert own.payload["subsidiary"] == {"refName": "Fjord AS"}
    # ... else none is made up: NetSuite's refusal becomes a case.
    [bare] = NetSuiteTarget().items("resource", person(ANN), related())
    assert "subsidiary" not in bare.payload
    # A customer is booked to the account's subsidiary where one is configured.
    client = {
        "id": str(CLIENT),
        "version": 1,
        "xrefs": [],
        "deleted": False,
        "legal_name": "Fjord Analytics AS",
        "billing_currency": "NOK",
        "status": "active",
    }
    [customer] = account.items("client", client, related())
    assert customer.payload["subsidiary"] == {"refName": "Nordic Consulting AS"}
    [plain] = NetSuiteTarget().items("client", client, related())
    assert "subsidiary" not in plain.payload
