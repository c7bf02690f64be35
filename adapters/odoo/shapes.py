"""Which Odoo shape a posted body is: a JSON-RPC response (`{"jsonrpc": "2.0", "result": [...]}`
from search_read or read), its bare result list, or one record (an item of such a list, or an
automation rule's webhook with `_model`)."""

from __future__ import annotations

from typing import Any

from adapters.odoo.errors import parse
from adapters.odoo.mapping import Context, map_records
from adapters.odoo.payloads import RpcResponse
from adapters.refusals import not_the_shape
from hub.contracts.adapters import AdapterError, Mapped

_EXPECTED = "an Odoo JSON-RPC response, a search_read or read result list, or one Odoo record"


def map_body(data: Any, ctx: Context, *, event: str | None = None) -> Mapped:
    """Maps every record the body holds; an empty search_read result is nothing to do."""
    if isinstance(data, list):
        if not data:
            # A bare empty list names no model and is no JSON-RPC answer: nobody's shape.
            raise not_the_shape(_EXPECTED, data)
        return map_records(data, ctx, event=event)
    if not isinstance(data, dict):
        raise not_the_shape(_EXPECTED, data)
    if "jsonrpc" not in data:
        return map_records([data], ctx, event=event)
    response = parse(RpcResponse, data, "JSON-RPC response")
    if response.error is not None:
        raise AdapterError(
            "SCHEMA_VIOLATION",
            "a JSON-RPC error carries no records",
            field="error",
            rule="shape",
        )
    if not isinstance(response.result, list):
        raise not_the_shape("a search_read or read result list", response.result, field="result")
    if not response.result:
        return Mapped(ignored="an empty search_read result: nothing changed")
    return map_records(response.result, ctx, event=event)
