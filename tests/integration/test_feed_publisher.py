"""A feed's publisher on real PostgreSQL and NATS: a batch JetStream acknowledged but the
outbox never marked (the process died between the two) is not published again when the
publisher starts, however long after: beyond JetStream's duplicate window, which would drop
the repeats only within it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from psycopg.sql import SQL

from hub.bootstrap import build_application
from hub.feeds.publisher import FeedPublisher
from hub.settings import Settings
from hub.streams import Streams, ensure_stream
from projections.feeds.view import FeedView
from tests.support.feeding import read_stream

TARGET = "harvest"


@pytest.fixture
def view(settings: Settings, scratch_database: str) -> Iterator[FeedView]:
    app = build_application(settings, scratch_database)
    view = FeedView(app.hub_recorder.datastore, TARGET)
    view.create_table()
    yield view
    app.close()


def _items(view: FeedView, count: int) -> None:
    """`count` items waiting to be published, in log order."""
    with view.datastore.transaction(commit=True) as curs:
        for n in range(count):
            canonical_id = uuid.uuid4()
            curs.execute(
                SQL(
                    "INSERT INTO {} (canonical_id, key, entity, version, position, "
                    "idempotency_key, payload, payload_hash, occurred_at, published, state) "
                    "VALUES (%s, 'client', 'client', 1, %s, %s, %s, %s, %s, false, 'pending')"
                ).format(view.outbox),
                (
                    canonical_id,
                    n + 1,
                    f"{TARGET}:{canonical_id}:1",
                    f'{{"name": "Client {n}"}}',
                    f"hash-{n}",
                    datetime.now(UTC),
                ),
            )


def _unpublished(view: FeedView) -> int:
    with view.datastore.get_connection() as conn:
        return conn.execute(
            SQL("SELECT count(*) AS n FROM {} WHERE NOT published").format(view.outbox)
        ).fetchone()["n"]


def _publish(publisher: FeedPublisher, streams: Streams, nats_url: str, *, settle: bool) -> int:
    async def run() -> int:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_stream(js, streams.config(streams.feeds))
            if settle:
                publisher.settled += await publisher.settle(js)
            sent = 0
            while (batch := await publisher.publish_once(js)) > 0:
                sent += batch
            return sent
        finally:
            await nc.close()

    return asyncio.run(run())


def _dies_before_marking(publisher: FeedPublisher, streams: Streams, nats_url: str) -> Any:
    """Publishes what waits, and the process dies after JetStream acknowledged it, before the
    outbox is marked; returns the marking a restarted process has again."""
    marked = publisher._mark

    def dies(*args: Any) -> None:
        raise SystemExit("killed between the acknowledgement and the commit")

    publisher._mark = dies  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        _publish(publisher, streams, nats_url, settle=False)
    asyncio.run(asyncio.sleep(0.5))  # past the (0.1 s) duplicate window
    return marked


def _restarted(view: FeedView, streams: Streams, nats_url: str, marked: Any, batch: int) -> Any:
    """A new publisher, as a restarted process makes it."""
    restarted = FeedPublisher(TARGET, lambda: view, nats_url, streams, source="/pshub", batch=batch)
    restarted._mark = marked  # type: ignore[method-assign]
    return restarted


def test_a_batch_acknowledged_but_not_marked_is_not_published_again(
    view: FeedView, nats_url: str, stream_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A duplicate window JetStream has long forgotten the first publication in.
    monkeypatch.setattr("hub.streams.DUPLICATE_WINDOW_SECONDS", 0.1)
    streams = Streams(stream_prefix)
    publisher = FeedPublisher(TARGET, lambda: view, nats_url, streams, source="/pshub", batch=3)
    _items(view, 3)
    assert _publish(publisher, streams, nats_url, settle=True) == 3, "the first batch"

    # The next batch reaches JetStream, then the process dies before the outbox is marked.
    _items(view, 5)
    marked = _dies_before_marking(publisher, streams, nats_url)
    assert len(read_stream(nats_url, streams.feeds)) == 6 and _unpublished(view) == 5

    # A new publisher (a restarted process) finds them on the stream and sends the rest only.
    restarted = _restarted(view, streams, nats_url, marked, batch=3)
    assert _publish(restarted, streams, nats_url, settle=True) == 2
    assert restarted.settled == 3 and _unpublished(view) == 0
    ids = [event["id"] for _, event, _ in read_stream(nats_url, streams.feeds)]
    assert len(ids) == 8 and len(set(ids)) == 8, "an item published twice"
    # Nothing more to find: a second start settles nothing and publishes nothing.
    assert _publish(restarted, streams, nats_url, settle=True) == 0 and restarted.settled == 3


def test_a_stream_made_again_is_read_from_its_start(
    view: FeedView, nats_url: str, stream_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stream is deleted and made again after a marking: its sequences start afresh, so the
    # sequence recorded (3) says nothing of it; the items a crash left unmarked sit below it.
    monkeypatch.setattr("hub.streams.DUPLICATE_WINDOW_SECONDS", 0.1)
    streams = Streams(stream_prefix)
    publisher = FeedPublisher(TARGET, lambda: view, nats_url, streams, source="/pshub", batch=5)
    _items(view, 3)
    assert _publish(publisher, streams, nats_url, settle=True) == 3

    async def made_again() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await js.delete_stream(streams.feeds)
            await ensure_stream(js, streams.config(streams.feeds))
        finally:
            await nc.close()

    asyncio.run(made_again())
    _items(view, 5)
    marked = _dies_before_marking(publisher, streams, nats_url)
    assert len(read_stream(nats_url, streams.feeds)) == 5 and _unpublished(view) == 5

    restarted = _restarted(view, streams, nats_url, marked, batch=5)
    assert _publish(restarted, streams, nats_url, settle=True) == 0, "published again"
    assert restarted.settled == 5 and _unpublished(view) == 0
    ids = [event["id"] for _, event, _ in read_stream(nats_url, streams.feeds)]
    assert len(ids) == 5 and len(set(ids)) == 5
    # The marking now names the new stream's item: the next start reads only after it.
    assert _publish(restarted, streams, nats_url, settle=True) == 0 and restarted.settled == 5
