"""Client: registration, revisions, contacts, status and tombstones."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from domain.client import Client, ClientStatus, Contact
from domain.errors import InvalidCurrencyError, InvalidTransitionError, RuleViolationError
from domain.values import SourceRef

REF = SourceRef("salesforce", "org1", "Account", "001A")


def make_client(**overrides: object) -> Client:
    fields: dict[str, object] = {
        "id": uuid4(),
        "legal_name": " Acme Ltd ",
        "country": "GB",
        "billing_currency": "GBP",
        "xrefs": [REF],
    }
    fields.update(overrides)
    return Client.register(**fields)  # type: ignore[arg-type]


def test_registers_an_active_client_with_a_trimmed_legal_name() -> None:
    client = make_client(tax_id=" GB123 ")
    assert client.status == ClientStatus.ACTIVE
    assert client.legal_name == "Acme Ltd"
    assert client.tax_id == "GB123"
    assert client.xrefs == [REF]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [("legal_name", " ", "required"), ("country", "GBR", "iso3166"), ("country", "gb", "iso3166")],
)
def test_refuses_invalid_registration_attributes(field: str, value: str, rule: str) -> None:
    with pytest.raises(RuleViolationError) as err:
        make_client(**{field: value})
    assert err.value.rule == rule
    assert err.value.field == field


def test_refuses_an_invalid_billing_currency() -> None:
    with pytest.raises(InvalidCurrencyError):
        make_client(billing_currency="US$")


def test_refuses_a_contact_without_a_name_or_with_a_bad_email() -> None:
    with pytest.raises(RuleViolationError):
        Contact(name=" ")
    with pytest.raises(RuleViolationError) as err:
        Contact(name="Ann", email="not-an-email")
    assert err.value.rule == "email"


def test_revise_records_only_what_changed() -> None:
    client = make_client()
    client.collect_events()
    assert client.revise(legal_name="Acme Ltd", country="FR") == {"country": "FR"}
    events = client.collect_events()
    assert len(events) == 1 and events[0].changes == {"country": "FR"}
    assert client.revise(country="FR") == {}
    assert client.collect_events() == []


def test_refuses_to_revise_attributes_that_are_not_revisable() -> None:
    with pytest.raises(RuleViolationError) as err:
        make_client().revise(status="closed")
    assert err.value.rule == "not_revisable"


def test_refuses_to_revise_a_closed_client() -> None:
    client = make_client()
    client.close()
    with pytest.raises(InvalidTransitionError):
        client.revise(legal_name="New")


def test_replaces_contacts_only_when_they_differ() -> None:
    client = make_client()
    client.collect_events()
    contacts = [Contact(name="Ann", email="ann@acme.example")]
    client.replace_contacts(contacts)
    client.replace_contacts(contacts)
    assert client.contacts == contacts
    assert len(client.collect_events()) == 1


def test_moves_between_active_inactive_and_closed() -> None:
    client = make_client()
    client.deactivate()
    assert client.status == ClientStatus.INACTIVE
    client.activate()
    client.close()
    with pytest.raises(InvalidTransitionError):
        client.activate()
    with pytest.raises(InvalidTransitionError):
        client.deactivate()
    client.reopen()
    assert client.status == ClientStatus.ACTIVE
    with pytest.raises(InvalidTransitionError):
        client.reopen()


def test_only_an_active_client_takes_new_engagements() -> None:
    client = make_client()
    client.check_can_take_engagement()
    client.deactivate()
    with pytest.raises(RuleViolationError) as err:
        client.check_can_take_engagement()
    assert err.value.rule == "client_active"


def test_a_deleted_client_cannot_be_revised_until_restored() -> None:
    client = make_client()
    client.delete("source_deleted")
    client.delete("again")  # idempotent
    assert client.deleted and client.deleted_reason == "source_deleted"
    with pytest.raises(RuleViolationError) as err:
        client.revise(legal_name="X")
    assert err.value.rule == "deleted"
    client.restore()
    client.revise(legal_name="X")
    assert not client.deleted


def test_adds_a_cross_reference_once() -> None:
    client = make_client()
    client.collect_events()
    other = SourceRef("netsuite", "acct", "customer", "77")
    client.add_xref(other)
    client.add_xref(SourceRef("netsuite", "acct", "CUSTOMER", "77"))
    assert client.xrefs == [REF, other]
    assert len(client.collect_events()) == 1


def test_replays_to_the_same_state(check_replay: Callable[[Client], None]) -> None:
    client = make_client(contacts=[Contact(name="Ann")])
    client.revise(legal_name="Acme Group")
    client.replace_contacts([Contact(name="Bob", email="bob@acme.example")])
    client.add_xref(SourceRef("xero", "t", "Contact", "c1"))
    client.deactivate()
    client.activate()
    client.close()
    client.reopen()
    client.delete()
    client.restore()
    check_replay(client)


def test_merges_contacts_by_source_id_and_ignores_an_older_change() -> None:
    client = Client.register(
        id=uuid4(), legal_name="Merge plc", country="GB", billing_currency="GBP"
    )
    client.merge_contacts([Contact("Ann", source_id="003A", version="2026-01-02")])
    client.merge_contacts([Contact("Bob", source_id="003B", version="2026-01-02")])
    client.merge_contacts([Contact("Ann Old", source_id="003A", version="2026-01-01")])
    assert [c.name for c in client.contacts] == ["Ann", "Bob"]
    client.merge_contacts([Contact("Ann New", source_id="003A", version="2026-01-03")])
    client.merge_contacts(removals=[("003B", "2026-01-05")])
    assert [c.name for c in client.contacts] == ["Ann New"]


def test_refuses_to_merge_a_contact_without_its_source_id() -> None:
    client = Client.register(
        id=uuid4(), legal_name="Merge plc", country="GB", billing_currency="GBP"
    )
    with pytest.raises(RuleViolationError):
        client.merge_contacts([Contact("Nobody")])
