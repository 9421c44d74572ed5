"""Serialisers: pure functions from query results to response bytes, keyed by media type."""
