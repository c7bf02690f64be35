"""The feeds' Prometheus metrics, read at scrape time: deliveries by target and outcome (this
process's workers) and each target's backlog (from the outbox, whoever delivers it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

OUTCOMES = ("delivered", "retry", "failed", "waiting")


class FeedCollector(Collector):
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Any]:
        deliveries = CounterMetricFamily(
            "pshub_feed_deliveries",
            "Items this process delivered to each downstream target, by outcome (delivered, "
            "retry: to be tried again, failed: an exception case, waiting: for another item)",
            labels=["target", "outcome"],
        )
        backlog = GaugeMetricFamily(
            "pshub_feed_backlog",
            "Items waiting to be delivered to each downstream target",
            labels=["target"],
        )
        failed = GaugeMetricFamily(
            "pshub_feed_failed",
            "Items a downstream target did not take (each an exception case)",
            labels=["target"],
        )
        held = GaugeMetricFamily(
            "pshub_feed_held",
            "Items each downstream target is not sent yet: a won engagement waiting for its "
            "provisioning (quote-to-cash)",
            labels=["target"],
        )
        age = GaugeMetricFamily(
            "pshub_feed_backlog_age_seconds",
            "How long the oldest item waiting for each downstream target has waited",
            labels=["target"],
        )
        position = GaugeMetricFamily(
            "pshub_feed_position", "Each feed's position in the log", labels=["target"]
        )
        feeds = self.hub.feeds_of()
        for status in feeds.status(0):
            target = status["target"]
            line = feeds.lines.get(target)
            for outcome in OUTCOMES:
                count = line.worker.outcomes[outcome] if line and line.worker else 0
                deliveries.add_metric([target, outcome], count)
            backlog.add_metric([target], status["backlog"].get("pending", 0))
            failed.add_metric([target], status["backlog"].get("failed", 0))
            held.add_metric([target], status["backlog"].get("held", 0))
            age.add_metric([target], status["backlog"].get("oldest_pending_seconds", 0.0))
            position.add_metric([target], status["position"])
        yield from (deliveries, backlog, failed, held, age, position)
