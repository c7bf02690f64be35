"""Microsoft Graph's own shapes: driveItem delta pages and drive change notifications."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GraphModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ParentReference(GraphModel):
    driveId: str | None = None
    driveType: str | None = None
    id: str | None = None
    siteId: str | None = None
    path: str | None = None  # not returned by delta


class Identity(GraphModel):
    id: str | None = None
    displayName: str | None = None
    email: str | None = None


class IdentitySet(GraphModel):
    """`createdBy` / `lastModifiedBy`: a user, or an application acting on its own."""

    user: Identity | None = None
    application: Identity | None = None


class DeletedFacet(GraphModel):
    state: str | None = None


class Hashes(GraphModel):
    quickXorHash: str | None = None
    sha1Hash: str | None = None
    sha256Hash: str | None = None
    crc32Hash: str | None = None


class FileFacet(GraphModel):
    mimeType: str | None = None
    hashes: Hashes | None = None


class FolderFacet(GraphModel):
    childCount: int | None = None


class DriveItem(GraphModel):
    """A driveItem as delta returns it: `file` or `folder`, and `deleted` once removed."""

    id: str | None = None
    name: str | None = None
    eTag: str | None = None
    cTag: str | None = None
    size: int | None = None
    createdDateTime: str | None = None
    lastModifiedDateTime: str | None = None
    webUrl: str | None = None
    createdBy: IdentitySet | None = None
    lastModifiedBy: IdentitySet | None = None
    parentReference: ParentReference | None = None
    file: FileFacet | None = None
    folder: FolderFacet | None = None
    package: dict[str, Any] | None = None
    root: dict[str, Any] | None = None
    deleted: DeletedFacet | None = None


class DeltaPage(GraphModel):
    value: list[DriveItem]
    next_link: str | None = Field(default=None, alias="@odata.nextLink")
    delta_link: str | None = Field(default=None, alias="@odata.deltaLink")


class ChangeNotification(GraphModel):
    """A drive change notification (no item data), or a lifecycle notification."""

    subscriptionId: str | None = None
    clientState: str | None = None
    changeType: str | None = None
    lifecycleEvent: str | None = None
    resource: str | None = None
    subscriptionExpirationDateTime: str | None = None
    tenantId: str | None = None
    resourceData: dict[str, Any] | None = None


class NotificationBatch(GraphModel):
    value: list[ChangeNotification]
