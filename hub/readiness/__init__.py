"""Billing readiness: the process that makes accepted milestones billing-ready or opens a
case per failed check (domain/billing_readiness.py holds the checks)."""
