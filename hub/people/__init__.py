"""People on the hub: who is acting (keys, scopes, principals) and what they may do.

Pure rules only, no database and no HTTP: ``tokens`` makes and hashes secrets, ``scopes``
names what a key may do, ``principal`` decides whether a caller may do it, ``durations``
reads ``90d``-style expiries. Storage lives in ``hub.query.people`` (statements) and
``hub.data.people`` (execution); HTTP in ``hub.api.auth`` and ``hub.api.people``; counting
requests in ``hub.api.ratelimit``.
"""
