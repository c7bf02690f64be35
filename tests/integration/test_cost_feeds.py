"""NetSuite cost lines and Harvest assignments on real PostgreSQL and NATS, delivered to the
loopback servers: what each target holds is counted after delivery, after a re-delivery (a
rebuild and a restart of the feeds), after a correction and after a rate change. Work is valued
at the rate card line in force on its work date (the first day of a new rate takes it); work no
line prices, and a rate in another currency than the engagement's, are held with an exception
case and never sent at a wrong value; an expense in another currency goes in its own."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.approval import ApprovalStatus
from domain.engagement import EngagementStatus
from domain.expense import Expense
from domain.rate_card import RateCard, RateLine, RateTier
from domain.resource import Resource
from domain.time_entry import TimeEntry
from domain.values import Money, Period, SourceRef
from hub.settings import Settings
from hub.store.recorder import EventMeta
from tests.integration.test_feeds import firm
from tests.support.feeding import HARVEST_ACCOUNT, Fed, fed_hub, outbox, until, writes
from tests.support.hygiene import Databases

META = EventMeta(system="api", actor="tester", occurred_at=datetime(2026, 3, 3, tzinfo=UTC))
APPROVED = ApprovalStatus.APPROVED


def person(fed: Fed, name: str, role: str, email: str) -> Resource:
    resource = Resource.register(
        id=uuid.uuid4(),
        name=name,
        email=email,
        role=role,
        time_zone="Europe/Oslo",
        details={"legal_entity": "Nordic Consulting AS"},  # NetSuite's employee subsidiary
    )
    fed.app.record(resource, meta=META)
    return resource


def line(tier: RateTier, rate: str, start: date, end: date | None = None, **scope: Any) -> RateLine:
    currency = scope.pop("currency", "NOK")
    return RateLine(
        tier=tier,
        currency=currency,
        bill_rate=Money(Decimal(rate), currency),
        period=Period(start, end),
        **scope,
    )


def time(fed: Fed, engagement: Any, who: Resource, day: date, hours: str) -> TimeEntry:
    entry = TimeEntry.record(
        id=uuid.uuid4(),
        engagement_id=engagement.id,
        resource_id=who.id,
        work_date=day,
        hours=Decimal(hours),
        task="Design",
        status=APPROVED,
    )
    fed.app.record(entry, meta=META)
    return entry


def expense(fed: Fed, engagement: Any, who: Resource, amount: str, currency: str) -> Expense:
    spent = Expense.record(
        id=uuid.uuid4(),
        engagement_id=engagement.id,
        resource_id=who.id,
        spent_date=date(2026, 3, 2),
        amount=Money(Decimal(amount), currency),
        category="Hotel",
        status=APPROVED,
    )
    fed.app.record(spent, meta=META)
    return spent


def change(fed: Fed, record_id: uuid.UUID, act: Any) -> None:
    aggregate = fed.app.find_any(record_id)
    act(aggregate)
    fed.app.record(aggregate, meta=META)


def held(fed: Fed, target: str) -> int:
    return int(fed.feed_state(target)["backlog"].get("held", 0))


def cases(fed: Fed, reason: str) -> list[dict[str, Any]]:
    answer = fed.running.api.get(
        "/v1/exceptions", params={"reason": reason}, headers=fed.running.token("read")
    )
    assert answer.status_code == 200, answer.text
    return [c for c in answer.json()["items"] if str(c.get("system")) in ("netsuite", "harvest")]


def timebill(fed: Fed, entry: TimeEntry) -> dict[str, Any]:
    [found] = [
        r
        for r in fed.netsuite.records["timebill"].values()
        if r["externalId"].endswith(str(entry.id))
    ]
    return found


def test_cost_lines_and_assignments_are_valued_on_the_work_date_once_each(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        ns, hv = fed.netsuite, fed.harvest
        _, engagement = firm(fed, "Fjord Analytics AS", "FJ-001")
        ann = person(fed, "Ann Berg", "consultant", "ann@fjord.example")
        bob = person(fed, "Bob Lund", "analyst", "bob@fjord.example")
        cat = person(fed, "Cat Moe", "manager", "cat@fjord.example")
        on_job = {"engagement_id": engagement.id}
        # The project is in Harvest, acknowledged, before the card assigns anyone to it (the
        # hub's own write, not a project that came from Harvest).
        until(
            lambda: any(x.system == "harvest" for x in fed.app.find_any(engagement.id).xrefs),
            what="the project acknowledged",
        )
        card = RateCard.create(
            id=uuid.uuid4(),
            name="FJ-001",
            lines=[
                # Ann's rate changes on 2 March: work that day takes the new rate.
                line(
                    RateTier.RESOURCE_ENGAGEMENT,
                    "1500.00",
                    date(2026, 1, 1),
                    date(2026, 3, 2),
                    resource_id=ann.id,
                    **on_job,
                ),
                line(
                    RateTier.RESOURCE_ENGAGEMENT,
                    "1650.00",
                    date(2026, 3, 2),
                    resource_id=ann.id,
                    **on_job,
                ),
                # Cat's rate is in euros on a job kept in kroner.
                line(
                    RateTier.RESOURCE_ENGAGEMENT,
                    "140.00",
                    date(2026, 1, 1),
                    resource_id=cat.id,
                    currency="EUR",
                    **on_job,
                ),
            ],
        )
        fed.app.record(card, meta=META)
        before_change = time(fed, engagement, ann, date(2026, 3, 1), "7.5")
        on_change = time(fed, engagement, ann, date(2026, 3, 2), "8")
        unpriced = time(fed, engagement, bob, date(2026, 3, 2), "4")  # no line for analysts
        foreign_rate = time(fed, engagement, cat, date(2026, 3, 2), "2")
        expense(fed, engagement, ann, "1450.00", "NOK")
        expense(fed, engagement, ann, "120.00", "EUR")  # another currency than the job's

        until(lambda: len(ns.records["timebill"]) == 2, what="Ann's two timebills")
        until(lambda: len(ns.records["expenseReport"]) == 2, what="two expense reports")
        until(lambda: held(fed, "netsuite") == 2, what="Bob's and Cat's time held")
        assert timebill(fed, before_change)["rate"] == 1500  # JSON numbers, digit for digit
        assert timebill(fed, on_change)["rate"] == 1650
        assert timebill(fed, on_change)["hours"] == 8
        job = next(iter(ns.records["job"].values()))
        employees = {r["email"]: r["id"] for r in ns.records["employee"].values()}
        assert timebill(fed, on_change)["customer"] == {"id": job["id"]}
        assert timebill(fed, on_change)["employee"] == {"id": employees["ann@fjord.example"]}
        reports = {
            r["expense"]["items"][0].get("currency", {}).get("refName", "NOK"): r["expense"]
            for r in ns.records["expenseReport"].values()
        }
        assert reports["NOK"]["items"][0]["amount"] == 1450
        assert reports["EUR"]["items"][0]["foreignAmount"] == 120
        assert "amount" not in reports["EUR"]["items"][0], "the hub converts nothing"
        until(lambda: cases(fed, "RULE_VIOLATION") and cases(fed, "RATE_MISMATCH"))
        [no_rate] = cases(fed, "RULE_VIOLATION")
        assert no_rate["rule"] == "no_rate" and str(unpriced.id) in no_rate["detail"]
        mismatches = cases(fed, "RATE_MISMATCH")
        assert {str(foreign_rate.id), str(engagement.id)} == {
            c["canonical_ids"][0] for c in mismatches
        }, "Cat's timebill (NetSuite) and assignment (Harvest) are held"

        # Harvest: the people the card assigns, at their current rate, once each.
        until(lambda: hv.created["user_assignments"] == 1, what="Ann's assignment")
        [assignment] = hv.records["user_assignments"].values()
        users = {u["email"]: u["id"] for u in hv.records["users"].values()}
        assert assignment["user_id"] == users["ann@fjord.example"]
        assert (assignment["hourly_rate"], assignment["use_default_rates"]) == ("1650.00", False)
        assert assignment["project_id"] == next(iter(hv.records["projects"]))
        assert set(users) == {"ann@fjord.example", "cat@fjord.example"}, "Bob is not assigned"

        # Re-delivery: a rebuild of each feed and a restart write nothing again.
        before = writes(fed)
        counts = {t: len(r) for t, r in ns.records.items()}
        live = {t: outbox(fed, t, 1) for t in ("netsuite", "harvest")}
        operator = fed.running.token("operate")
        for name in ("feed.netsuite", "feed.harvest"):
            rebuilt = fed.running.api.post(f"/v1/projections/{name}/rebuild", headers=operator)
            assert rebuilt.status_code == 202, rebuilt.text
        until(lambda: all(fed.feed_state(t)["generation"] == 2 for t in ("netsuite", "harvest")))
        fed.running.hub.stop_feeds()
        fed.running.hub.start_feeds()
        head = fed.app.hub_recorder.select_head()[0]
        until(lambda: all(fed.feed_state(t)["position"] == head for t in ("netsuite", "harvest")))
        for target, rows in live.items():
            assert outbox(fed, target, 2) == rows, "the rebuilt outbox is the live one, row by row"
        assert writes(fed) == before
        assert {t: len(r) for t, r in ns.records.items()} == counts
        assert (hv.created["users"], hv.created["user_assignments"]) == (2, 1)
        assert held(fed, "netsuite") == 2

        # A correction after approval (a reversal plus a new fact) changes the one cost line.
        change(fed, on_change.id, lambda e: e.correct("typed 8 for 6", hours=Decimal("6")))
        until(lambda: timebill(fed, on_change)["hours"] == 6, what="the timebill corrected")
        assert timebill(fed, on_change)["rate"] == 1650
        # Withdrawn from approval: the cost line is zeroed, not left standing nor doubled.
        change(fed, before_change.id, lambda e: e.unapprove("wrong engagement"))
        until(lambda: timebill(fed, before_change)["hours"] == 0, what="the timebill zeroed")
        assert len(ns.records["timebill"]) == 2 and ns.created["timebill"] == 2
        assert len(ns.lines("expenseReport", "expense")) == 2

        # A card for analysts arrives: Bob's held time goes out at it and its case resolves.
        change(
            fed,
            card.id,
            lambda c: c.add_line(
                line(RateTier.ROLE_DEFAULT, "900.00", date(2026, 1, 1), role="analyst")
            ),
        )
        until(lambda: len(ns.records["timebill"]) == 3, what="Bob's timebill delivered")
        assert timebill(fed, unpriced)["rate"] == 900
        until(lambda: cases(fed, "RULE_VIOLATION")[0]["status"] == "resolved", what="resolved")
        # Ann's rate changes again from April: her assignment follows (the same one), and the
        # time already priced keeps its price (a rate change is not retroactive).
        change(
            fed,
            card.id,
            lambda c: c.add_line(
                line(
                    RateTier.RESOURCE_ENGAGEMENT,
                    "1800.00",
                    date(2026, 4, 1),
                    resource_id=ann.id,
                    **on_job,
                ),
                supersede=True,
            ),
        )
        until(lambda: assignment["hourly_rate"] == "1800.00", what="the assignment's new rate")
        assert hv.created["user_assignments"] == 1 and len(hv.records["user_assignments"]) == 1
        assert timebill(fed, on_change)["rate"] == 1650
        assert held(fed, "netsuite") == 1, "only Cat's euro rate is still held"


def test_no_assignments_for_an_engagement_that_came_from_harvest(
    settings: Settings, make_database: Databases, nats_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fed_hub(settings, make_database, nats_url, monkeypatch) as fed:
        client, _ = fed.app.register_client(
            legal_name="Harbour Labs AS", country="NO", billing_currency="NOK", meta=META
        )
        engagement, _ = fed.app.create_engagement(
            client_id=client.id,
            code="HL-001",
            name="Harbour",
            currency="NOK",
            status=EngagementStatus.WON,
            xref=SourceRef("harvest", HARVEST_ACCOUNT, "Project", "4242"),
            meta=META,
        )
        ann = person(fed, "Ann Berg", "consultant", "ann@harbour.example")
        card = RateCard.create(
            id=uuid.uuid4(),
            name="HL-001",
            lines=[
                line(
                    RateTier.RESOURCE_ENGAGEMENT,
                    "1500.00",
                    date(2026, 1, 1),
                    resource_id=ann.id,
                    engagement_id=engagement.id,
                ),
            ],
        )
        fed.app.record(card, meta=META)
        until(lambda: fed.harvest.created["clients"] == 1, what="the client")
        head = fed.app.hub_recorder.select_head()[0]
        until(lambda: fed.feed_state("harvest")["position"] >= head, what="Harvest caught up")
        assert fed.harvest.created["projects"] == 0
        assert (fed.harvest.created["users"], fed.harvest.created["user_assignments"]) == (0, 0)
        until(lambda: len(fed.netsuite.records["employee"]) == 1, what="NetSuite's employee")
