"""Co-creation: data requests, showcases, reports, and the doors by which people's work
enters the catalogue.

The rule modules are pure (no database, no HTTP, nothing of the hub imported): ``requests``
is the status machine of a data request and its decline reasons; ``showcases`` the kinds and
decisions of a reuse; ``reports`` when an item is hidden; ``text`` what text and limits are
accepted from anyone; ``images`` which uploads are images; ``area`` which geometries a request
may name; ``errors`` the refusals (mapped to problem+json in ``hub.api.errors``). So
``hub.query`` (statements) and ``hub.data`` (execution) may use their types.

:mod:`hub.cocreation.publishing` is the exception, and the only module of ``hub`` that may
import ``etl``: an HTTP upload (and accepted contributions) enter the catalogue only through
the one publish pipeline (``etl.pipeline.publish_dataset``). The routes in ``hub.api`` call
it and never ``etl`` themselves.
"""
