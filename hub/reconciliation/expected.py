"""The hub's side of a reconciliation: what it believes a target holds.

From the target's feed: each item whose current payload the target acknowledged (the ledger's
delivered hash is the outbox's), under the id the target gave it, its placeholders for other
records resolved as the delivery resolved them. An item with a newer payload not delivered yet
is in flight (not judged); an optional reference is judged as the delivery sent it (the
ledger notes what it left out). From ingest: the target's ids the hub holds as xrefs (claims), so a
record the target had first is not "missing in the hub".
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ProgrammingError
from psycopg.sql import SQL, Identifier

from domain.reconciliation import UNKNOWN, Expected
from hub.application import like_literal
from hub.contracts.feeds import PLACEHOLDER
from hub.contracts.reconcile import Reader
from projections.feeds.view import FeedView


@dataclass
class HubSide:
    expected: list[Expected] = field(default_factory=list)
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    # (xref type, target id) of every claim of the target: records the hub knows it by.
    known: set[tuple[str, str]] = field(default_factory=set)


def hub_side(view: FeedView, reader: Reader, system: str, tenant: str) -> HubSide:
    side = HubSide()
    try:
        rows = _items(view)
    except (ProgrammingError, psycopg.errors.UndefinedTable):
        rows = []  # the feed never ran on this database: the hub sent nothing
    claims = _claims(view, system, tenant)
    side.known = {(type_, target_id) for type_, target_id, _ in claims}
    delivered: dict[UUID, list[tuple[str, str]]] = {}
    for row in rows:
        if row["delivered_id"]:
            delivered.setdefault(row["canonical_id"], []).append(
                (row["key"].lower(), row["delivered_id"])
            )
    owned: dict[UUID, list[tuple[str, str]]] = {}
    for type_, target_id, owner in claims:
        owned.setdefault(owner, []).append((type_, target_id))

    def lookup(cid: UUID, type_: str) -> str | None:
        for found in (delivered.get(cid, []), owned.get(cid, [])):
            exact = [i for k, i in found if k == type_.lower()]
            if exact or found:
                return (exact or [i for _, i in found])[0]
        return None

    entities = set(reader.entities)
    for row in rows:
        if row["entity"] not in entities:
            continue
        target_id = row["delivered_id"] or row["target_id"]
        if not target_id:
            continue  # never delivered: the target cannot hold it yet
        if row["delivered_hash"] != row["payload_hash"]:
            side.in_flight.add((row["entity"], target_id))
            continue
        fields = {
            k: v for k, v in resolved(row["payload"], lookup, _left_out(row)).items()
            if k not in reader.not_compared
        }  # fmt: skip
        side.expected.append(
            Expected(
                entity=row["entity"],
                target_id=target_id,
                canonical_id=str(row["canonical_id"]),
                key=row["key"],
                fields=fields,
                money=reader.money(row["entity"], fields),
            )
        )
    return side


def settled(before: HubSide, after: HubSide) -> HubSide:
    """The hub's side as it stood through the whole listing (read before it and after it): an
    item delivered or changed while the target was being listed is in flight, not judged (the
    listing may hold it either way)."""
    earlier = {(e.entity, e.target_id, e.canonical_id, e.key): e.fields for e in before.expected}
    side = HubSide(in_flight=after.in_flight | before.in_flight, known=after.known)
    for item in after.expected:
        if earlier.get((item.entity, item.target_id, item.canonical_id, item.key)) == item.fields:
            side.expected.append(item)
        else:
            side.in_flight.add((item.entity, item.target_id))
    return side


def resolved(payload: Any, lookup: Any, left_out: Container[str] | None = ()) -> Any:
    """The payload with other records' ids as the target holds them; UNKNOWN for one the
    target has not been given (never judged a difference).

    An optional reference is judged as it was delivered: one the delivery left out (`left_out`,
    the ledger's note; None where the delivery predates the note) is UNKNOWN even where the
    record is known now: the target was never told it (the field went without it, and the
    item goes again once the record is delivered, hub/feeds/left_out.py)."""
    if isinstance(payload, Mapping):
        if PLACEHOLDER in payload:
            cid = str(payload[PLACEHOLDER])
            if payload.get("optional") and (left_out is None or cid in left_out):
                return UNKNOWN
            found = lookup(UUID(cid), payload.get("type", ""))
            if found is None:
                return UNKNOWN
            # Shaped as the delivery shaped it (hub/feeds/resolve.py).
            shape = payload.get("as")
            return int(found) if shape == "int" else {"id": found} if shape == "ref" else found
        return {k: resolved(v, lookup, left_out) for k, v in payload.items()}
    if isinstance(payload, list):
        return [resolved(v, lookup, left_out) for v in payload]
    return payload


def _left_out(row: Mapping[str, Any]) -> frozenset[str] | None:
    """The optional references the delivery of an item left out (None: not noted)."""
    noted = row["left_out"]
    return None if noted is None else frozenset(str(cid) for cid in noted)


def _items(view: FeedView) -> list[Any]:
    with view.datastore.get_connection() as conn:
        return conn.execute(
            SQL(
                "SELECT o.canonical_id, o.key, o.entity, o.payload, o.payload_hash, "
                "o.target_id, l.delivered_hash, l.target_id AS delivered_id, l.left_out "
                "FROM {} o LEFT JOIN {} l USING (canonical_id, key)"
            ).format(view.outbox, view.ledger)
        ).fetchall()


def _claims(view: FeedView, system: str, tenant: str) -> list[tuple[str, str, UUID]]:
    prefix = f"xref:{system}|{tenant}|"
    with view.datastore.get_connection() as conn:
        rows = conn.execute(
            SQL("SELECT key, owner_id FROM {} WHERE key LIKE %s").format(
                Identifier(view.datastore.schema, "hub_claims")
            ),
            (like_literal(prefix) + "%",),
        ).fetchall()
    found = []
    for row in rows:
        type_, _, target_id = row["key"][len(prefix) :].partition("|")
        found.append((type_, target_id, row["owner_id"]))
    return found
