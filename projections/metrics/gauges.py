"""The business metrics on /metrics: read from the metrics view at scrape time."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from projections.metrics import reads, setup
from projections.metrics.view import MetricsView

log = logging.getLogger(__name__)

HOUR = 3600.0
# Project setup runs in hours to weeks; exception cases in minutes to weeks.
SETUP_BUCKETS = (HOUR, 4 * HOUR, 24 * HOUR, 3 * 24 * HOUR, 7 * 24 * HOUR, 14 * 24 * HOUR)
RESOLUTION_BUCKETS = (60.0, 600.0, HOUR, 8 * HOUR, 24 * HOUR, 3 * 24 * HOUR, 7 * 24 * HOUR)
PAYMENT_DAYS = (7.0, 14.0, 30.0, 45.0, 60.0, 90.0)


class BusinessCollector(Collector):
    """WIP per currency, this month's utilization per team, and the setup lead time, invoice
    cycle time and exception resolution time histograms."""

    def __init__(self, view_of: Callable[[], MetricsView | None]) -> None:
        self.view_of = view_of

    def describe(self) -> list[Any]:
        return []  # nothing is read when the collector is registered

    def collect(self) -> Iterator[Any]:
        view = self.view_of()
        if view is None:
            return
        try:
            families = list(_families(view))
        except Exception:  # a scrape must answer even if the metrics tables are being rebuilt
            log.exception("metrics: business gauges could not be read")
            return
        yield from families


def _families(view: MetricsView) -> Iterator[Any]:
    today = datetime.now(UTC).date()
    wip = GaugeMetricFamily(
        "pshub_wip", "Work in progress (unbilled value) per currency", labels=["currency"]
    )
    for total in reads.wip(view, None, today)["totals"]:
        wip.add_metric([total["currency"]], float(total["wip"]["amount"]))
    yield wip
    utilization = GaugeMetricFamily(
        "pshub_utilization_ratio",
        "Utilization this month to date (approved hours / capacity) per team; kind billable "
        "or total",
        labels=["team", "kind"],
    )
    month = reads.utilization(view, today.replace(day=1), today)
    for team in month["teams"]:
        for kind in ("billable", "total"):
            value = team[f"{kind}_utilization"]
            if value is not None:
                utilization.add_metric([team["team"], kind], float(value))
    yield utilization
    yield _histogram(
        "pshub_project_setup_lead_time_seconds",
        "Project setup lead time: from an engagement won to ready in every downstream system "
        "(quote-to-cash), or to its first link to a delivery system where that never ran",
        setup.lead_times(view),
        SETUP_BUCKETS,
    )
    yield _histogram(
        "pshub_invoice_days_to_paid",
        "Invoice cycle time: days from the issue date to the payment that settled it",
        [float(d) for d in reads.days_to_paid(view)],
        PAYMENT_DAYS,
    )
    by_reason: dict[str, list[float]] = defaultdict(list)
    for reason, seconds in reads.durations(view, "exception_case", "raised_at", "closed_at"):
        by_reason[reason].append(seconds)
    resolution = HistogramMetricFamily(
        "pshub_exception_resolution_seconds",
        "From an exception case raised to resolved or dismissed, per reason",
        labels=["reason"],
    )
    for reason, seconds in sorted(by_reason.items()):
        buckets, total = _buckets(seconds, RESOLUTION_BUCKETS)
        resolution.add_metric([reason], buckets, total)
    yield resolution


def _histogram(
    name: str, documentation: str, values: Sequence[float], bounds: Sequence[float]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation)
    buckets, total = _buckets(values, bounds)
    family.add_metric([], buckets, total)
    return family


def _buckets(
    values: Sequence[float], bounds: Sequence[float]
) -> tuple[list[tuple[str, float]], float]:
    counts = [(str(bound), float(sum(v <= bound for v in values))) for bound in bounds]
    return [*counts, ("+Inf", float(len(values)))], float(sum(values))
