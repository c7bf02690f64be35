"""What `retry` does for a case, by reason: a hook other parts register their handler with.

By default a retry re-runs the stored input of the case's message through ingest (a refused
or rejected change, tried again after its cause was fixed). A part that opens cases of its
own (feeds, for DOWNSTREAM_TIMEOUT; reconciliation, for DRIFT) registers what re-running its
check or delivery means: `register_retry("DOWNSTREAM_TIMEOUT", redeliver)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.sql import SQL, Identifier

from hub.ingest.decode import Incoming

if TYPE_CHECKING:
    from hub.exceptions import ExceptionCase


@dataclass(frozen=True)
class RetryResult:
    """What came of a retry: its outcome (e.g. `applied`, `dead_lettered`, `delivered`), and
    whether the case is settled by it (then it is resolved)."""

    outcome: str
    resolved: bool
    reason: str | None = None
    detail: str | None = None
    message_ids: tuple[str, ...] = ()  # what it published on the ingest stream, if anything


class NothingToRetry(Exception):
    """The case has nothing a retry could re-run (answered 409)."""


# Called with the hub and the case (not yet changed): a plain function runs in a worker
# thread, a coroutine function on the event loop (to publish on NATS); either may do I/O.
RetryHandler = Callable[[Any, "ExceptionCase"], RetryResult | Awaitable[RetryResult]]

_handlers: dict[str, RetryHandler] = {}


def register_retry(reason: str, handler: RetryHandler) -> None:
    """Makes `handler` what a retry of a case with this reason runs (replacing any before)."""
    _handlers[reason] = handler


def unregister_retry(reason: str) -> None:
    _handlers.pop(reason, None)


def registered_retry(reason: str) -> RetryHandler | None:
    """The handler registered for the reason, if any (to put it back after replacing it)."""
    return _handlers.get(reason)


def retry_handler(reason: str) -> RetryHandler:
    """The handler registered for the reason, else the hub's own (a failed fetch is fetched
    again), else the stored input re-decided."""
    registered = _handlers.get(reason)
    if registered is not None:
        return registered
    if reason == "FETCH_FAILED":
        from hub.fetch_retry import refetch  # noqa: PLC0415 (intake and adapters, when needed)

        return refetch
    return rerun_stored_input


def rerun_stored_input(hub: Any, case: ExceptionCase) -> RetryResult:
    """Re-decides the stored message of the case through ingest; settled if it applies now."""
    stored = _stored_message(hub, case.message_id)
    if stored is None or hub.engine is None:
        raise NothingToRetry("this case has no stored input to try again")
    subject, payload = stored
    outcome = hub.engine.retry(Incoming(subject, payload, {}), case.message_id)[0]
    return RetryResult(
        outcome=outcome.outcome,
        resolved=outcome.outcome == "applied",
        reason=outcome.reason,
        detail=outcome.detail or None,
    )


def _stored_message(hub: Any, message_id: str) -> tuple[str, bytes] | None:
    datastore = hub.app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        row = conn.execute(
            SQL("SELECT subject, payload FROM {} WHERE message_id = %s").format(
                Identifier(datastore.schema, "hub_ingest_messages")
            ),
            (message_id,),
        ).fetchone()
    if row is None or row["payload"] is None:
        return None
    return row["subject"], bytes(row["payload"])
