"""Co-creation rules: data requests, showcases, reports. Pure, no database and no HTTP.

``requests`` is the status machine of a data request and its decline reasons; ``showcases``
the kinds and decisions of a reuse; ``reports`` when an item is hidden; ``text`` what text
and limits are accepted from anyone; ``images`` which uploads are images; ``area`` which
geometries a request may name; ``errors`` the refusals (mapped to problem+json in
``hub.api.errors``). Like ``hub.people`` this package imports nothing of the hub, so
``hub.query`` (statements) and ``hub.data`` (execution) may use its types.
"""
