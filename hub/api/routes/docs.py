"""Open documents: Prometheus metrics and the AsyncAPI description of the NATS interface."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from domain.registry import AGGREGATES
from hub.adapters import registry
from hub.api.deps import HubDep
from hub.bootstrap import Hub
from hub.contracts.changes import CHANGE_MODELS, ChangeEnvelope, Deletion
from hub.feeds.metrics import FeedCollector
from hub.feeds.publisher import FEED_ENVELOPE_SCHEMA
from hub.feeds.registry import known_targets
from hub.projecting import ProjectionMetrics
from hub.reconciliation.metrics import ReconciliationCollector
from hub.relay.envelope import ENVELOPE_SCHEMA
from projections.exceptions.metrics import BacklogCollector
from projections.metrics.gauges import BusinessCollector

router = APIRouter(tags=["documents"])


def hub_metrics(hub: Hub) -> CollectorRegistry:
    """This hub's gauges, read at scrape time (each app its own registry)."""
    metrics = CollectorRegistry()
    head = Gauge("pshub_log_head", "The last position of the event log", registry=metrics)
    head.set_function(lambda: hub.app.hub_recorder.select_head()[0])
    lag = Gauge(
        "pshub_projection_position",
        "Each projection's position in the log",
        ["projection"],
        registry=metrics,
    )
    for name in ("golden_records", "exceptions", "metrics"):
        lag.labels(name).set_function(
            lambda name=name: hub.runners[name].projection.position() if name in hub.runners else 0
        )
    lag.labels("relay").set_function(lambda: (hub.relay.position() or 0) if hub.relay else 0)
    resyncs = Gauge(
        "pshub_relay_resyncs",
        "Times this process's relay went back to the events stream's tail (refused or lost "
        "publishes)",
        registry=metrics,
    )
    resyncs.set_function(lambda: hub.relay.resyncs if hub.relay else 0)
    parked = Gauge(
        "pshub_parked_changes", "Changes waiting for a record they refer to", registry=metrics
    )
    parked.set_function(lambda: hub.engine.parked_count() if hub.engine else 0)
    metrics.register(FeedCollector(hub))
    metrics.register(ReconciliationCollector(hub))
    metrics.register(BusinessCollector(lambda: hub.metrics))
    metrics.register(BacklogCollector(lambda: hub.exceptions))
    metrics.register(ProjectionMetrics(hub))  # generation, lag in events and seconds
    return metrics


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Prometheus metrics: ingest outcomes, batches, failures, log head, projection positions."""
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.json")
def asyncapi(hub: HubDep) -> dict[str, Any]:
    """AsyncAPI 2.6 description of the hub's NATS subjects and CloudEvents messages."""
    streams = hub.streams
    schemas: dict[str, Any] = {
        "ChangeEnvelope": ChangeEnvelope.model_json_schema(),
        "Deletion": Deletion.model_json_schema(),
    }
    channels: dict[str, Any] = {}
    for entity, model in CHANGE_MODELS.items():
        schemas[model.__name__] = model.model_json_schema()
        channels[streams.prefix + "ingest.{system}." + entity] = {
            "description": f"Canonical changes of {entity} records from a source system "
            f"(stream {streams.ingest}); Nats-Msg-Id is the event id.",
            "parameters": {"system": {"schema": {"type": "string", "enum": sorted(registry())}}},
            "subscribe": {
                "summary": "the hub consumes",
                "message": {
                    "contentType": "application/cloudevents+json",
                    "name": f"pshub.{entity}.changed.v1 / pshub.{entity}.deleted.v1",
                    "payload": {
                        "allOf": [
                            {"$ref": "#/components/schemas/ChangeEnvelope"},
                            {
                                "properties": {
                                    "data": {
                                        "oneOf": [
                                            {"$ref": f"#/components/schemas/{model.__name__}"},
                                            {"$ref": "#/components/schemas/Deletion"},
                                        ]
                                    }
                                }
                            },
                        ]
                    },
                },
            },
        }
    schemas["RelayedEvent"] = ENVELOPE_SCHEMA
    channels[streams.prefix + "events.{entity}.{eventType}"] = {
        "description": f"Every recorded event, in log order, each once (stream "
        f"{streams.events}); resumable from any position by `sequence`.",
        "parameters": {
            "entity": {
                "schema": {
                    "type": "string",
                    "enum": [*sorted(AGGREGATES), "exception", "provisioning"],
                }
            },
            "eventType": {"schema": {"type": "string", "description": "Created, Revised, ..."}},
        },
        "publish": {
            "summary": "the hub publishes",
            "message": {
                "contentType": "application/cloudevents+json",
                "name": "pshub.{entity}.{eventType}.v1",
                "payload": {"$ref": "#/components/schemas/RelayedEvent"},
            },
        },
    }
    schemas["FeedItem"] = FEED_ENVELOPE_SCHEMA
    channels[streams.prefix + "feed.{target}.{entity}"] = {
        "description": f"What each downstream system must hold, in its own shape (stream "
        f"{streams.feeds}): an item each time a record's payload for that target changes.",
        "parameters": {
            "target": {"schema": {"type": "string", "enum": sorted(known_targets())}},
            "entity": {"schema": {"type": "string", "description": "customer, job, ..."}},
        },
        "publish": {
            "summary": "the hub publishes",
            "message": {
                "contentType": "application/cloudevents+json",
                "name": "pshub.feed.{target}.{entity}.v1",
                "payload": {"$ref": "#/components/schemas/FeedItem"},
            },
        },
    }
    channels[streams.prefix + "deadletter.{subject}"] = {
        "description": f"Input that could not be applied (stream {streams.deadletter}): the "
        "original bytes, with Pshub-Reason, Pshub-Reason-Text, "
        "Pshub-Original-Subject and Pshub-Original-Id headers.",
        "parameters": {"subject": {"schema": {"type": "string"}}},
        "publish": {"summary": "the hub publishes", "message": {"payload": {}}},
    }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "pshub",
            "version": "1",
            "description": "The canonical data hub's NATS JetStream interface.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "components": {"schemas": schemas},
    }
