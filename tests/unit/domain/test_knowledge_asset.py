"""Knowledge asset: classification, links, and draft -> published -> archived."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from domain.errors import InvalidTransitionError, RuleViolationError
from domain.knowledge_asset import AssetKind, AssetStatus, Classification, KnowledgeAsset

S = AssetStatus


def make_asset(**overrides: object) -> KnowledgeAsset:
    fields: dict[str, object] = {
        "id": uuid4(),
        "title": "Pricing playbook",
        "kind": AssetKind.PAGE,
        "uri": "https://firm.atlassian.net/wiki/spaces/KB/pages/123",
    }
    fields.update(overrides)
    return KnowledgeAsset.register(**fields)  # type: ignore[arg-type]


def test_registers_an_internal_draft_by_default() -> None:
    asset = make_asset()
    assert asset.status == S.DRAFT
    assert asset.classification is Classification.INTERNAL


def test_accepts_kind_and_classification_as_plain_strings() -> None:
    asset = make_asset(kind="case_study", classification="confidential", client_id=uuid4())
    assert asset.kind is AssetKind.CASE_STUDY
    assert asset.classification is Classification.CONFIDENTIAL


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("classification", "secret", "enum"),
        ("kind", "video", "enum"),
        ("title", " ", "required"),
        ("uri", "not a uri", "uri"),
        ("uri", "", "required"),
        ("client_id", "acme", "required"),
    ],
)
def test_refuses_invalid_attributes(field: str, value: str, rule: str) -> None:
    with pytest.raises(RuleViolationError) as err:
        make_asset(**{field: value})
    assert err.value.rule == rule


def test_accepts_drive_and_file_uris() -> None:
    assert make_asset(uri="file:///shared/kb/template.docx").uri.startswith("file:")


def test_walks_draft_published_archived_and_back() -> None:
    asset = make_asset()
    asset.publish()
    assert asset.status == S.PUBLISHED
    asset.archive("superseded")
    assert asset.status == S.ARCHIVED
    asset.unarchive()
    assert asset.status == S.PUBLISHED


def test_refuses_transitions_out_of_order() -> None:
    asset = make_asset()
    with pytest.raises(InvalidTransitionError):
        asset.archive()
    with pytest.raises(InvalidTransitionError):
        asset.unarchive()
    asset.publish()
    with pytest.raises(InvalidTransitionError):
        asset.publish()


def test_revision_validates_and_coerces() -> None:
    asset = make_asset()
    asset.revise(classification="restricted", title=" New title ")
    assert asset.classification is Classification.RESTRICTED and asset.title == "New title"
    with pytest.raises(RuleViolationError):
        asset.revise(uri="nope")


def test_a_trashed_page_is_a_tombstone_that_can_be_restored() -> None:
    asset = make_asset()
    asset.delete("page_trashed")
    with pytest.raises(RuleViolationError):
        asset.publish()
    asset.restore()
    asset.publish()


def test_replays_to_the_same_state(check_replay: Callable[[KnowledgeAsset], None]) -> None:
    asset = make_asset(engagement_id=uuid4(), service_line="Advisory")
    asset.revise(kind=AssetKind.DELIVERABLE, classification=Classification.CONFIDENTIAL)
    asset.publish()
    asset.archive()
    asset.unarchive()
    check_replay(asset)
