"""Xero accounting: sales invoices and credit notes, fetched on key-only webhooks."""

from __future__ import annotations

from adapters.xero.transport import XeroAdapter

ADAPTER = XeroAdapter()

__all__ = ["ADAPTER", "XeroAdapter"]
