"""Co-creation rules: data requests, showcases, reports and community contributions.

The pure modules (``text``, ``errors``, ``area``, ``contributions``, ``provenance``) import
nothing of the hub, so ``hub.query`` (statements) and ``hub.data`` (execution) may use their
types. Two modules are the one place in ``hub`` allowed to reach ``etl`` (the house's arrow
"Cocreation -> ETL: one publish pipeline"): ``arrival`` checks a proposed record with the
same preparation a file gets, and ``publishing`` turns accepted contributions into the next
version through :func:`etl.pipeline.publish_dataset`. Routes call these, never ``etl``.
"""
