"""A feed item's digest is what earlier versions wrote to the ledger, for any payload: a
digest that changed would send every item out again after an upgrade or a rebuild."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from projections.feeds.digest import legacy_payload_hash, payload_hash


class Kind(enum.StrEnum):
    TIME = "time"


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.text(alphabet=st.characters(max_codepoint=0x9F))  # control characters and DEL
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.just(UTC))
    | st.dates()
    | st.uuids()
    | st.just(Kind.TIME)
)
payloads = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=8), inner, max_size=5)
        | st.dictionaries(st.integers(), inner, max_size=3)
    ),
    max_leaves=30,
)


@given(payloads)
def test_the_digest_is_the_one_earlier_versions_kept(payload: object) -> None:
    assert payload_hash(payload) == legacy_payload_hash(payload)


def test_a_target_payload() -> None:
    payload = {
        "Type": "ACCREC",
        "Contact": {"ContactID": UUID("6a1b3f4e-0000-4000-8000-000000000001")},
        "Date": date(2026, 12, 4),
        "LineItems": [{"Description": "Beratung für Müller", "UnitAmount": Decimal("150.00")}],
        "Updated": datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        "Quantity": 7.5,
        "Rate": 1e-05,
    }
    assert payload_hash(payload) == legacy_payload_hash(payload)
    assert payload_hash({"b": 1, "a": 2}) == payload_hash({"a": 2, "b": 1})
