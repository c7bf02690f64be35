"""Publishing canonical change events to the ingest stream, durably, and noting them pending."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from nats.js import JetStreamContext
from psycopg.sql import SQL, Identifier

from hub.application import HubApplication
from hub.contracts.changes import ChangeEnvelope
from hub.streams import Streams

CLOUDEVENTS_JSON = "application/cloudevents+json"


def encode(envelope: ChangeEnvelope) -> bytes:
    return json.dumps(
        envelope.model_dump(mode="json", exclude_none=True),
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


async def publish_changes(
    js: JetStreamContext,
    streams: Streams,
    envelopes: Sequence[ChangeEnvelope],
    *,
    timeout: float = 10,
) -> list[str]:
    """Publishes each event and waits for JetStream to store it; returns the message ids."""
    ids = []
    for envelope in envelopes:
        subject = streams.ingest_subject(envelope.system, envelope.entity)
        await js.publish(
            subject,
            encode(envelope),
            timeout=timeout,
            headers={"Nats-Msg-Id": envelope.id, "Content-Type": CLOUDEVENTS_JSON},
        )
        ids.append(envelope.id)
    return ids


def note_pending(app: HubApplication, envelopes: Sequence[ChangeEnvelope]) -> None:
    """Records published messages as pending, so GET /v1/ingest/{id} knows them at once."""
    if not envelopes:
        return
    datastore = app.hub_recorder.datastore
    now = datetime.now(UTC)
    rows = [
        (
            e.id,
            f"ingest.{e.system}.{e.entity}",
            e.system,
            e.tenant,
            e.entity,
            e.sourcetype,
            e.subject,
            e.sequence,
            now,
            now,
        )
        for e in envelopes
    ]
    with datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            SQL(
                "INSERT INTO {} (message_id, subject, system, tenant, entity, source_type, "
                "source_id, sequence, outcome, received_at, decided_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s) "
                "ON CONFLICT (message_id) DO NOTHING"
            ).format(Identifier(datastore.schema, "hub_ingest_messages")),
            rows,
        )
