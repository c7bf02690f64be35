"""The exception backlog as a Prometheus gauge: open and in-progress cases by reason and age
band, read from the view at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from projections.exceptions.view import AGE_BANDS, ExceptionsView

NAME = "pshub_exception_backlog"
HELP = "Open and in-progress exception cases by reason and age band (<1h, 1-24h, 1-7d, >7d)"


class BacklogCollector(Collector):
    """Each scrape counts the backlog in the live view (a rebuild may have switched it)."""

    def __init__(self, view: Callable[[], ExceptionsView | None]) -> None:
        self.view = view

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Named without a query: registering a collector would otherwise collect it once.
        yield GaugeMetricFamily(NAME, HELP, labels=["reason", "age_band"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(NAME, HELP, labels=["reason", "age_band"])
        view = self.view()
        backlog = view.backlog() if view is not None else {}
        # Every band of a reason with a backlog, zeros too: a band that empties reads 0.
        for reason in sorted({reason for reason, _ in backlog}):
            for band, _ in AGE_BANDS:
                family.add_metric([reason, band], backlog.get((reason, band), 0))
        yield family
