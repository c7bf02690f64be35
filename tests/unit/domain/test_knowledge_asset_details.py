"""Where a knowledge asset lives, who made it and which version it is: descriptive, given at
registration, and a metadata edit (a new version, a move) is a recorded change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from domain.errors import NegativeQuantityError, RuleViolationError
from domain.knowledge_asset import AssetKind, ContentHashes, KnowledgeAsset
from domain.values import SourceRef

AUTHOR = SourceRef("confluence", "acme.atlassian.net", "user", "712020:5f1e0c3b")


def asset(**details: object) -> KnowledgeAsset:
    return KnowledgeAsset.register(
        id=uuid4(),
        title="Engagement kick-off checklist",
        kind=AssetKind.PAGE,
        uri="https://acme.atlassian.net/wiki/spaces/PMO/pages/98304017",
        details=details,
    )


def test_where_it_lives_and_who_made_it_come_with_the_registration(
    check_replay: Callable[[Aggregate], None],
) -> None:
    page = asset(
        space_key="PMO",
        parent_id="98304001",
        author=AUTHOR,
        author_name="Jo Doe",
        created_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        revision=7,
        hashes=ContentHashes(quick_xor="aGVsbG8="),
    )
    assert len(page.pending_events) == 1
    assert (page.space_key, page.author, page.revision) == ("PMO", AUTHOR, 7)
    assert page.modified_by is None
    check_replay(page)


def test_a_new_version_alone_is_a_recorded_revision() -> None:
    page = asset(revision=7)
    page.collect_events()
    assert page.revise(revision=8, version_message="Fixed the RACI") == {
        "revision": 8,
        "version_message": "Fixed the RACI",
    }
    assert [type(e).__name__ for e in page.collect_events()] == ["Revised"]


def test_null_clears_a_person_and_their_name() -> None:
    page = asset(author=AUTHOR, author_name="Jo Doe")
    page.revise(author=None, author_name=None)
    assert (page.author, page.author_name) == (None, None)


def test_sizes_and_versions_are_non_negative_integers_and_instants_carry_a_zone() -> None:
    with pytest.raises(NegativeQuantityError):
        asset(size_bytes=-1)
    with pytest.raises(RuleViolationError):
        asset(revision="7")
    with pytest.raises(RuleViolationError):
        asset(modified_at=datetime(2026, 1, 5, 10, 0))
    with pytest.raises(RuleViolationError):
        asset(author="712020:5f1e0c3b")  # a person is a source reference


def test_content_hashes_need_a_digest() -> None:
    with pytest.raises(RuleViolationError):
        ContentHashes()
