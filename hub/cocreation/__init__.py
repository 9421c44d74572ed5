"""Co-creation: the hub's doors into the catalogue for people with keys.

The one package of ``hub`` that may import ``etl``: an HTTP upload (and, later, accepted
contributions) enter the catalogue only through the one publish pipeline
(``etl.pipeline.publish_dataset``), called from :mod:`hub.cocreation.publishing`. The routes in
``hub.api`` call this package and never ``etl`` themselves.
"""
