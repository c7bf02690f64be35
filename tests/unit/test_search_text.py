"""The search text of golden records: names folded (accents, case, spacing) the same way on
write and on query, and LIKE patterns in which the query's own characters are literal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.golden_records.search import SEPARATOR, fold, like_pattern, search_text


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Zürich Consulting AG", "zurich consulting ag"),
        ("ZÜRICH  consulting\tAG ", "zurich consulting ag"),
        ("Société Générale", "societe generale"),
        ("Straße", "strasse"),
        ("Ørsted A/S", "orsted a/s"),
        ("Łódź Sp. z o.o.", "lodz sp. z o.o."),
        ("Ærø Kommune", "aero kommune"),
        ("İstanbul", "istanbul"),
        ("Ｆｕｌｌwidth", "fullwidth"),  # noqa: RUF001 (the full-width letters are the point)
        ("São Paulo Ltda.", "sao paulo ltda."),
        ("株式会社 東京", "株式会社 東京"),
    ],
)
def test_folding_removes_accents_case_and_extra_spaces(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text(max_size=60))
def test_folding_is_idempotent_and_leaves_no_newline(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert "\n" not in once
    assert once == once.strip()


def test_search_text_puts_each_name_after_a_space_and_skips_missing_ones() -> None:
    text = search_text("engagement", {"name": "Zürich Roll-out", "code": "ENG-2026-001"})
    assert text == " zurich roll-out" + SEPARATOR + "eng-2026-001"
    assert search_text("client", {"legal_name": "Acme GmbH", "trading_name": None}) == (
        " acme gmbh"
    )
    assert search_text("invoice", {"number": None}) == ""
    assert search_text("client", {"legal_name": "Zürich AG", "trading_name": "ZüCo"}) == (
        " zurich ag" + SEPARATOR + "zuco"
    )


@pytest.mark.parametrize(
    ("query", "pattern"),
    [
        ("zur", "%zur%"),
        ("100%", "%100\\%%"),
        ("a_b", "%a\\_b%"),
        ("back\\slash", "%back\\\\slash%"),
        ("ag", "% ag%"),  # short: the start of a word
        ("%", "% \\%%"),
    ],
)
def test_like_patterns_escape_the_query_and_short_ones_match_a_word_start(
    query: str, pattern: str
) -> None:
    assert like_pattern(query) == pattern


@given(
    st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3),
    st.text(min_size=1, max_size=8),
)
def test_a_pattern_matches_exactly_the_texts_that_contain_the_folded_query(
    names: list[str], query: str
) -> None:
    folded = fold(query)
    if not folded:
        return
    stored = search_text("client", {"legal_name": names[0], "trading_name": " ".join(names)})
    # The same LIKE semantics as PostgreSQL's: % any run, _ one character, \ escapes.
    regex = ""
    chars = iter(like_pattern(folded))
    for ch in chars:
        if ch == "\\":
            regex += re.escape(next(chars))
        elif ch == "%":
            regex += ".*"
        elif ch == "_":
            regex += "."
        else:
            regex += re.escape(ch)
    matched = re.fullmatch(regex, stored, re.DOTALL) is not None
    fields = [fold(names[0]), fold(" ".join(names))]
    if len(folded) >= 3:
        expected = any(folded in f for f in fields)
    else:
        expected = any((" " + f).find(" " + folded) >= 0 for f in fields)
    assert matched == expected
