"""Billing runs: invoice drafts per engagement and service period (README, Billing run)."""
