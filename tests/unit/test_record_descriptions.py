"""The golden records of billing, delivered work and knowledge say what every field means and
who may see it: the schemas at /v1/schemas are generated from these models."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from hub.contracts.changes import CHANGE_MODELS
from hub.contracts.records import RECORD_MODELS, Classification, classification_of

ENTITIES = ("knowledge_asset", "invoice", "time_entry", "expense", "milestone", "rate_card")


def nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for info in model.model_fields.values():
        for arg in getattr(info.annotation, "__args__", (info.annotation,)):
            inner = getattr(arg, "__args__", (arg,))
            found += [t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)]
    return found


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_field_of_the_record_and_its_parts_has_a_description(entity: str) -> None:
    models = [RECORD_MODELS[entity]]
    models += nested_models(RECORD_MODELS[entity])
    for model in models:
        missing = [name for name, info in model.model_fields.items() if not info.description]
        assert missing == [], f"{model.__name__}: {missing}"


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_schema_carries_the_descriptions(entity: str) -> None:
    schema: dict[str, Any] = RECORD_MODELS[entity].model_json_schema(mode="serialization")
    assert all("description" in prop for prop in schema["properties"].values())


def test_people_are_pii_and_rates_and_costs_confidential() -> None:
    asset = classification_of(RECORD_MODELS["knowledge_asset"])
    assert {
        asset[f"{who}_{part}"]
        for who in ("author", "owner", "modified_by")
        for part in ("name", "email")
    } == {Classification.PII}
    assert asset["author"] == Classification.PUBLIC  # the account, not the person
    invoice = classification_of(RECORD_MODELS["invoice"])
    assert (invoice["customer_name"], invoice["customer_email"]) == (Classification.PII,) * 2
    entry = classification_of(RECORD_MODELS["time_entry"])
    assert {entry[name] for name in ("source_rate", "cost_rate", "cost")} == {
        Classification.CONFIDENTIAL
    }
    assert entry["approved_by"] == Classification.PII
    assert classification_of(RECORD_MODELS["rate_card"])["lines"] == Classification.CONFIDENTIAL


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_field_of_the_change_and_its_parts_has_a_description(entity: str) -> None:
    models = [CHANGE_MODELS[entity], *nested_models(CHANGE_MODELS[entity])]
    for model in models:
        missing = [name for name, info in model.model_fields.items() if not info.description]
        assert missing == [], f"{model.__name__}: {missing}"
