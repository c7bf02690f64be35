"""The adapters and the bodies of no source's shape that the body-shape tests post to each."""

from __future__ import annotations

SYSTEMS = (
    "salesforce",
    "harvest",
    "netsuite",
    "odoo",
    "stripe",
    "xero",
    "quickbooks",
    "confluence",
    "sharepoint",
)

# (body, status, reason): JSON of no source's shape, and bodies that are not JSON at all.
BAD_BODIES: dict[str, tuple[bytes, int, str]] = {
    "an array of an object": (b'[{"id": "1047", "name": "Contoso"}]', 422, "SCHEMA_VIOLATION"),
    "an empty array": (b"[]", 422, "SCHEMA_VIOLATION"),
    "a string": (b'"invoice.paid"', 422, "SCHEMA_VIOLATION"),
    "a number": (b"1047", 422, "SCHEMA_VIOLATION"),
    "a decimal": (b"1234.50", 422, "SCHEMA_VIOLATION"),
    "null": (b"null", 422, "SCHEMA_VIOLATION"),
    "true": (b"true", 422, "SCHEMA_VIOLATION"),
    "false": (b"false", 422, "SCHEMA_VIOLATION"),
    "an empty object": (b"{}", 422, "SCHEMA_VIOLATION"),
    "an object of another shape": (
        b'{"name": "Contoso", "records": [{"id": 1}], "status": "ok"}',
        422,
        "SCHEMA_VIOLATION",
    ),
    "an empty body": (b"", 400, "MALFORMED_PAYLOAD"),
    "whitespace": (b" \r\n\t ", 400, "MALFORMED_PAYLOAD"),
    "truncated JSON": (b'{"id": "1047", "name": ', 400, "MALFORMED_PAYLOAD"),
    "a lone surrogate escape": (b'{"name": "Harbour\\ud800line"}', 400, "MALFORMED_PAYLOAD"),
    "Latin-1 bytes": ('{"name": "Société Générale"}'.encode("latin-1"), 400, "MALFORMED_PAYLOAD"),
}

# Bodies refused as a whole (a JSON type no source sends, or no JSON at all).
WHOLE_BODY = {
    shape
    for shape, (_, status, _) in BAD_BODIES.items()
    if status == 400
    or shape not in ("an array of an object", "an empty object", "an object of another shape")
}

# Where the source puts the event name in the URL, not the body (Confluence).
EVENT = {"confluence": "page_updated"}
