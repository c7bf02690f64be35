"""Reconciliation's Prometheus metrics, read at scrape time from the last pass of each target
(whichever process ran it): records by outcome, and when the target was last reconciled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from domain.reconciliation import OUTCOMES
from hub.reconciliation.store import ReconciliationStore


class ReconciliationCollector(Collector):
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Any]:
        records = GaugeMetricFamily(
            "pshub_reconciliation_records",
            "Records of each downstream target by outcome of its last successful pass "
            "(matching, missing_downstream, missing_in_hub, differing)",
            labels=["target", "outcome"],
        )
        reconciled = GaugeMetricFamily(
            "pshub_reconciliation_last_success_timestamp_seconds",
            "When each downstream target was last reconciled (Unix time)",
            labels=["target"],
        )
        try:
            states = ReconciliationStore(self.hub.app.hub_recorder.datastore).target_states()
        except psycopg.errors.UndefinedTable:  # a database made before reconciliation
            states = {}
        for target, state in sorted(states.items()):
            overall = (state["totals"] or {}).get("overall") or {}
            for outcome in OUTCOMES:
                records.add_metric([target, outcome], overall.get(outcome, 0))
            if state["reconciled_at"] is not None:
                reconciled.add_metric([target], state["reconciled_at"].timestamp())
        yield from (records, reconciled)
