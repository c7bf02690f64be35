"""A golden record's JSON from its aggregate without pydantic's round trip.

`to_record` validated the aggregate's attributes into the record model and dumped the model
as JSON: a third of a feed's CPU and a seventh of a golden-record rebuild's (ops/bench/
rebuild.py --projection), for values the domain has validated already. Here each record model
is read once, field by field, into a function that writes the same JSON straight from the
aggregate: the model stays the one definition of a record (its fields, their order, nested
models), and a field type not handled here makes the whole model go through pydantic, as
before. tests/integration/test_record_dump.py holds both ways equal over every state of every
record of the demo firm, and over generated values of each field type.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Union
from uuid import UUID

from pydantic import BaseModel

Dump = Callable[[Any], Any]
_MISSING = object()


class Unhandled(Exception):
    """A field type this module does not write itself."""


@cache
def record_dumper(model: type[BaseModel]) -> Callable[[Any, dict[str, Any]], Any] | None:
    """The function writing a model's JSON from an aggregate's attributes and the values
    `given` beside them (updated_at, version), or None where one of its field types is not
    handled here (the caller then goes through pydantic). An attribute the aggregate lacks is
    written as None, as `to_record` gives it to pydantic; in a nested value, its default, as
    pydantic reads attributes."""
    try:
        fields = _fields(model)
    except Unhandled:
        return None

    def dump(aggregate: Any, given: dict[str, Any]) -> dict[str, Any]:
        result = {}
        for name, write, _ in fields:
            value = given[name] if name in given else getattr(aggregate, name, None)
            result[name] = write(value)
        return result

    return dump


def _fields(model: type[BaseModel]) -> list[tuple[str, Dump, Any]]:
    if model.__pydantic_decorators__.field_serializers or model.model_computed_fields:
        raise Unhandled(f"{model.__name__} serialises some fields itself")
    if model.__pydantic_decorators__.model_serializers:
        raise Unhandled(f"{model.__name__} serialises itself")
    fields = []
    for name, info in model.model_fields.items():
        if info.alias not in (None, name) or info.serialization_alias not in (None, name):
            raise Unhandled(f"{model.__name__}.{name} has an alias")
        if info.exclude:
            raise Unhandled(f"{model.__name__}.{name} is left out")
        default = _MISSING if info.is_required() else info.get_default(call_default_factory=True)
        fields.append((name, _value(info.annotation), default))
    return fields


def _model(model: type[BaseModel]) -> Dump:
    fields = _fields(model)

    def dump(obj: Any) -> dict[str, Any]:
        # pydantic takes a mapping for a nested model as well as an object.
        read = obj.get if isinstance(obj, dict) else lambda name, d: getattr(obj, name, d)
        result = {}
        for name, write, default in fields:
            value = read(name, default)
            if value is _MISSING:
                raise AttributeError(f"{type(obj).__name__} has no {name}")
            result[name] = write(value)
        return result

    return dump


def _value(annotation: Any) -> Dump:
    """The writer of one field's value, by its annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _value(args[0])  # the constraints validate; they do not change what is written
    if origin in (Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) != 1:
            raise Unhandled(f"a union of {args}")
        inner = _value(present[0])
        return lambda v: None if v is None else inner(v)
    if origin is list:
        (item,) = args
        each = _value(item)
        return lambda v: [each(x) for x in v]
    if annotation is str:
        return _text
    if annotation is bool or annotation is int:
        return _plain
    if annotation is UUID or annotation is Decimal:
        return str
    if annotation is datetime:
        return _instant
    if annotation is date:
        return date.isoformat
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation)
    raise Unhandled(f"type {annotation!r}")


def _text(value: Any) -> Any:
    # An enumeration held where the record has text is written as its value, as pydantic does.
    return value.value if isinstance(value, Enum) else value


def _plain(value: Any) -> Any:
    return value


def _instant(value: datetime) -> str:
    # pydantic writes UTC as Z and every other offset as ISO 8601 does.
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
