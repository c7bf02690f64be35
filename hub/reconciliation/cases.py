"""DRIFT cases: one per record a reconcile pass finds missing or different, kept open while
the drift lasts (a later pass that finds it again opens nothing new) and resolved by the
first pass that finds it gone.

`retry` on a DRIFT case re-feeds the record (registered with hub.exception_retry): its feed
item goes back in the target's queue, created anew where the target lost it, and the case
resolves when the target takes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from domain.reconciliation import MISSING_DOWNSTREAM, MISSING_IN_HUB, Finding
from hub.exception_retry import NothingToRetry, RetryResult, register_retry
from hub.exceptions import CaseStatus, ExceptionCase
from hub.store.recorder import EventMeta

log = logging.getLogger(__name__)

PREFIX = "reconcile:"
REASON = "DRIFT"
ACTOR = "reconciliation"


def case_message_id(target: str, finding_identity: str) -> str:
    return f"{PREFIX}{target}:{finding_identity}"


def open_drift(
    app: Any,
    target: str,
    finding: Finding,
    confidential: Iterable[str],
    previous: UUID | None = None,
) -> UUID:
    """The DRIFT case of the finding: the one already open, else a new one (a drift still
    there after its case was resolved opens the next round's case). A drift whose case
    someone dismissed (`previous`, the case of the last pass's finding) stays dismissed while
    it lasts: each pass would otherwise raise it again."""
    message_id = case_message_id(target, finding.identity)
    if previous is not None:
        last = app.find(previous, ExceptionCase)
        if last is not None and last.status == CaseStatus.DISMISSED:
            return previous
    for round_ in range(1000):
        existing = app.find(ExceptionCase.id_for(message_id, REASON, str(round_)), ExceptionCase)
        if existing is None:
            break
        if not existing.closed:
            return existing.id
    case = ExceptionCase.open(
        message_id=message_id,
        reason=REASON,
        rule=finding.outcome,
        detail=describe(target, finding, frozenset(confidential)),
        entity=finding.entity,
        system=target,
        subject=f"{target}.{finding.entity}.{finding.target_id}",
        canonical_ids=[UUID(finding.canonical_id)] if finding.canonical_id else [],
        key=(str(round_),),
        raised_by=ACTOR,
    )
    app.record(case, meta=EventMeta(system="hub", actor=ACTOR, message_id=message_id))
    return case.id


def resolve_drift(app: Any, case_id: UUID, note: str) -> None:
    case = app.find(case_id, ExceptionCase)
    if case is None or case.closed:
        return
    case.resolve(by=ACTOR, note=note)
    try:
        app.record(case, meta=EventMeta(system="hub", actor=ACTOR))
    except Exception:  # handled meanwhile by someone else: nothing to do
        log.info("DRIFT case %s was handled meanwhile", case_id)


def describe(target: str, finding: Finding, confidential: frozenset[str]) -> str:
    """What a person reads on the case (a rate-derived value is not spelled out)."""
    what = f"{target} {finding.entity} {finding.target_id}"
    if finding.canonical_id:
        what += f" (hub record {finding.canonical_id}, item {finding.key})"
    if finding.outcome == MISSING_DOWNSTREAM:
        return (
            f"{what}: the hub sent it and {target} acknowledged it, but {target} no longer has it"
        )
    if finding.outcome == MISSING_IN_HUB:
        return f"{what}: {target} holds it, and the hub neither sent it nor knows it"
    said = []
    for d in finding.differences:
        leaf = d.field.rsplit(".", 1)[-1]
        if leaf in confidential:
            said.append(f"{d.field} differs (confidential)")
        else:
            said.append(f"{d.field}: hub {d.hub!r}, {target} {d.system!r}")
    return f"{what} differs: " + "; ".join(said)


def refeed(hub: Any, case: ExceptionCase) -> RetryResult:
    """Puts the record's feed item back in its target's queue: an update where the target
    holds it with other values, a create where the target lost it."""
    from hub.feeds.running import feed_view  # noqa: PLC0415 (the feeds import the API's deps)
    from hub.reconciliation.store import ReconciliationStore  # noqa: PLC0415

    target, _, identity = case.message_id.removeprefix(PREFIX).partition(":")
    finding = ReconciliationStore(hub.app.hub_recorder.datastore).previous(target).get(identity)
    if not case.message_id.startswith(PREFIX) or finding is None:
        raise NothingToRetry("this drift is not in the target's last reconciliation")
    if finding["canonical_id"] is None:
        raise NothingToRetry(
            f"the hub has nothing to send: the record exists only in {target} "
            "(bring it in through ingest, or dismiss the case)"
        )
    view = feed_view(hub.app, target)
    lost = finding["outcome"] == MISSING_DOWNSTREAM
    key = (finding["canonical_id"], finding["item_key"])
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL(
                "UPDATE {} SET state = 'pending', attempts = 0, next_attempt_at = now(), "
                "last_error = NULL, case_id = %s, updated_at = now(), "
                "target_id = CASE WHEN %s THEN NULL ELSE target_id END, "
                # A re-feed is a new request: a target that remembers request keys
                # (QuickBooks' requestid, Xero's Idempotency-Key) must not answer it with
                # the first write's answer.
                "idempotency_key = md5(idempotency_key || %s::text) "
                "WHERE canonical_id = %s AND key = %s"
            ).format(view.outbox),
            (case.id, lost, case.id, *key),
        )
        if not curs.rowcount:
            raise NothingToRetry("the feed no longer holds this item")
        # Until delivered, the hub's side holds this item in flight (not judged again).
        curs.execute(
            SQL(
                "UPDATE {} SET delivered_hash = NULL, "
                "target_id = CASE WHEN %s THEN NULL ELSE target_id END "
                "WHERE canonical_id = %s AND key = %s"
            ).format(view.ledger),
            (lost, *key),
        )
    feeds = getattr(hub, "feeds", None)
    line = feeds.lines.get(target) if feeds is not None else None
    if line is not None and line.worker is not None:
        line.worker.nudge()
    return RetryResult(outcome="refed", resolved=False, reason=REASON)


register_retry(REASON, refeed)
