"""Deterministic ids: the same natural key or source record always gives the same id."""

from __future__ import annotations

from uuid import uuid5

from domain.ids import PSHUB_NAMESPACE, natural_id, source_id
from domain.values import SourceRef


def test_a_natural_key_always_gives_the_same_id() -> None:
    assert natural_id("client", "ACME") == natural_id("client", "ACME")
    assert natural_id("client", "ACME") != natural_id("engagement", "ACME")


def test_a_slash_inside_a_key_part_does_not_collide_with_two_parts() -> None:
    # A SharePoint path or a tenant with a "/" must not land on another record's id.
    assert natural_id("client", "a", "b") != natural_id("client", "a/b")
    assert natural_id("client", "a%2Fb") != natural_id("client", "a/b")
    left = SourceRef("graph", "drive/1", "driveItem", "x")
    right = SourceRef("graph", "drive", "driveItem", "1/x")
    assert source_id("knowledge_asset", left) != source_id("knowledge_asset", right)


def test_keys_without_separators_keep_their_ids() -> None:
    assert natural_id("client", "ACME") == uuid5(PSHUB_NAMESPACE, "client/ACME")


def test_a_source_record_gives_the_same_id_whatever_the_case_of_its_type() -> None:
    ref = SourceRef("harvest", "acct-1", "TimeEntry", "636709355")
    again = SourceRef("harvest", "acct-1", "time_entry".replace("_", ""), "636709355")
    assert source_id("time_entry", ref) == source_id("time_entry", again)


def test_tenants_and_entities_keep_ids_apart() -> None:
    ref = SourceRef("quickbooks", "realm-1", "Invoice", "1047")
    other_tenant = SourceRef("quickbooks", "realm-2", "Invoice", "1047")
    assert source_id("invoice", ref) != source_id("invoice", other_tenant)
    assert source_id("invoice", ref) != source_id("client", ref)
