"""Knowledge asset: a document or page the firm keeps, classified, from draft to archive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import event

from domain.base import CanonicalAggregate
from domain.checks import (
    Guard,
    check_count,
    check_detail_values,
    check_instant,
    check_optional_id,
    check_required_text,
    check_source_ref,
    check_text,
    coerce_enum,
    of_type,
    optional_text,
)
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


@dataclass(frozen=True, slots=True)
class ContentHashes:
    """Digests of a file's content as its store computed them (Graph `file.hashes`)."""

    quick_xor: str = ""
    sha1: str = ""
    sha256: str = ""
    crc32: str = ""

    def __post_init__(self) -> None:
        if not any((self.quick_xor, self.sha1, self.sha256, self.crc32)):
            raise RuleViolationError(
                "hashes need at least one digest", rule="hashes", field="hashes"
            )


# People (author, owner, last modifier) are kept as source references: the account id in its
# system, which an account's rename does not change; their names and e-mails are PII.
_PEOPLE = ("author", "owner", "modified_by")
# Where the asset lives, who made it, and which of its versions this is: all descriptive.
DETAIL_GUARDS: dict[str, Guard] = {
    **{name: check_text for name in ("space_key", "space_id", "site_id", "drive_id")},
    **{name: check_text for name in ("drive_type", "parent_id", "parent_type", "parent_path")},
    **{name: check_source_ref for name in _PEOPLE},
    **{f"{name}_{part}": check_text for name in _PEOPLE for part in ("name", "email")},
    "created_at": check_instant,
    "modified_at": check_instant,
    "size_bytes": check_count,
    "revision": check_count,
    "version_message": check_text,
    "etag": check_text,
    "content_type": check_text,
    "hashes": of_type(ContentHashes),
    "source_status": check_text,
}


class KnowledgeAsset(CanonicalAggregate):
    """A knowledge asset, optionally tied to a client, an engagement or a service line."""

    ENTITY = "knowledge_asset"
    DETAILS = dict.fromkeys(DETAIL_GUARDS)
    REVISABLE = frozenset(
        {"title", "kind", "uri", "client_id", "engagement_id", "service_line", "classification"}
    ) | frozenset(DETAILS)
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
        details: Mapping[str, Any] | None = None,
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
            details=check_detail_values(cls.check_details(details), DETAIL_GUARDS),
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
        details: dict[str, Any] | None = None,  # absent from events recorded before details
    ) -> None:
        self._init_canonical(xrefs, details)
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
        changes.update(
            check_detail_values(
                {k: v for k, v in changes.items() if k in self.DETAILS}, DETAIL_GUARDS
            )
        )
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
