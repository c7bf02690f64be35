"""Source-system ids in each system's own shape, drawn from a seeded stream."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from uuid import UUID

from domain.values import SourceRef

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SF_SUFFIX = string.ascii_uppercase + "012345"


def base62(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_BASE62) for _ in range(n))


def pattern(rng: random.Random, fmt: str) -> str:
    """Fills a format: '#' becomes a digit, '@' an upper-case letter."""
    return "".join(
        rng.choice(string.digits)
        if c == "#"
        else rng.choice(string.ascii_uppercase)
        if c == "@"
        else c
        for c in fmt
    )


def guid(rng: random.Random) -> str:
    return str(UUID(int=rng.getrandbits(128), version=4))


def salesforce_id(rng: random.Random, key_prefix: str) -> str:
    """An 18-character Salesforce id: key prefix, pod, record part, case-safe suffix."""
    short = key_prefix + "5g00000" + base62(rng, 5)
    suffix = ""
    for chunk in (short[0:5], short[5:10], short[10:15]):
        bits = sum(1 << i for i, c in enumerate(chunk) if c.isupper())
        suffix += _SF_SUFFIX[bits]
    return short + suffix


@dataclass(frozen=True, slots=True)
class Tenants:
    """The firm's accounts in each source system, and counters for sequential source ids."""

    salesforce: str
    harvest: str
    stripe: str
    stripe_prefix: str
    quickbooks: str
    xero: str
    confluence: str
    sharepoint_drive: str

    @classmethod
    def draw(cls, rng: random.Random) -> Tenants:
        return cls(
            salesforce=salesforce_id(rng, "00D"),
            harvest=pattern(rng, "1######"),
            stripe="acct_1" + base62(rng, 15),
            stripe_prefix=pattern(rng, "@@##@#@#"),
            quickbooks=pattern(rng, "9130###########"),
            xero=guid(rng),
            confluence=guid(rng),
            sharepoint_drive="b!" + base62(rng, 64),
        )

    def account(self, rng: random.Random) -> SourceRef:
        return SourceRef("salesforce", self.salesforce, "Account", salesforce_id(rng, "001"))

    def opportunity(self, rng: random.Random) -> SourceRef:
        return SourceRef("salesforce", self.salesforce, "Opportunity", salesforce_id(rng, "006"))

    def harvest_ref(self, type_: str, number: int) -> SourceRef:
        return SourceRef("harvest", self.harvest, type_, str(number))

    def billing_ref(self, system: str, rng: random.Random, credit: bool, number: int) -> SourceRef:
        """The billing system's id of an invoice or credit note (QuickBooks ids are counters)."""
        if system == "stripe":
            kind, prefix = ("credit_note", "cn_1") if credit else ("invoice", "in_1")
            return SourceRef("stripe", self.stripe, kind, prefix + base62(rng, 23))
        if system == "xero":
            return SourceRef("xero", self.xero, "CreditNote" if credit else "Invoice", guid(rng))
        return SourceRef(
            "quickbooks", self.quickbooks, "CreditMemo" if credit else "Invoice", str(number)
        )

    def confluence_page(self, rng: random.Random) -> SourceRef:
        return SourceRef("confluence", self.confluence, "page", pattern(rng, "3#########"))

    def drive_item(self, rng: random.Random) -> SourceRef:
        item = "01" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(32))
        return SourceRef("graph", self.sharepoint_drive, "driveItem", item)
