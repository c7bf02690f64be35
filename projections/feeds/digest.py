"""The digest of a feed item's payload: what tells a feed that an item changed, and what the
ledger keeps of what was published and delivered.

Written with orjson, byte for byte what the `json` module wrote before it (sorted keys, no
spaces, `default=str`, ASCII only): digests kept in the ledger by earlier versions must still
match, or every item would go out again after an upgrade or a rebuild. The stdlib encoder was
a twentieth of a feeds worker's CPU (ops/bench/feeds.py --profile). Where orjson's text would
differ, the payload is encoded with `json` as before: any character beyond ASCII or DEL
(`json` escapes them), and floats that `json` writes in another form (1e-05 as 0.00001, 1e-07
as 1e-7). NaN cannot reach a payload: records are JSON-ready (pydantic writes it as null)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    # Given to `default` (str), as `json` did, rather than written in orjson's own format.
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
# A small float orjson writes otherwise than `json`: 0.0000..., or a negative exponent of one
# digit after a digit (a string holding such text only costs the slower encoding). The
# expression starts with its literal, which re finds fast: with the digit before it, it took
# four times orjson's time on a payload holding a UUID.
_SHORT_EXPONENT = re.compile(rb"e-\d(?!\d)")
_DIGITS = b"0123456789"


def payload_hash(payload: Any) -> str:
    try:
        text = orjson.dumps(payload, default=str, option=_OPTIONS)
    except TypeError:  # an integer beyond 64 bits, a key not a str (`json` sorts those apart)
        return legacy_payload_hash(payload)
    if (
        not text.isascii()
        or b"\x7f" in text
        or b"0.0000" in text
        or any(text[m.start() - 1] in _DIGITS for m in _SHORT_EXPONENT.finditer(text))
    ):
        return legacy_payload_hash(payload)
    return hashlib.sha256(text).hexdigest()


def legacy_payload_hash(payload: Any) -> str:
    """The digest as earlier versions computed it: the definition the fast path keeps to."""
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
