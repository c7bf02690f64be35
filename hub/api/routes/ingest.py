"""What became of an ingested message, and the published schemas of the canonical contract."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from psycopg.sql import SQL, Identifier

from hub.api.deps import HubDep, Reader
from hub.api.problems import Problem
from hub.contracts.changes import CHANGE_MODELS, ChangeEnvelope, Deletion
from hub.contracts.records import RECORD_MODELS
from hub.filters import filter_parameters

router = APIRouter(prefix="/v1", tags=["ingest"])

MessageId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/ingest/{message_id}")
def get_ingest_outcome(message_id: MessageId, hub: HubDep, _: Reader) -> dict[str, Any]:
    """Returns the outcome of one message: pending, applied, duplicate, stale, parked,
    rejected or dead_lettered, with its reason code and the canonical ids it touched."""
    datastore = hub.app.hub_recorder.datastore
    with datastore.get_connection() as conn:
        row = conn.execute(
            SQL(
                "SELECT m.*, p.waiting_for FROM {} m LEFT JOIN {} p USING (message_id) "
                "WHERE m.message_id = %s"
            ).format(
                Identifier(datastore.schema, "hub_ingest_messages"),
                Identifier(datastore.schema, "hub_ingest_parked"),
            ),
            (message_id,),
        ).fetchone()
    if row is None:
        raise Problem(404, f"no message {message_id} has reached the hub")
    return {
        "message_id": row["message_id"],
        "status": row["outcome"],
        "reason": row["reason"],
        "detail": row["detail"] or None,
        "subject": row["subject"],
        "system": row["system"],
        "tenant": row["tenant"],
        "entity": row["entity"],
        "source": None
        if row["source_id"] is None
        else {
            "system": row["system"],
            "tenant": row["tenant"],
            "type": row["source_type"],
            "id": row["source_id"],
        },
        "sequence": row["sequence"],
        "canonical_ids": [str(i) for i in row["canonical_ids"]],
        "position": row["position"],
        "waiting_for": row["waiting_for"],
        "received_at": row["received_at"].isoformat(),
        "decided_at": row["decided_at"].isoformat(),
        "deliveries": row["deliveries"],
    }


@router.get("/schemas")
def list_schemas(_: Reader) -> dict[str, Any]:
    """Lists the canonical entities with the JSON Schemas of their change event data and
    golden record, and the CloudEvents envelope."""
    return {
        "envelope": ChangeEnvelope.model_json_schema(),
        "deletion": Deletion.model_json_schema(),
        "entities": {entity: _schemas(entity) for entity in CHANGE_MODELS},
    }


@router.get("/schemas/{entity}")
def get_schema(entity: Annotated[str, Path(max_length=50)], _: Reader) -> dict[str, Any]:
    """The change-event `data` schema and the golden-record schema of one entity."""
    if entity not in CHANGE_MODELS:
        raise Problem(404, f"no entity {entity}; entities: {', '.join(CHANGE_MODELS)}")
    return _schemas(entity)


def _schemas(entity: str) -> dict[str, Any]:
    return {
        "entity": entity,
        "change_types": [f"pshub.{entity}.changed.v1", f"pshub.{entity}.deleted.v1"],
        "change": CHANGE_MODELS[entity].model_json_schema(),
        "record": RECORD_MODELS[entity].model_json_schema(mode="serialization"),
        # The query parameters GET /v1/{collection} filters by (as in the OpenAPI).
        "filters": [
            {"name": p["name"], "description": p["description"], "schema": p["schema"]}
            for p in filter_parameters(entity)
        ],
    }
