"""Golden records of knowledge assets: what they are, where they live, who made them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from hub.contracts.common import XrefModel
from hub.contracts.record_base import PII, RecordModel, described


class ContentHashesRecord(BaseModel):
    """Digests of a file's content, as its store computed them."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    quick_xor: str = described("QuickXorHash (OneDrive for Business, SharePoint).", default="")
    sha1: str = described("SHA-1 (OneDrive personal).", default="")
    sha256: str = described("SHA-256 (OneDrive personal).", default="")
    crc32: str = described("CRC32 (OneDrive personal).", default="")


def _person(role: str) -> tuple[object, object, object]:
    return (
        described(f"Who {role}: their account in the source system.", default=None),
        described(f"The name of who {role}.", PII, default=None),
        described(f"The e-mail address of who {role}.", PII, default=None),
    )


_AUTHOR, _OWNER, _MODIFIER = _person("created it"), _person("owns it"), _person("changed it last")


class KnowledgeAssetRecord(RecordModel):
    """A deliverable, document or page in the firm's knowledge systems."""

    title: str = described("Its title (a file's name).")
    kind: str = described("document, page, proposal, deliverable, case_study, template, ...")
    uri: str = described("Its web URL.")
    classification: str = described("public, internal, confidential or restricted.")
    status: str = described("draft, published or archived.")
    source_status: str | None = described(
        "The status as the source names it (Confluence current, trashed).", default=None
    )
    client_id: UUID | None = described("The client it concerns.", default=None)
    engagement_id: UUID | None = described("The engagement it belongs to.", default=None)
    service_line: str = described("The service line it belongs to.", default="")
    space_key: str | None = described("The Confluence space's key.", default=None)
    space_id: str | None = described("The Confluence space's id.", default=None)
    site_id: str | None = described("The SharePoint site's id.", default=None)
    drive_id: str | None = described("The Graph drive (document library) holding it.", default=None)
    drive_type: str | None = described(
        "The Graph drive's type (documentLibrary, business, personal).", default=None
    )
    parent_id: str | None = described(
        "Its parent: a Confluence page or folder, a Graph folder.", default=None
    )
    parent_type: str | None = described("What the parent is (Confluence page).", default=None)
    parent_path: str | None = described("The parent folder's path (Graph).", default=None)
    author: XrefModel | None = _AUTHOR[0]
    author_name: str | None = _AUTHOR[1]
    author_email: str | None = _AUTHOR[2]
    owner: XrefModel | None = _OWNER[0]
    owner_name: str | None = _OWNER[1]
    owner_email: str | None = _OWNER[2]
    modified_by: XrefModel | None = _MODIFIER[0]
    modified_by_name: str | None = _MODIFIER[1]
    modified_by_email: str | None = _MODIFIER[2]
    created_at: datetime | None = described("When it was created at the source.", default=None)
    modified_at: datetime | None = described("When it last changed at the source.", default=None)
    size_bytes: int | None = described("Its size in bytes.", default=None)
    revision: int | None = described("The source's version number (Confluence).", default=None)
    version_message: str | None = described("The note of its latest version.", default=None)
    etag: str | None = described("The source's entity tag (Graph eTag).", default=None)
    content_type: str | None = described("The file's media type (MIME).", default=None)
    hashes: ContentHashesRecord | None = described("Digests of its content (Graph).", default=None)
