"""What a target's HTTP answer means for a delivery, shared by the outbound writers.

One attempt per call: the feed's delivery worker owns retries and backoff, so a writer only
says whether a retry can help (throttling, 5xx, 408, timeouts, a broken connection) and how
long the target asked it to wait (Retry-After, in seconds or as an HTTP date). The readers a
reconcile pass uses (adapters/<system>/reads.py) share `get_json`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hub.contracts.feeds import DeliveryFailed
from hub.contracts.reconcile import ReadFailed

TIMEOUT = "DOWNSTREAM_TIMEOUT"
REJECTED = "DOWNSTREAM_REJECTED"
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the target asked to wait, or None when it did not say (or said nonsense)."""
    raw = (headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retryable(status: int) -> bool:
    """A throttle, a timeout or a server fault: the same payload may go through later."""
    return status in (408, 425, 429) or status >= 500


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request; a timeout or broken connection is a retryable DeliveryFailed."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise DeliveryFailed(TIMEOUT, f"{method} {url} timed out", retryable=True) from exc
    except httpx.TransportError as exc:
        raise DeliveryFailed(TIMEOUT, f"{method} {url}: {exc}", retryable=True) from exc


def failure(
    response: httpx.Response, what: str, explain: Callable[[Any], str | None]
) -> DeliveryFailed:
    """The DeliveryFailed for an answer that is not a success; `explain` turns the target's
    error body into its own code and message (None when the body is not its error shape)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    said = (explain(body) if body is not None else None) or response.text[:300].strip()
    message = f"{what}: HTTP {status}" + (f": {said}" if said else "")
    if retryable(status):
        wait = retry_after(response.headers)
        return DeliveryFailed(TIMEOUT, message, retryable=True, retry_after=wait, status=status)
    return DeliveryFailed(REJECTED, message, retryable=False, status=status)


def json_body(response: httpx.Response, what: str) -> Any:
    """The JSON of a success answer; anything else is the target misbehaving (retryable)."""
    try:
        return response.json(parse_float=Decimal)
    except ValueError as exc:
        raise DeliveryFailed(
            TIMEOUT, f"{what} answered something that is not JSON", retryable=True
        ) from exc


def wire(payload: Any, numbers: frozenset[str]) -> bytes:
    """The payload as JSON, where the fields named in `numbers` (held as exact decimal
    strings) are written as JSON numbers, digit for digit, never through a float."""
    return _dump(payload, numbers, numeric=False).encode()


def _dump(value: Any, numbers: frozenset[str], *, numeric: bool) -> str:
    if isinstance(value, Mapping):
        parts = (
            f"{json.dumps(str(k))}:{_dump(v, numbers, numeric=k in numbers)}"
            for k, v in value.items()
        )
        return "{" + ",".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_dump(v, numbers, numeric=False) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if numeric and isinstance(value, str) and _DECIMAL.fullmatch(value):
        return value
    return json.dumps(value)


# Reading a target for a reconcile pass (adapters/<system>/reads.py): one GET, with a
# throttled answer (429) waited out as the target asks (a few times, a few seconds at most: a
# pass must end), and every failure a ReadFailed naming its kind.

THROTTLE_RETRIES = 3
LONGEST_WAIT = 5.0


def get_json(
    client: httpx.Client,
    url: str,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> Any:
    """The JSON of a 200 answer to GET url (numbers as Decimal); raises ReadFailed."""
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            response = client.get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise ReadFailed("unreachable", f"{what}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 and attempt < THROTTLE_RETRIES:
            sleep(min(LONGEST_WAIT, retry_after(response.headers) or 1.0))
            continue
        if response.status_code != 200:
            status = response.status_code
            kind = "throttled" if status == 429 else "unreachable" if status >= 500 else "refused"
            raise ReadFailed(kind, f"{what}: HTTP {status}: {response.text[:300]}", status=status)
        try:
            return response.json(parse_float=Decimal)
        except ValueError as exc:
            raise ReadFailed("refused", f"{what} answered something that is not JSON") from exc
    raise AssertionError("unreachable")  # the loop returns or raises
