"""Co-creation: data requests, showcases, reports, contributions to records, and the doors by
which people's work enters the catalogue.

The rule modules are pure (no database, no HTTP, nothing of the hub imported): ``requests``
is the status machine of a data request and its decline reasons; ``showcases`` the kinds and
decisions of a reuse; ``reports`` when an item is hidden; ``contributions`` what a
contribution to a dataset's records is and how it is decided; ``provenance`` what a version
says about where its rows came from; ``text`` what text and limits are accepted from anyone;
``images`` which uploads are images; ``area`` which geometries a request may name; ``errors``
the refusals (mapped to problem+json in ``hub.api.errors``). So ``hub.query`` (statements),
``hub.data`` (execution) and ``hub.serialise`` may use their types.

The modules that reach ``etl`` are the exception, and the only ones in ``hub`` that may (the
house's arrow "Cocreation -> ETL: one publish pipeline"): :mod:`hub.cocreation.publishing`
(an HTTP upload, through ``etl.pipeline.publish_dataset``), :mod:`~hub.cocreation.arrival`
(a proposed record checked by the file's own preparation),
:mod:`~hub.cocreation.contribution_publishing` (accepted contributions into the next version,
through the same pipeline), :mod:`~hub.cocreation.city_publish` (a city file over community
rows) and :mod:`~hub.cocreation.submission` (body -> stored row). The routes in ``hub.api``
call them and never ``etl`` themselves.
"""
