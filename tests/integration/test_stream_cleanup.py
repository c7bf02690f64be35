"""Deleting a prefix's streams on a shared NATS server: all of them, consumers and messages
included, across the server's pages of stream listings, and none of anyone else's."""

from __future__ import annotations

import asyncio
import threading

import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from hub.streams import Streams, ensure_streams, remove_streams
from tests.support.hygiene import streams_of


def _make(nats_url: str, hubs: list[Streams], small: list[str]) -> None:
    """Hub streams with a message and a durable consumer each, and small memory streams."""

    async def run() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        for streams in hubs:
            await ensure_streams(js, streams)
            await js.publish(streams.ingest_subject("harvest", "client"), b"{}")
            await js.pull_subscribe(
                f"{streams.prefix}ingest.>", durable="cleanup-test", stream=streams.ingest
            )
        for start in range(0, len(small), 100):
            await asyncio.gather(
                *(
                    js.add_stream(
                        StreamConfig(name=name, subjects=[f"{name}.x"], storage=StorageType.MEMORY)
                    )
                    for name in small[start : start + 100]
                )
            )
        await nc.close()

    asyncio.run(run())


def test_removes_every_stream_of_its_prefix_and_none_that_merely_looks_alike(
    nats_url: str, stream_prefix: str
) -> None:
    ours, neighbour = Streams(f"{stream_prefix}A_"), Streams(f"{stream_prefix}AB_")
    # More than one page of the server's stream list (256 a page).
    many = [f"{stream_prefix}A_SMALL{i}" for i in range(300)]
    _make(nats_url, [ours, neighbour], many)

    removed = remove_streams(nats_url, ours.prefix)

    assert sorted(removed) == sorted([c.name for c in ours.configs()] + many)
    assert streams_of(nats_url, ours.prefix) == []
    assert sorted(streams_of(nats_url, neighbour.prefix)) == sorted(
        c.name for c in neighbour.configs()
    )


def test_removes_every_stream_of_its_prefix_while_others_delete_theirs(
    nats_url: str, stream_prefix: str
) -> None:
    # Streams listed before ours, deleted by another client while ours are listed page by
    # page: each deletion shifts the pages that follow.
    others = [f"{stream_prefix}0_OTHER{i:04}" for i in range(800)]
    ours = [f"{stream_prefix}A_OURS{i:03}" for i in range(300)]
    _make(nats_url, [], others + ours)

    async def delete_others() -> None:
        nc = await nats.connect(nats_url)
        for name in others:
            await nc.jsm().delete_stream(name)
        await nc.close()

    churn = threading.Thread(target=asyncio.run, args=(delete_others(),))
    churn.start()
    try:
        removed = remove_streams(nats_url, f"{stream_prefix}A_")
    finally:
        churn.join(60)
    assert sorted(removed) == ours
    assert streams_of(nats_url, f"{stream_prefix}A_") == []


def test_refuses_to_remove_streams_without_a_prefix(nats_url: str, stream_prefix: str) -> None:
    _make(nats_url, [Streams(stream_prefix)], [])
    with pytest.raises(ValueError, match="without a prefix"):
        remove_streams(nats_url, "")
    assert len(streams_of(nats_url, stream_prefix)) == 4
