"""Canonical changes of knowledge assets: documents and pages, where they live, who made them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from hub.contracts.canonical import (
    CLEARS,
    REQUIRED,
    CanonicalModel,
    Count,
    PersonData,
    Ref,
    ShortText,
    SourceId,
    Text,
)

Hash = Annotated[str, Field(min_length=1, max_length=200)]


def _d(text: str) -> object:
    return Field(default=None, description=text)


class ContentHashesData(CanonicalModel):
    """Digests of a file's content (Graph `file.hashes`); at least one."""

    quick_xor: Hash | None = _d("QuickXorHash (OneDrive for Business, SharePoint).")
    sha1: Hash | None = _d("SHA-1 hash (OneDrive personal).")
    sha256: Hash | None = _d("SHA-256 hash (OneDrive personal).")
    crc32: Hash | None = _d("CRC32 hash (OneDrive personal).")


class KnowledgeAssetChange(CanonicalModel):
    """A document, page or deliverable in a knowledge system."""

    id: SourceId = Field(description="The record's id in its source system.")
    title: Annotated[str, Field(min_length=1, max_length=1000)] | None = _d("Title. " + REQUIRED)
    kind: (
        Literal[
            "document",
            "page",
            "proposal",
            "deliverable",
            "case_study",
            "template",
            "methodology",
            "other",
        ]
        | None
    ) = _d("What it is. " + REQUIRED)
    uri: Annotated[str, Field(min_length=1, max_length=2000)] | None = _d(
        "Its web URL. " + REQUIRED
    )
    classification: Literal["public", "internal", "confidential", "restricted"] | None = _d(
        "Who may read it; internal when a new asset leaves it out. Null keeps the current value."
    )
    status: Literal["draft", "published", "archived"] | None = _d("Where it is in its life.")
    client: Ref | None = _d("The client it concerns (a link: recorded before it is known).")
    engagement: Ref | None = _d("The engagement it belongs to (a link).")
    service_line: ShortText | None = _d("The service line it belongs to. " + CLEARS)
    source_status: ShortText | None = _d(
        "The status as the source names it (Confluence current, trashed). " + CLEARS
    )
    space_key: ShortText | None = _d("Confluence space key. " + CLEARS)
    space_id: ShortText | None = _d("Confluence space id. " + CLEARS)
    site_id: ShortText | None = _d("SharePoint site id. " + CLEARS)
    drive_id: ShortText | None = _d("Graph drive id (the document library). " + CLEARS)
    drive_type: ShortText | None = _d("Graph drive type (documentLibrary, business). " + CLEARS)
    parent_id: ShortText | None = _d("The parent page (Confluence) or folder (Graph). " + CLEARS)
    parent_type: ShortText | None = _d("What the parent is (Confluence page, folder). " + CLEARS)
    parent_path: Text | None = _d("The parent folder's path (Graph). " + CLEARS)
    author: PersonData | None = _d("Who created it. " + CLEARS)
    owner: PersonData | None = _d("Who owns it (Confluence ownerId). " + CLEARS)
    modified_by: PersonData | None = _d("Who changed it last. " + CLEARS)
    created_at: AwareDatetime | None = _d("When it was created at the source. " + CLEARS)
    modified_at: AwareDatetime | None = _d("When it was last changed at the source. " + CLEARS)
    size_bytes: Count | None = _d("Size in bytes. " + CLEARS)
    revision: Count | None = _d("The source's version number (Confluence). " + CLEARS)
    version_message: Text | None = _d("The note of its latest version. " + CLEARS)
    etag: ShortText | None = _d("The source's entity tag (Graph eTag). " + CLEARS)
    content_type: ShortText | None = _d("The file's media type (MIME). " + CLEARS)
    hashes: ContentHashesData | None = _d("Content digests (Graph). " + CLEARS)
