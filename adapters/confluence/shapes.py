"""What a Confluence webhook body looks like before its event is read: an object carrying the
content it is about (`page`, `blog`, `comment`, ...) and the event's `timestamp` (epoch ms)."""

from __future__ import annotations

from typing import Any

from adapters.refusals import not_the_shape

# The content objects Confluence's Cloud and Data Center webhooks carry, one per event family.
CONTENT = ("page", "blog", "blogpost", "comment", "attachment", "label", "space", "content")


def webhook_body(data: Any) -> dict[str, Any]:
    """The body, if it is a Confluence webhook's shape; else SCHEMA_VIOLATION."""
    if not isinstance(data, dict):
        raise not_the_shape("a Confluence webhook body (an object)", data)
    stamp = data.get("timestamp")
    has_stamp = isinstance(stamp, int) and not isinstance(stamp, bool)
    if not has_stamp and not any(isinstance(data.get(key), dict) for key in CONTENT):
        raise not_the_shape(
            f"a Confluence webhook body: a timestamp (epoch ms) or one of {', '.join(CONTENT)}",
            data,
        )
    return data
