"""The text each golden record is found by: its names and codes, folded (accents and case
removed) in Python when the record is written, and searched with LIKE through a pg_trgm index.

Folding here rather than in SQL keeps PostgreSQL free of the `unaccent` extension and makes
the stored text and the query go through one function.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

# Which record fields hold each collection's names and codes, in the order they are stored.
# `?name=` and `?q=` search them; a field a record does not have (yet) is skipped.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "client": ("legal_name", "trading_name"),
    "engagement": ("name", "code"),
    "contract": ("name",),
    "rate_card": ("name",),
    "resource": ("name",),
    "time_entry": ("task",),
    "expense": ("category",),
    "milestone": ("name",),
    "invoice": ("number",),
    "knowledge_asset": ("title",),
}

# `?code=` is an exact match on the collection's code column, where it has one.
CODE_COLUMNS: dict[str, str] = {"engagement": "code", "invoice": "number"}

# Below this many characters a query has no trigram of its own to look up: it matches the
# start of a word instead (which the index still serves, through the padded word-start
# trigrams pg_trgm keeps for every word).
MIN_SUBSTRING = 3
# Stored between fields: queries are folded to single spaces, so no pattern spans two fields.
SEPARATOR = " \n "

# Letters that carry no combining mark to strip (NFKD leaves them whole), as people type them.
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "\N{LATIN SMALL LETTER DOTLESS I}": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "n",
    }
)


def fold(text: str) -> str:
    """Returns text without accents, in case-folded form, its whitespace runs one space."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.translate(_LETTERS).split())


def search_text(entity: str, record: Mapping[str, Any]) -> str:
    """The folded names and codes of a record, each after a space (a word start)."""
    values = [fold(str(record[f])) for f in TEXT_FIELDS[entity] if record.get(f)]
    values = [v for v in values if v]
    return " " + SEPARATOR.join(values) if values else ""


def like_pattern(folded: str) -> str:
    """The LIKE pattern of a folded query: a substring, or a word start if it is short."""
    literal = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if len(folded) < MIN_SUBSTRING:
        return f"% {literal}%"
    return f"%{literal}%"
