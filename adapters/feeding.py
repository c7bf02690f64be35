"""What every outbound connector does with an HTTP answer that is not a success: whether the
item is worth retrying (429, 408, 5xx, after the target's Retry-After) or the payload is at
fault (any other 4xx), and the target's own words for it."""

from __future__ import annotations

import httpx

from hub.contracts.feeds import DeliveryFailed


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def refused(response: httpx.Response, reason: str = "DOWNSTREAM_REJECTED") -> DeliveryFailed:
    """What a non-2xx answer means for the item: 429, 408 and 5xx are worth retrying; any
    other 4xx is the payload's fault."""
    status = response.status_code
    retryable = status in (408, 429) or status >= 500
    detail = error_detail(response)
    return DeliveryFailed(
        "DOWNSTREAM_TIMEOUT" if retryable else reason,
        f"HTTP {status}: {detail}",
        retryable=retryable,
        retry_after=retry_after(response),
        status=status,
    )


def error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    if details:
        return "; ".join(str(d.get("detail", d)) for d in details)[:500]
    return str(body)[:500]
