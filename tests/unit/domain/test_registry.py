"""The registry: every aggregate by entity name, every value type round-trips."""

from __future__ import annotations

import dataclasses

from domain.base import CanonicalAggregate
from domain.registry import AGGREGATES, COLLECTIONS, VALUE_TYPES


def test_registers_all_ten_canonical_aggregates_under_their_entity_names() -> None:
    assert set(AGGREGATES) == set(COLLECTIONS)
    assert len(AGGREGATES) == 10
    for entity, cls in AGGREGATES.items():
        assert issubclass(cls, CanonicalAggregate)
        assert entity == cls.ENTITY


def test_value_types_are_frozen_dataclasses() -> None:
    for cls in VALUE_TYPES:
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_aggregate_classes_declare_no_instance_annotations() -> None:
    # Class-level annotations would make the library turn an aggregate into a dataclass.
    for cls in AGGREGATES.values():
        for klass in cls.__mro__:
            if klass.__module__.startswith("domain."):
                annotated = vars(klass).get("__annotations__", {})
                assert all(name.isupper() for name in annotated), klass
