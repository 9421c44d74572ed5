"""The JSON landing document of ``/`` for API clients (a browser gets the portal instead)."""

from __future__ import annotations

from typing import Any


def landing_document(base: str) -> dict[str, Any]:
    """Where to go next: the native API, OpenAPI, docs, OGC, DCAT and CKAN surfaces."""
    return {
        "title": "Co-Creation Hub",
        "links": [
            {"rel": "data", "href": f"{base}/v1/datasets", "type": "application/json"},
            {"rel": "service-desc", "href": f"{base}/openapi.json",
             "type": "application/vnd.oai.openapi+json;version=3.1"},
            {"rel": "service-doc", "href": f"{base}/docs", "type": "text/html"},
            {"rel": "alternate", "href": f"{base}/", "type": "text/html",
             "title": "Portal (catalogue, dataset pages)"},
            {"rel": "alternate", "href": f"{base}/ogc", "type": "application/json",
             "title": "OGC API - Features"},
            {"rel": "describedby", "href": f"{base}/catalog.jsonld",
             "type": "application/ld+json", "title": "DCAT-AP 3 catalogue"},
            {"rel": "alternate", "href": f"{base}/api/3/action/package_list",
             "type": "application/json", "title": "CKAN Action API (read)"},
        ],
    }
