"""NATS message headers parsed with a split instead of the email package.

nats-py parses the headers of every message it receives with `email.parser.BytesParser` (its
optional fast_mail_parser path returns each value as a list, which breaks `headers.get`). On
the ingest path that parse was about a tenth of the hub's CPU time (py-spy, ops/bench/ingest.py).
NATS headers are plain `Name: value` lines after the `NATS/1.0` status line, without folding
or MIME, so splitting them gives the same dictionary at a tenth of the cost.
"""

from __future__ import annotations

from typing import Any


class HeaderParser:
    """Stands in for the `BytesParser` nats-py keeps: `parsebytes(raw).items()`."""

    def parsebytes(self, raw: bytes) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in raw.split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if not colon:
                continue  # the blank line that ends the block, or a malformed line
            # Invalid UTF-8 becomes U+FFFD rather than surrogates that could not be stored.
            key = name.decode("utf-8", "replace").strip()
            if key:
                headers[key] = value.decode("utf-8", "replace").strip()
        return headers


def use_fast_headers(client: Any) -> None:
    """Makes a connected nats-py client parse headers with HeaderParser (a no-op for a client
    that keeps no such parser)."""
    if hasattr(client, "_hdr_parser"):
        client._hdr_parser = HeaderParser()
