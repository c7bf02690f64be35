"""Knowledge asset: a document or page the firm keeps, classified, from draft to archive."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import check_optional_id, check_required_text, coerce_enum, optional_text
from domain.errors import InvalidTransitionError, RuleViolationError
from domain.values import SourceRef


class AssetKind(StrEnum):
    DOCUMENT = "document"
    PAGE = "page"
    PROPOSAL = "proposal"
    DELIVERABLE = "deliverable"
    CASE_STUDY = "case_study"
    TEMPLATE = "template"
    METHODOLOGY = "methodology"
    OTHER = "other"


class Classification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class AssetStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


_S = AssetStatus


def check_uri(uri: str) -> str:
    """Returns an absolute URI (scheme and location), or raises."""
    text = check_required_text(uri, "uri")
    parts = urlsplit(text)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise RuleViolationError(f"'{text}' is not an absolute URI", rule="uri", field="uri")
    return text


class KnowledgeAsset(CanonicalAggregate):
    """A knowledge asset, optionally tied to a client, an engagement or a service line."""

    ENTITY = "knowledge_asset"
    REVISABLE = frozenset(
        {"title", "kind", "uri", "client_id", "engagement_id", "service_line", "classification"}
    )
    ENUM_FIELDS = {"kind": AssetKind, "classification": Classification}

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        title: str,
        kind: AssetKind,
        uri: str,
        classification: Classification = Classification.INTERNAL,
        client_id: UUID | None = None,
        engagement_id: UUID | None = None,
        service_line: str = "",
        xrefs: Sequence[SourceRef] = (),
    ) -> KnowledgeAsset:
        """Registers a draft asset after checking its attributes (internal by default)."""
        return cls(
            id=id,
            title=check_required_text(title, "title"),
            kind=coerce_enum(AssetKind, kind, "kind"),
            uri=check_uri(uri),
            classification=coerce_enum(Classification, classification, "classification"),
            client_id=check_optional_id(client_id, "client_id"),
            engagement_id=check_optional_id(engagement_id, "engagement_id"),
            service_line=optional_text(service_line),
            xrefs=list(xrefs),
        )

    @event("Registered")
    def __init__(
        self,
        *,
        id: UUID,  # the library hands the aggregate id to the creation event body
        title: str,
        kind: str,
        uri: str,
        classification: str,
        client_id: UUID | None,
        engagement_id: UUID | None,
        service_line: str,
        xrefs: list[SourceRef],
    ) -> None:
        self._init_canonical(xrefs)
        self.title = title
        self.kind = AssetKind(kind)
        self.uri = uri
        self.classification = Classification(classification)
        self.client_id = client_id
        self.engagement_id = engagement_id
        self.service_line = service_line
        self.status = AssetStatus.DRAFT

    def check_revision(self, changes: dict[str, Any]) -> dict[str, Any]:
        if "title" in changes:
            changes["title"] = check_required_text(changes["title"], "title")
        if "kind" in changes:
            changes["kind"] = coerce_enum(AssetKind, changes["kind"], "kind")
        if "uri" in changes:
            changes["uri"] = check_uri(changes["uri"])
        if "classification" in changes:
            changes["classification"] = coerce_enum(
                Classification, changes["classification"], "classification"
            )
        for field in ("client_id", "engagement_id"):
            if field in changes:
                check_optional_id(changes[field], field)
        if "service_line" in changes:
            changes["service_line"] = optional_text(changes["service_line"])
        return changes

    def _check_status(self, action: str, *allowed: AssetStatus) -> None:
        self.check_not_deleted(action)
        if self.status not in allowed:
            raise InvalidTransitionError("knowledge asset", self.status, action)

    def publish(self) -> None:
        """Publishes a draft."""
        self._check_status("be published", _S.DRAFT)
        self._published()

    @event("Published")
    def _published(self) -> None:
        self.status = _S.PUBLISHED

    def archive(self, reason: str = "") -> None:
        """Archives a published asset: kept, no longer current."""
        self._check_status("be archived", _S.PUBLISHED)
        self._archived(reason=optional_text(reason))

    @event("Archived")
    def _archived(self, reason: str) -> None:
        self.status = _S.ARCHIVED

    def unarchive(self) -> None:
        """Makes an archived asset current again."""
        self._check_status("be unarchived", _S.ARCHIVED)
        self._unarchived()

    @event("Unarchived")
    def _unarchived(self) -> None:
        self.status = _S.PUBLISHED
