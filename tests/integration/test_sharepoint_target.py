"""The SharePoint writer against Microsoft Graph's drive API on loopback, counting folders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.sharepoint.feed import SharePointTarget
from hub.contracts.feeds import DeliveryFailed, FeedItem, TargetSettings
from hub.sandbox.sharepoint import GraphApi
from tests.support import golden as r
from tests.support.golden import xref

DRIVE = "b!Xq4TlzOTIEmZ5M7U3fdRmg"
PARENT = "Clients/Engagements"
TARGET = SharePointTarget(tenant=DRIVE, parent_path=PARENT)


@pytest.fixture
def api() -> Iterator[GraphApi]:
    with GraphApi(DRIVE) as served:
        served.make_folder(DRIVE, "", "Clients")
        served.make_folder(DRIVE, "Clients", "Engagements")
        yield served


@pytest.fixture
def settings(api: GraphApi) -> TargetSettings:
    return TargetSettings(base_url=api.base_url, token=api.token, tenant=DRIVE)


@pytest.fixture
def writer(settings: TargetSettings) -> Iterator[Any]:
    with httpx.Client(timeout=5) as client:
        yield TARGET.writer(settings, client)


def _folder(**fields: Any) -> FeedItem:
    [item] = TARGET.items("engagement", r.engagement(r.client()["id"], **fields))
    return item


def test_a_folder_is_made_under_the_parent_and_tagged(api: GraphApi, writer: Any) -> None:
    delivered = writer.deliver(_folder(name='Phase 1: "Discovery"'))
    [folder] = api.folders(DRIVE, PARENT)
    assert delivered.target_type == "driveItem" and delivered.tenant == DRIVE
    assert delivered.target_id == folder["id"]
    assert folder["name"] == "ACME-2026-01 Phase 1- -Discovery-"
    assert folder["fields"] == {"EngagementCode": "ACME-2026-01"}


def test_a_repeated_delivery_adopts_the_folder_it_made(api: GraphApi, writer: Any) -> None:
    item = _folder()
    first, again = writer.deliver(item), writer.deliver(item)
    assert again.target_id == first.target_id
    assert len(api.folders(DRIVE, PARENT)) == 1
    path = rf"/drives/{DRIVE}/root:/{PARENT}/ACME-2026-01 Finance transformation"
    assert api.seen("GET", path) == 1  # read once, after the 409


def test_a_folder_a_person_made_is_adopted_whatever_its_case(api: GraphApi, writer: Any) -> None:
    made = api.make_folder(DRIVE, PARENT, "acme-2026-01 FINANCE transformation")
    delivered = writer.deliver(_folder())
    assert delivered.target_id == made["id"]
    [folder] = api.folders(DRIVE, PARENT)
    assert folder["fields"] == {"EngagementCode": "ACME-2026-01"}


def test_a_known_folder_is_renamed_in_place(api: GraphApi, writer: Any) -> None:
    first = writer.deliver(_folder())
    known = [xref("sharepoint", "driveItem", first.target_id, DRIVE)]
    renamed = _folder(name="Finance transformation phase 2", xrefs=known, version=2)
    assert writer.deliver(renamed).target_id == first.target_id
    [folder] = api.folders(DRIVE, PARENT)
    assert folder["name"] == "ACME-2026-01 Finance transformation phase 2"


def test_a_file_in_the_way_is_refused_for_good(api: GraphApi, writer: Any) -> None:
    blocker = api.make_folder(DRIVE, PARENT, "ACME-2026-01 Finance transformation")
    del blocker["folder"]  # a file of that name, not a folder
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_folder())
    assert not failed.value.retryable and "is not a folder" in str(failed.value)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_retryable_after_what_graph_asked(
    api: GraphApi, writer: Any, status: int
) -> None:
    writer.deliver(_folder(code="WARM-UP"))  # the parent folder's id is resolved by now
    api.throttle(status=status, retry_after="5")
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(_folder())
    assert failed.value.retryable and failed.value.retry_after == 5.0
    code = "activityLimitReached" if status == 429 else "serviceNotAvailable"
    assert failed.value.status == status and f"Graph {code}" in str(failed.value)
    assert len(api.folders(DRIVE, PARENT)) == 1


def test_a_missing_parent_folder_is_refused_with_graphs_reason(
    api: GraphApi, settings: TargetSettings
) -> None:
    target = SharePointTarget(tenant=DRIVE, parent_path="Nowhere")
    with httpx.Client(timeout=5) as client, pytest.raises(DeliveryFailed) as failed:
        target.writer(settings, client).deliver(_folder())
    assert failed.value.status == 404 and not failed.value.retryable
    assert "Graph itemNotFound" in str(failed.value)


def test_a_name_graph_refuses_is_not_retried(api: GraphApi, writer: Any) -> None:
    item = _folder()
    bad = FeedItem(**{**item.__dict__, "payload": {**item.payload, "name": "a:b"}})
    with pytest.raises(DeliveryFailed) as failed:
        writer.deliver(bad)
    assert failed.value.status == 400 and not failed.value.retryable
    assert "Graph invalidRequest" in str(failed.value)
    assert api.folders(DRIVE, PARENT) == []


def test_a_folder_at_the_drive_root_when_no_parent_is_configured(
    api: GraphApi, settings: TargetSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PSHUB_FEED_SHAREPOINT_PARENT", raising=False)
    target = SharePointTarget(tenant=DRIVE)
    [item] = target.items("engagement", r.engagement(r.client()["id"]))
    with httpx.Client(timeout=5) as client:
        writer = target.writer(settings, client)
        assert writer.deliver(item).target_id == writer.deliver(item).target_id
    names = [f["name"] for f in api.folders(DRIVE, "")]
    assert sorted(names) == ["ACME-2026-01 Finance transformation", "Clients"]


def test_the_parent_folder_is_a_setting_read_when_the_connector_is_made(
    api: GraphApi, settings: TargetSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSHUB_FEED_SHAREPOINT_PARENT", "/Clients/")
    target = SharePointTarget(tenant=DRIVE)
    [item] = target.items("engagement", r.engagement(r.client()["id"]))
    with httpx.Client(timeout=5) as client:
        target.writer(settings, client).deliver(item)
    assert {f["name"] for f in api.folders(DRIVE, "Clients")} == {
        "Engagements",
        "ACME-2026-01 Finance transformation",
    }
