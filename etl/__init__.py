"""ETL: read messy municipal files, normalise, validate, load into immutable versions, publish.

Imports only ``hub.settings``, ``hub.db`` and ``hub.catalog`` from the hub package.
"""
