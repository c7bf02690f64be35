"""QuickBooks Online: invoices, fetched on key-only webhooks (CloudEvents or legacy)."""

from __future__ import annotations

from adapters.quickbooks.transport import QuickBooksAdapter

ADAPTER = QuickBooksAdapter()

__all__ = ["ADAPTER", "QuickBooksAdapter"]
