"""Confluence's own shapes: the page webhook body (Cloud Connect and Data Center), and a
page as REST v2 returns it (`GET /wiki/api/v2/pages/{id}`).

A webhook body does not name its event: the name comes from the registration (`?event=`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Epoch milliseconds up to 9999-12-31, and versions that fit the ten digits of the sequence.
EpochMs = Annotated[int, Field(ge=0, le=253_402_300_799_999)]
Version = Annotated[int, Field(ge=0, le=9_999_999_999)]


class ConfluenceModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Page(ConfluenceModel):
    idAsString: str | None = None
    id: int | str | None = None
    title: str | None = None
    spaceKey: str | None = None
    spaceId: int | str | None = None
    contentType: str | None = None
    version: Version | None = None
    creationDate: EpochMs | None = None
    modificationDate: EpochMs | None = None
    creatorAccountId: str | None = None
    lastModifierAccountId: str | None = None
    # Data Center names people by user key and user name instead.
    creatorKey: str | None = None
    creatorName: str | None = None
    lastModifierKey: str | None = None
    lastModifierName: str | None = None
    self_url: str | None = Field(default=None, alias="self")


class PageEvent(ConfluenceModel):
    """`{"page": {...}, "userAccountId", "accountType", "timestamp", "updateTrigger", ...}`."""

    page: Page | None = None
    userAccountId: str | None = None
    accountType: str | None = None
    timestamp: EpochMs | None = None
    updateTrigger: str | None = None
    suppressNotifications: bool | None = None
    # Some registrations (REST webhooks, proxies) add the event name to the body.
    event: str | None = None
    webhookEvent: str | None = None


class RestVersion(ConfluenceModel):
    number: Version
    message: str | None = None
    minorEdit: bool | None = None
    authorId: str | None = None
    createdAt: str | None = None


class RestLinks(ConfluenceModel):
    webui: str | None = None
    base: str | None = None


class RestPage(ConfluenceModel):
    """A REST v2 page: status current, draft, archived, trashed (historical, deleted in v1)."""

    id: int | str
    status: str | None = None
    title: str | None = None
    spaceId: int | str | None = None
    parentId: int | str | None = None
    parentType: str | None = None
    authorId: str | None = None
    ownerId: str | None = None
    createdAt: str | None = None
    version: RestVersion
    links: RestLinks | None = Field(default=None, alias="_links")
