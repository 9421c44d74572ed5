"""Catalogue representations (pure): dataset and version rows -> JSON-ready dicts."""

from __future__ import annotations

from typing import Any


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
        "licence": row["licence"],
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
        ],
    }


def version_summary(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    detail = version_detail(row, base_url)
    detail.pop("schema")
    return detail
