"""Exception-queue cases of the feeds: an item a target would not take, and its retry."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from hub.exceptions import CaseStatus, ExceptionCase
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
        if existing is not None and existing.status == CaseStatus.OPEN:
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
    )
    app.record(case, meta=EventMeta(system="hub", actor=f"feed:{target}", message_id=message_id))
    return case.id


def resolve_case(app: Any, case_id: UUID, *, by: str) -> None:
    case = app.find(case_id, ExceptionCase)
    if case is None or case.status != CaseStatus.OPEN:
        return
    case.resolve(by=by, note="delivered")
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
