"""Ingest: canonical change events from NATS into the event store, exactly once in effect."""
