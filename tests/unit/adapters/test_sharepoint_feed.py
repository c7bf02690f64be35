"""SharePoint target mapping: engagements -> a folder each, named for Graph, tagged by code."""

from __future__ import annotations

import pytest

from adapters.sharepoint.feed import SharePointTarget, folder_name
from tests.support import golden as r
from tests.support.golden import xref

DRIVE = "b!Xq4TlzOTIEmZ5M7U3fdRmg"
TARGET = SharePointTarget(tenant=DRIVE, parent_path="/Engagements/")


def test_an_engagement_is_a_folder_tagged_with_its_code() -> None:
    engagement = r.engagement(r.client()["id"])
    [item] = TARGET.items("engagement", engagement)
    assert item.entity == "folder" and item.key == "folder" and item.target_id is None
    assert item.payload == {
        "name": "ACME-2026-01 Finance transformation",
        "folder": {},
        "@microsoft.graph.conflictBehavior": "fail",
        "fields": {"EngagementCode": "ACME-2026-01"},
    }
    assert TARGET.parent_path == "Engagements"


def test_a_known_folder_is_renamed_rather_than_made_again() -> None:
    known = [
        xref("sharepoint", "driveItem", "01OTHER", "another-drive"),
        xref("sharepoint", "driveItem", "01BSJ7", DRIVE),
    ]
    [item] = TARGET.items("engagement", r.engagement(r.client()["id"], xrefs=known))
    assert item.target_id == "01BSJ7"


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("ACME/01", 'Phase 1: "Discovery" <draft>?', "ACME-01 Phase 1- -Discovery- -draft--"),
        ("A|B", "R&D #3 at 50% \\ more*", "A-B R&D -3 at 50- - more-"),
        ("X1", "trailing dots...  ", "X1 trailing dots"),
        ("~$X", "tmp", "-X tmp"),
        ("CON", "", "_CON"),
        ("COM1", "", "_COM1"),
        ("desktop.ini", "", "_desktop.ini"),
        ("Q_vti_1", "bin", "Q-vti-1 bin"),
        ("C1", "tab\there\x01now", "C1 tab here-now"),
    ],
)
def test_folder_names_avoid_what_sharepoint_refuses(code: str, name: str, expected: str) -> None:
    assert folder_name(code, name) == expected


def test_a_long_name_is_cut_without_a_trailing_space() -> None:
    name = folder_name("ENG-1", "word " * 60)
    assert len(name) <= 128 and not name.endswith(" ")


def test_no_folder_for_a_deleted_or_lost_engagement_or_one_without_a_code() -> None:
    client_id = r.client()["id"]
    assert TARGET.items("engagement", r.engagement(client_id, deleted=True)) == []
    assert TARGET.items("engagement", r.engagement(client_id, status="lost")) == []
    assert TARGET.items("engagement", r.engagement(client_id, code="  ")) == []
    assert TARGET.items("client", r.client()) == []
