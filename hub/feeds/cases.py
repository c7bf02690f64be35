"""Exception-queue cases of the feeds: an item a target would not take, and its retry
(registered with hub.exception_retry: a retry puts the item back in its target's queue, and
the case resolves when the item is delivered)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from hub.exception_retry import NothingToRetry, RetryResult, register_retry
from hub.exceptions import ExceptionCase
from hub.store.recorder import EventMeta

log = logging.getLogger(__name__)

PREFIX = "feed:"


def case_message_id(target: str, canonical_id: UUID, key: str) -> str:
    return f"{PREFIX}{target}:{canonical_id}:{key}"


def is_feed_case(case: ExceptionCase) -> bool:
    return case.message_id.startswith(PREFIX)


def open_case(
    app: Any, target: str, row: dict[str, Any], reason: str, detail: str, attempts: int
) -> UUID:
    """Opens (or finds open) the case of an item that failed; returns its id.

    One case per item payload and failure round: a case resolved earlier stays closed in the
    history, and the next failure of the same payload opens the next round's case.
    """
    message_id = case_message_id(target, row["canonical_id"], row["key"])
    for round_ in range(1000):
        key = (row["idempotency_key"], str(round_))
        existing = app.find(ExceptionCase.id_for(message_id, reason, *key), ExceptionCase)
        if existing is not None and not existing.closed:
            return existing.id
        if existing is None:
            break
    case = ExceptionCase.open(
        message_id=message_id,
        reason=reason,
        rule=target,
        detail=f"{target} did not take {row['entity']} {row['canonical_id']} after "
        f"{attempts} attempt(s): {detail}",
        entity=row["entity"],
        system=target,
        subject=f"feed.{target}.{row['entity']}",
        canonical_ids=[row["canonical_id"]],
        key=key,
        # A target's own refusal code routes like the feeds' own reasons.
        owner="" if reason.startswith("DOWNSTREAM_") else "integration",
        raised_by=f"feed:{target}",
    )
    app.record(case, meta=EventMeta(system="hub", actor=f"feed:{target}", message_id=message_id))
    return case.id


def hold_case(app: Any, target: str, row: dict[str, Any], reason: str, detail: str) -> UUID:
    """Opens (or finds) the case of an item the feed holds back rather than send at a wrong
    value (FeedItem.hold): work no rate card prices (RULE_VIOLATION, rule `no_rate`), a rate
    in another currency than the target reads it in (RATE_MISMATCH). Owned as its reason
    routes (finance, by default); it resolves when the item goes out."""
    message_id = case_message_id(target, row["canonical_id"], row["key"])
    key = (row["idempotency_key"], "held")
    existing = app.find(ExceptionCase.id_for(message_id, reason, *key), ExceptionCase)
    if existing is not None:
        return existing.id
    rule, _, _ = detail.partition(":")
    case = ExceptionCase.open(
        message_id=message_id,
        reason=reason,
        rule=rule if reason == "RULE_VIOLATION" else target,
        detail=f"{target} is not sent {row['entity']} {row['canonical_id']}: {detail}",
        entity=row["entity"],
        system=target,
        subject=f"feed.{target}.{row['entity']}",
        canonical_ids=[row["canonical_id"]],
        key=key,
        raised_by=f"feed:{target}",
    )
    app.record(case, meta=EventMeta(system="hub", actor=f"feed:{target}", message_id=message_id))
    return case.id


def resolve_case(app: Any, case_id: UUID, *, by: str, note: str = "delivered") -> None:
    case = app.find(case_id, ExceptionCase)
    if case is None or case.closed:
        return
    case.resolve(by=by, note=note)
    try:
        app.record(case, meta=EventMeta(system="hub", actor=by))
    except Exception:  # resolved meanwhile by someone else: nothing to do
        log.info("case %s was handled meanwhile", case_id)


def duplicate_case(app: Any, target: str, ref: Any, canonical_id: UUID, detail: str) -> UUID:
    """A delivered record the target already holds as another golden record's: a data
    steward decides whether the two are one (the delivery itself is done)."""
    message_id = f"{PREFIX}{target}:ack:{canonical_id}"
    case = app.find(ExceptionCase.id_for(message_id, "PROBABLE_MATCH", str(ref)), ExceptionCase)
    if case is not None:
        return case.id
    case = ExceptionCase.open(
        message_id=message_id,
        reason="PROBABLE_MATCH",
        rule="feed_acknowledgement",
        detail=f"{target} holds {canonical_id} as {ref}, which is another record's: {detail}",
        system=target,
        subject=str(ref),
        canonical_ids=[canonical_id],
        key=(str(ref),),
    )
    app.record(case, meta=EventMeta(system="hub", actor=f"feed:{target}", message_id=message_id))
    return case.id


def redeliver(hub: Any, case: ExceptionCase) -> RetryResult:
    """What retrying a feed case does: its item goes back in its target's queue (the case
    stays open until the item is delivered, which resolves it)."""
    if not is_feed_case(case) or not hub.feeds_of().requeue(case.id):
        raise NothingToRetry("this case's feed item is not waiting for a retry")
    return RetryResult(outcome="requeued", resolved=False, reason=case.reason)


for _reason in ("DOWNSTREAM_TIMEOUT", "DOWNSTREAM_REJECTED"):
    register_retry(_reason, redeliver)
