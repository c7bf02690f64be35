"""Stripe Billing: invoices and credit notes from webhook events."""

from __future__ import annotations

from adapters.stripe.transport import StripeAdapter

ADAPTER = StripeAdapter()

__all__ = ["ADAPTER", "StripeAdapter"]
