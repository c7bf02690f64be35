"""Descriptive fields and partial updates on the real store: an amount without its currency
takes the record's (or waits for the record), a left-out field stays, null clears an
optional field and leaves a required one, and a lost deal still takes what describes it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from domain.client import Address, Client
from domain.engagement import Engagement
from domain.ids import source_id
from domain.values import Money, SourceRef
from hub.bootstrap import build_application
from hub.ingest.engine import IngestEngine
from hub.ingest.rules import Rules
from hub.settings import Settings
from tests.support.changes import incoming, ref


@pytest.fixture
def engine(settings: Settings, scratch_database: str) -> Iterator[IngestEngine]:
    app = build_application(settings, scratch_database)
    yield IngestEngine(app)
    app.close()


def _client(**fields: Any) -> Any:
    data = {"id": "A9", "legal_name": "Halcyon Oy", "country": "FI", "billing_currency": "EUR"}
    return incoming("salesforce", "client", {**data, **fields}, source_type="Account", seq=1)


def _deal(seq: int, **fields: Any) -> Any:
    return incoming(
        "salesforce", "engagement", {"id": "O9", **fields}, source_type="Opportunity", seq=seq
    )


def _engagement(engine: IngestEngine) -> Engagement:
    ref_ = SourceRef("salesforce", "t1", "Opportunity", "O9")
    return engine.app.get(source_id("engagement", ref_), Engagement)


def _created(**fields: Any) -> Any:
    return _deal(1, client=ref("Account", "A9"), name="Halcyon ERP", currency="JPY", **fields)


def test_an_amount_without_currency_for_an_unknown_record_waits_then_takes_its_currency(
    engine: IngestEngine,
) -> None:
    engine.process([_client()])
    [parked] = engine.process([_deal(2, amount={"amount": "1250000"})])
    assert (parked.outcome, parked.reason) == ("parked", "UNKNOWN_AGGREGATE")
    engine.process([_created(status="pipeline")])
    [applied] = engine.unpark()
    assert applied.outcome == "applied"
    assert _engagement(engine).amount == Money(Decimal(1250000), "JPY")


def test_an_amount_without_currency_is_in_the_records_currency_and_keeps_its_rules(
    engine: IngestEngine,
) -> None:
    engine.process([_client(), _created(amount={"amount": "900000", "currency": "JPY"})])
    [kept] = engine.process([_deal(2, amount={"amount": "950000"}, budget={"amount": "950000"})])
    assert kept.outcome == "applied"
    engagement = _engagement(engine)
    assert engagement.amount == engagement.budget == Money(Decimal(950000), "JPY")
    # JPY has no minor unit: the amount is refused against the record's currency.
    [refused] = engine.process([_deal(3, amount={"amount": "950000.5"})])
    assert (refused.outcome, refused.reason) == ("rejected", "RULE_VIOLATION")
    assert "minor_unit" in refused.detail
    assert _engagement(engine).amount == Money(Decimal(950000), "JPY")


def test_left_out_fields_stay_null_clears_optional_fields_and_required_ones_stay(
    engine: IngestEngine,
) -> None:
    engine.process(
        [
            _client(
                website="https://halcyon.example",
                industry="Energy",
                billing_address={"street": "Satamakatu 3", "city": "Helsinki", "country": "FI"},
                parent=ref("Account", "A1"),
            )
        ]
    )
    update = incoming(
        "salesforce",
        "client",
        {
            "id": "A9",
            "legal_name": None,  # required: a null is ignored
            "website": None,  # optional: cleared
            "billing_address": {"city": "Espoo", "postal_code": None},  # one line changes
            "parent": None,
        },
        source_type="Account",
        seq=2,
    )
    [outcome] = engine.process([update])
    assert outcome.outcome == "applied"
    client = engine.app.get(outcome.canonical_ids[0], Client)
    assert client.legal_name == "Halcyon Oy"
    assert client.website == "" and client.parent_ref is None
    assert client.industry == "Energy"  # not reported: kept
    assert client.billing_address == Address(street="Satamakatu 3", city="Espoo", country="FI")


def test_a_stage_or_probability_change_of_a_lost_deal_is_still_recorded(
    engine: IngestEngine,
) -> None:
    engine.process([_client(), _created(status="pipeline", probability="40", stage="Qualify")])
    assert _engagement(engine).canonical_stage == "qualified"
    engine.process([_deal(2, status="lost", stage="Closed Lost", probability="0")])
    lost = _engagement(engine)
    assert (lost.status, lost.canonical_stage, lost.stage) == ("lost", "lost", "Closed Lost")
    assert lost.lost_at is not None and lost.won_at is None
    [outcome] = engine.process([_deal(3, forecast_category="Omitted", lead_source="Web")])
    assert outcome.outcome == "applied"
    assert _engagement(engine).lead_source == "Web"
    [refused] = engine.process([_deal(4, name="Halcyon ERP (renamed)")])
    assert refused.outcome == "rejected"  # a lost deal's terms do not change


def test_the_canonical_stage_follows_configured_stage_names(
    settings: Settings, scratch_database: str
) -> None:
    app = build_application(settings, scratch_database)
    try:
        rules = Rules.from_json('{"stages": {"stage_names": {"Shortlisted": "commit"}}}')
        engine = IngestEngine(app, rules=rules)
        engine.process([_client(), _created(stage="Shortlisted", probability="10")])
        assert _engagement(engine).canonical_stage == "commit"
        engine.process([_deal(2, stage="Long list")])
        assert _engagement(engine).canonical_stage == "lead"  # by probability, 10 %
    finally:
        app.close()
