"""NetSuite's own shapes: REST record JSON (customer, job, projectTask) and collection pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field


def _id_text(value: Any) -> Any:
    # REST ids are strings ("107"); a SuiteScript push may send numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


NsId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1)]


class Native(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Link(Native):
    rel: str | None = None
    href: str | None = None


class RecordRef(Native):
    """A reference: {"links": [{"rel": "self", "href": ...}], "id": "1", "refName": "USD"}."""

    id: NsId
    refName: str | None = None
    links: list[Link] = []


class Record(Native):
    id: NsId
    links: list[Link] = []
    externalId: str | None = None
    lastModifiedDate: AwareDatetime
    dateCreated: AwareDatetime | None = None
    isInactive: bool = False


class Customer(Record):
    entityId: str | None = None
    companyName: str | None = None
    isPerson: bool = False
    firstName: str | None = None
    lastName: str | None = None
    currency: RecordRef | None = None
    subsidiary: RecordRef | None = None
    vatRegNumber: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    defaultAddress: str | None = None  # formatted text, lines separated by <br>
    category: RecordRef | None = None
    salesRep: RecordRef | None = None
    parent: RecordRef | None = None  # the parent customer of a sub-customer


class Job(Record):
    entityId: str | None = None
    companyName: str | None = None
    altName: str | None = None
    parent: RecordRef | None = None
    entityStatus: RecordRef | None = None
    jobType: RecordRef | None = None
    # SOAP's JobBillingType enum ("_fixedBidMilestone"); REST likely a reference to it.
    jobBillingType: RecordRef | str | None = None
    currency: RecordRef | None = None
    subsidiary: RecordRef | None = None
    projectManager: RecordRef | None = None
    startDate: date | None = None
    projectedEndDate: date | None = None
    calculatedEndDate: date | None = None
    percentComplete: Decimal | None = None
    estimatedCost: Decimal | None = None
    estimatedRevenue: Decimal | None = None


class ProjectTask(Record):
    title: str | None = None
    project: RecordRef | None = None  # REST
    company: RecordRef | None = None  # SOAP / SuiteScript
    isMilestone: bool | None = None
    status: RecordRef | None = None
    startDate: date | None = None
    endDate: date | None = None
    finishByDate: date | None = None
    actualEndDate: date | None = None


class Collection(Native):
    """A record collection page: {"links", "count", "hasMore", "items", "offset",
    "totalResults"}; each item is {"links", "id"}."""

    links: list[Link] = []
    count: int = 0
    hasMore: bool = False
    items: list[dict[str, Any]] = []
    offset: int = 0
    totalResults: int | None = None
