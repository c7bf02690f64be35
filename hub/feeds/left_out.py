"""Items delivered without an optional reference go again once the record it names is delivered.

An optional placeholder (hub.contracts.feeds.target_ref, `optional`) for a record the target
does not hold yet is left out of the delivered payload (a NetSuite job's project manager,
sent before the person's employee record): the target keeps what it had. The ledger notes the
records left out (`left_out`), so that when this feed delivers one of them, the items that
left it out are delivered again, now naming it, rather than never (their payload did not
change, so nothing else would send them again).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from psycopg.sql import SQL

from projections.feeds.view import FeedView


def noted(left_out: Iterable[str]) -> list[UUID]:
    """The ledger's `left_out` of one delivery: each record once, in a stable order."""
    return sorted({UUID(str(cid)) for cid in left_out})


def deliver_again(curs: Any, view: FeedView, delivered: UUID) -> int:
    """Puts back in the queue the delivered items that left out `delivered`, as new requests
    (a target that remembers request keys must not answer with the first write's answer);
    how many. Their ledger rows lose their delivered hash, so a reconciliation holds them in
    flight and a rebuilt outbox has them pending until they are delivered again."""
    # The outbox rows first: a worker delivering one of them holds its row, and writes its
    # ledger row before it lets go; locking the ledger row first would wait on each other.
    curs.execute(
        SQL(
            "UPDATE {} o SET state = 'pending', attempts = 0, next_attempt_at = now(), "
            "last_error = NULL, updated_at = now(), pending_since = now(), "
            "idempotency_key = md5(o.idempotency_key || %s::text) "
            "FROM {} l WHERE l.left_out @> ARRAY[%s]::uuid[] "
            "AND o.canonical_id = l.canonical_id AND o.key = l.key AND o.state = 'delivered' "
            "RETURNING o.canonical_id, o.key"
        ).format(view.outbox, view.ledger),
        (str(delivered), delivered),
    )
    again = [(row["canonical_id"], row["key"]) for row in curs.fetchall()]
    if again:
        curs.executemany(
            SQL("UPDATE {} SET delivered_hash = NULL WHERE canonical_id = %s AND key = %s").format(
                view.ledger
            ),
            again,
        )
    return len(again)
