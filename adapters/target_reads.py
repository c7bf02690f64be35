"""Reading a target's API for a reconcile pass, shared by the readers in adapters/<system>/
reads.py: one GET, with a throttled answer (429) waited out as the target asks (a few times,
a few seconds at most: a pass must end), and every failure a ReadFailed naming its kind."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from adapters.target_answers import retry_after
from hub.contracts.reconcile import ReadFailed

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
