"""Usage statistics: counted in memory on the request path, written in batches.

``counter`` is what a request touches (a lock and a dict increment); ``recorder`` writes the
counts to PostgreSQL every few seconds and at shutdown through ``hub.data.usage``.
"""
