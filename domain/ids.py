"""Deterministic canonical ids, so that replays and re-imports land on the same aggregate."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from domain.values import SourceRef

PSHUB_NAMESPACE = uuid5(NAMESPACE_URL, "urn:pshub")


def natural_id(entity: str, *key: str) -> UUID:
    """Returns the canonical id of an entity identified by a natural key (e.g. a client code)."""
    # Escape the separator, so that ("a/b",) and ("a", "b") stay two keys; parts without
    # "/" or "%" (nearly all of them) keep the ids they always had.
    parts = (part.replace("%", "%25").replace("/", "%2F") for part in (entity, *key))
    return uuid5(PSHUB_NAMESPACE, "/".join(parts))


def source_id(entity: str, ref: SourceRef) -> UUID:
    """Returns the canonical id first minted for a source record; the type is case-folded."""
    system, tenant, type_, id_ = ref.key
    return natural_id(entity, "xref", system, tenant, type_, id_)
