"""The published schemas of clients, engagements, contracts and resources describe every
field, and classify people's data as pii and rates and costs as confidential."""

from __future__ import annotations

import pytest

from hub.contracts.changes import CHANGE_MODELS
from hub.contracts.records import RECORD_MODELS, classification_of

ENTITIES = ("client", "engagement", "contract", "resource")


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_golden_record_field_has_a_description(entity: str) -> None:
    schema = RECORD_MODELS[entity].model_json_schema(mode="serialization")
    undescribed = [n for n, p in schema["properties"].items() if not p.get("description")]
    assert undescribed == []
    for name, nested in schema.get("$defs", {}).items():
        if name in ("XrefModel", "MoneyModel"):
            continue  # shared shapes, described where they are used
        missing = [n for n, p in nested["properties"].items() if not p.get("description")]
        assert missing == [], name


def test_people_are_pii_and_rates_and_costs_confidential() -> None:
    levels = {e: classification_of(RECORD_MODELS[e]) for e in ENTITIES}
    assert {levels["client"][f] for f in ("phone", "email", "owner_name", "contacts")} == {"pii"}
    assert {levels["resource"][f] for f in ("name", "email", "phone")} == {"pii"}
    assert levels["resource"]["default_bill_rate"] == "confidential"
    assert levels["engagement"]["hourly_rate"] == "confidential"
    assert levels["engagement"]["estimated_cost"] == "confidential"


def test_the_new_change_fields_are_published_with_their_meaning() -> None:
    engagement = CHANGE_MODELS["engagement"].model_json_schema()["properties"]
    for name in ("stage", "probability", "expected_close_date", "amount", "contract_type"):
        assert engagement[name]["description"], name
    money = CHANGE_MODELS["engagement"].model_json_schema()["$defs"]["PartialMoney"]
    assert money["required"] == ["amount"]  # the currency may be left out
    client = CHANGE_MODELS["client"].model_json_schema()["properties"]
    assert client["billing_address"]["description"] == "where invoices go"
