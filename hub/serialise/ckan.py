"""CKAN Action API (read side) representations, pure: catalogue entries -> CKAN 2.10/2.11
package, organisation, tag and search results, and the response envelope.

Organisation names and licence ids come from the same rules as ``hub ckan push``
(``hub.organisations``, ``hub.licences``), so a harvester reading the hub and one reading a
CKAN the hub pushed to see the same organisations, licences and formats. Search emulates
CKAN's Solr semantics for what clients use (``q`` words, ``fq`` on
organization/tags/res_format/license_id, sort, facets) over the package dicts: a city
catalogue has tens to hundreds of datasets.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from hub.catalog import Licence, ckan_tags, organisation_of
from hub.serialise.dcat import DatasetEntry, Distribution
from hub.textfold import fold_indexed, fold_query

NAMESPACE = uuid.UUID("6f1e8f5e-3c55-4e8b-9a43-6b1d8a6c0c11")  # ids are uuid5 of names
CKAN_VERSION = "2.10.4"
FORMAT_LABELS = {"csv": "CSV", "excel.csv": "CSV", "geojson": "GeoJSON", "parquet": "Parquet",
                 "gpkg": "GeoPackage", "zip": "ZIP"}
FACET_FIELDS = ("organization", "tags", "res_format", "license_id")


class ActionError(Exception):
    """A CKAN action error: ``kind`` is CKAN's ``__type`` (Not Found Error, Validation
    Error, ...), ``status`` the HTTP status CKAN uses for it."""

    def __init__(self, kind: str, message: str, status: int,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.status, self.fields = kind, message, status, fields or {}


def not_found(message: str = "Not found") -> ActionError:
    return ActionError("Not Found Error", message, 404)


def validation(field: str, message: str) -> ActionError:
    return ActionError("Validation Error", message, 409, {field: [message]})


def envelope(help_url: str, result: Any) -> dict[str, Any]:
    return {"help": help_url, "success": True, "result": result}


def error_envelope(help_url: str, error: ActionError) -> dict[str, Any]:
    body: dict[str, Any] = {"__type": error.kind, "message": error.message}
    body.update(error.fields)
    return {"help": help_url, "success": False, "error": body}


def _id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def tag_id(name: str) -> str:
    return _id("tag", name)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    return str(value)


def organization(org_text: str, *, package_count: int | None = None,
                 created: Any = None) -> dict[str, Any]:
    org = organisation_of(org_text)
    result: dict[str, Any] = {
        "id": _id("organization", org.name), "name": org.name, "title": org.display,
        "display_name": org.display, "type": "organization", "description": "",
        "image_url": "", "image_display_url": "", "created": _iso(created),
        "is_organization": True, "approval_status": "approved", "state": "active",
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def resource(dist: Distribution, package_id: str, position: int, created: Any) -> dict[str, Any]:
    filename = dist.url.rsplit("/", 1)[-1]
    return {
        "id": _id("resource", dist.url), "package_id": package_id,
        "name": dist.title + (f" — {dist.layer}" if dist.layer else ""),
        "description": f"{dist.title}" + (f", layer {dist.layer}" if dist.layer else "")
                       + f" ({filename})",
        "format": FORMAT_LABELS.get(dist.format, dist.format.upper()),
        "mimetype": dist.media_type.split(";")[0].strip(),
        "url": dist.url, "url_type": None, "resource_type": None,
        "size": dist.bytes, "hash": f"sha256:{dist.sha256}" if dist.sha256 else "",
        "created": _iso(created), "last_modified": _iso(created), "metadata_modified":
            _iso(created), "position": position, "state": "active", "datastore_active": False,
        "cache_url": None, "mimetype_inner": None,
    }


def package(entry: DatasetEntry, base: str) -> dict[str, Any]:
    """A CKAN package for a dataset: resources are the current version's bulk files."""
    row = entry.row
    name = row["id"]
    package_id = _id("package", name)
    definition = row.get("definition") or {}
    source = definition.get("source") or {}
    licence = Licence.from_columns(row)
    published = entry.current.published_at or row["updated_at"]
    tags = ckan_tags(row.get("keywords"))
    resources = [resource(d, package_id, i, published)
                 for i, d in enumerate(entry.current.distributions)]
    notes = "\n\n".join(p for p in (row.get("description_ja"), row.get("description_en")) if p)
    extras = {
        "hub_dataset_id": name,
        "hub_version": str(entry.current.number),
        "hub_content_sha256": entry.current.content_sha256,
        "hub_url": f"{base}/v1/datasets/{name}",
        "hub_licence": licence.id,
        "title_en": row.get("title_en") or "",
        "notes_en": row.get("description_en") or "",
        "dcat": f"{base}/v1/datasets/{name}/dcat.jsonld",
        "ogc_collection": f"{base}/ogc/collections/{name}",
    }
    if entry.bbox:
        w, s, e, n = entry.bbox
        extras["spatial"] = json.dumps({"type": "Polygon", "coordinates": [
            [[w, s], [e, s], [e, n], [w, n], [w, s]]]})  # ckanext-spatial's convention
    org = organization(row["organisation"], created=row.get("created_at"))
    return {
        "id": package_id, "name": name, "title": row["title_ja"] or row["title_en"],
        "notes": notes, "url": source.get("url") or f"{base}/v1/datasets/{name}",
        "version": str(entry.current.number), "type": "dataset", "state": "active",
        "private": False, "isopen": licence.is_open,
        "license_id": licence.ckan_id,
        "license_title": licence.label, "license_url": licence.document_url or "",
        "author": row["organisation"], "author_email": None,
        "maintainer": row["organisation"], "maintainer_email": None,
        "metadata_created": _iso(row.get("created_at")),
        "metadata_modified": _iso(row.get("updated_at")),
        "creator_user_id": None,
        "owner_org": org["id"], "organization": org,
        "tags": [{"id": _id("tag", t), "name": t, "display_name": t, "state": "active",
                  "vocabulary_id": None} for t in tags],
        "num_tags": len(tags),
        "resources": resources, "num_resources": len(resources),
        "groups": [], "relationships_as_object": [], "relationships_as_subject": [],
        "extras": [{"key": k, "value": v} for k, v in sorted(extras.items())],
    }


# -- search ------------------------------------------------------------------------------------


def _fq_terms(fq: str) -> list[tuple[str, str, bool]]:
    """``organization:yaizu-city +tags:"AED" -res_format:CSV`` -> (field, value, negated)."""
    terms = []
    for match in re.finditer(r'([+-]?)([a-z_]+):("([^"]*)"|\S+)', fq or ""):
        sign, field, raw, quoted = match.groups()
        value = quoted if quoted is not None else raw
        terms.append((field, value, sign == "-"))
    leftovers = re.sub(r'([+-]?)([a-z_]+):("([^"]*)"|\S+)', "", fq or "")
    leftovers = re.sub(r"\b(AND|OR)\b|[()]", "", leftovers).strip()
    if leftovers:
        raise ActionError("Search Query Error",
                          f"Search Query Error: cannot parse fq {fq!r}; use field:value terms "
                          f"on {', '.join(FACET_FIELDS)}, name or id", 409)
    return terms


def _field_values(pkg: dict[str, Any], field: str) -> list[str]:
    match field:
        case "organization":
            return [pkg["organization"]["name"]]
        case "tags":
            return [t["name"] for t in pkg["tags"]]
        case "res_format":
            return sorted({r["format"] for r in pkg["resources"]})
        case "license_id":
            return [pkg["license_id"]]
        case "name" | "id" | "type" | "state":
            return [str(pkg[field])]
    raise ActionError("Search Query Error",
                      f"Search Query Error: unsupported field {field!r} in fq; supported: "
                      f"{', '.join((*FACET_FIELDS, 'name', 'id'))}", 409)


def _text_of(pkg: dict[str, Any]) -> str:
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    parts = [pkg["name"], pkg["title"], pkg["notes"], extras.get("title_en", ""),
             pkg["organization"]["name"], pkg["organization"]["title"],
             *(t["name"] for t in pkg["tags"]), *(r["format"] for r in pkg["resources"])]
    return " ".join(fold_indexed(p) for p in parts if p)


def _matches_q(pkg: dict[str, Any], q: str) -> bool:
    if not q or q.strip() in ("*:*", "*"):
        return True
    text = _text_of(pkg)
    for field, value, negated in _fq_terms_lenient(q):
        hit = value.lower() in (v.lower() for v in _field_values(pkg, field))
        if hit == negated:
            return False
    words = re.sub(r'([+-]?)([a-z_]+):("([^"]*)"|\S+)', "", q)
    for word in fold_query(words).split():
        if word in ("and", "or"):
            continue
        if word.strip('"') not in text:
            return False
    return True


def _fq_terms_lenient(q: str) -> list[tuple[str, str, bool]]:
    return [(f, v, n) for f, v, n in
            ((m.group(2), m.group(4) if m.group(4) is not None else m.group(3),
              m.group(1) == "-")
             for m in re.finditer(r'([+-]?)([a-z_]+):("([^"]*)"|\S+)', q))
            if f in (*FACET_FIELDS, "name", "id")]


SORTS = {
    "name": lambda p: p["name"], "title_string": lambda p: p["title"],
    "metadata_modified": lambda p: p["metadata_modified"] or "",
    "metadata_created": lambda p: p["metadata_created"] or "",
    "score": lambda p: 0,
}


def _sort(packages: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    spec = (sort or "score desc, metadata_modified desc").strip()
    keys: list[tuple[str, bool]] = []
    for part in spec.split(","):
        words = part.split()
        if not words:
            continue
        field = words[0]
        direction = words[1].lower() if len(words) > 1 else "asc"
        if field not in SORTS or direction not in ("asc", "desc"):
            raise ActionError("Search Query Error",
                              f"Search Query Error: cannot sort by {part.strip()!r}; use "
                              f"{', '.join(SORTS)} with asc or desc", 409)
        keys.append((field, direction == "desc"))
    ordered = sorted(packages, key=lambda p: p["name"])
    for field, descending in reversed(keys):
        ordered = sorted(ordered, key=SORTS[field], reverse=descending)
    return ordered


def search(packages: list[dict[str, Any]], *, q: str = "", fq: str = "", rows: int = 10,
           start: int = 0, sort: str | None = None, facet_fields: list[str] | None = None,
           facet_limit: int = 50) -> dict[str, Any]:
    """``package_search``'s result: count, results, facets and search_facets."""
    terms = _fq_terms(fq)
    matched = []
    for pkg in packages:
        if not _matches_q(pkg, q):
            continue
        if all((value.lower() in (v.lower() for v in _field_values(pkg, field))) != negated
               for field, value, negated in terms):
            matched.append(pkg)
    ordered = _sort(matched, sort)
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for field in facet_fields or []:
        if field not in FACET_FIELDS:
            raise validation("facet.field", f"unsupported facet field {field!r}; supported: "
                             f"{', '.join(FACET_FIELDS)}")
        counts: Counter[str] = Counter()
        titles: dict[str, str] = {}
        for pkg in matched:
            for value in _field_values(pkg, field):
                counts[value] += 1
                if field == "organization":
                    titles[value] = pkg["organization"]["title"]
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if facet_limit >= 0:
            top = top[:facet_limit]
        facets[field] = dict(top)
        search_facets[field] = {"title": field, "items": [
            {"name": name, "display_name": titles.get(name, name), "count": count}
            for name, count in top]}
    return {"count": len(matched), "results": ordered[start:start + rows],
            "facets": facets, "search_facets": search_facets, "sort": sort or
            "score desc, metadata_modified desc"}
