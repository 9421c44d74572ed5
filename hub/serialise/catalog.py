"""Catalogue representations (pure): dataset and version rows -> JSON-ready dicts."""

from __future__ import annotations

from typing import Any

from hub.catalog import Licence
from hub.cocreation.provenance import summary as provenance_summary


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def dataset_summary(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    dataset_id = row["id"]
    url = f"{base_url}/v1/datasets/{dataset_id}"
    summary = {
        "id": dataset_id,
        "title": {"ja": row["title_ja"], "en": row["title_en"]},
        "description": {"ja": row["description_ja"], "en": row["description_en"]},
        "organisation": row["organisation"],
        "licence": Licence.from_columns(row).as_json(),
        "keywords": list(row["keywords"]),
        "current_version": row["current_version"],
        "updated_at": _iso(row["updated_at"]),
        "links": [
            {"rel": "self", "href": url, "type": "application/json"},
            {"rel": "versions", "href": f"{url}/versions", "type": "application/json"},
            {"rel": "records", "href": f"{url}/records", "type": "application/json"},
            {"rel": "records", "href": f"{url}/records?f=geojson", "type": "application/geo+json"},
            {"rel": "records", "href": f"{url}/records?f=csv", "type": "text/csv"},
        ],
    }
    if "row_count" in row and row.get("row_count") is not None:
        summary["row_count"] = row["row_count"]
        summary["bbox"] = row.get("bbox")
        summary["published_at"] = _iso(row.get("published_at"))
    return summary


def dataset_detail(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    detail = dataset_summary(row, base_url)
    definition = row.get("definition") or {}
    detail["source"] = definition.get("source", {})
    detail["created_at"] = _iso(row["created_at"])
    return detail


def version_detail(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    dataset_id, number = row["dataset_id"], row["version"]
    url = f"{base_url}/v1/datasets/{dataset_id}/versions/{number}"
    schema = row["schema"]
    return {
        "dataset": dataset_id,
        "version": number,
        "status": row["status"],
        "withdrawn_reason": row["withdrawn_reason"],
        "withdrawn_at": _iso(row.get("withdrawn_at")),
        "row_count": row["row_count"],
        "bbox": row["bbox"],
        "content_sha256": row["content_sha256"],
        "source": {"name": row["source_name"], "sha256": row["source_sha256"]},
        "publisher": row["publisher"],
        "published_at": _iso(row["published_at"]),
        "changes": row["change_summary"],
        "warning_count": len(row["warnings"] or []),
        "schema": {
            "fields": schema.get("fields", []),
            "primaryKey": schema.get("primaryKey", []),
            "geometry": bool(schema.get("x-geometry")),
        },
        "main_layer": row.get("main_layer", "records"),
        "layers": {
            name: {"row_count": info["row_count"], "bbox": info.get("bbox"),
                   "fields": [f["name"] for f in info["schema"].get("fields", [])],
                   "records": f"{url}/layers/{name}/records"}
            for name, info in sorted((row.get("layers") or {}).items())
        },
        "links": [
            {"rel": "self", "href": url, "type": "application/json"},
            {"rel": "records", "href": f"{url}/records", "type": "application/json"},
            {"rel": "dataset", "href": f"{base_url}/v1/datasets/{dataset_id}",
             "type": "application/json"},
            *download_links(url, bool(schema.get("x-geometry"))),
        ],
        "provenance": {**provenance_summary(row.get("provenance") or {}),
                       "href": f"{url}/provenance"},
        "citation": citation(row, base_url),
    }


# Bulk files of a version (see hub.export.formats; sizes and checksums: GET /v1/downloads).
DOWNLOAD_MEDIA_TYPES = {
    "csv": "text/csv", "excel.csv": "text/csv", "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet", "gpkg": "application/geopackage+sqlite3",
    "zip": "application/zip", "pmtiles": "application/vnd.pmtiles",
}
GEOMETRY_ONLY = ("pmtiles",)  # vector tiles exist for a layer with geometry only


def download_links(version_url: str, has_geometry: bool) -> list[dict[str, str]]:
    return [{"rel": "enclosure", "href": f"{version_url}/download.{ext}", "type": media}
            for ext, media in DOWNLOAD_MEDIA_TYPES.items()
            if has_geometry or ext not in GEOMETRY_ONLY]


def citation(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """How to cite this exact version: a ready-made APA-like text, a CFF-style dict and
    BibTeX, all naming the version, its date, its pinned URL and its content checksum."""
    dataset_id, number = row["dataset_id"], row["version"]
    title = row.get("title_en") or dataset_id
    title_ja = row.get("title_ja")
    publisher = row.get("organisation") or "Co-Creation Hub"
    published = row.get("published_at")
    date = published.date().isoformat() if hasattr(published, "date") else str(published)[:10]
    url = f"{base_url}/v1/datasets/{dataset_id}/versions/{number}"
    checksum = f"sha256:{row['content_sha256']}"
    full_title = title + (f" [{title_ja}]" if title_ja and title_ja != title else "")
    licence = Licence.from_columns(row)
    contributors = list((row.get("provenance") or {}).get("contributors") or [])
    credit = f". With community contributions by {', '.join(contributors)}" \
        if contributors else ""
    text = (f"{publisher}. ({date[:4]}). {full_title} (Version {number}) [Data set]. "
            f"Co-Creation Hub. {url} ({checksum}). Licence: {licence.label}{credit}")
    cff: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": full_title,
        "authors": [{"name": publisher}, *({"name": n} for n in contributors)],
        "version": str(number),
        "date-released": date,
        "url": url,
        "identifiers": [{"type": "other", "value": checksum,
                         "description": "SHA-256 of the version's normalised content"}],
    }
    # CFF's ``license`` accepts only ids on the SPDX list; other licences go by their URL.
    if licence.spdx_id:
        cff["license"] = licence.spdx_id
    elif licence.document_url:
        cff["license-url"] = licence.document_url
    key = f"{dataset_id.replace('-', '_')}_v{number}"
    note = f"Data set, {checksum}, licence {licence.spdx_id or licence.label}"
    authors = " and ".join([f"{{{publisher}}}", *contributors])
    bibtex = (f"@misc{{{key},\n  author = {{{authors}}},\n  title = {{{full_title}}},\n"
              f"  year = {{{date[:4]}}},\n  version = {{{number}}},\n  url = {{{url}}},\n"
              f"  note = {{{note}}}\n}}")
    return {"title": full_title, "publisher": publisher, "version": number, "date": date,
            "url": url, "checksum": checksum, "licence": licence.as_json(), "text": text,
            "contributors": contributors, "cff": cff, "bibtex": bibtex}


def version_summary(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    detail = version_detail(row, base_url)
    detail.pop("schema")
    return detail
