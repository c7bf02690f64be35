"""Confluence: pages as knowledge assets, from page webhooks."""

from __future__ import annotations

from adapters.confluence.transport import ConfluenceAdapter

ADAPTER = ConfluenceAdapter()

__all__ = ["ADAPTER", "ConfluenceAdapter"]
