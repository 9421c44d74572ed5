"""Change feed representations (pure): JSON events and an Atom (RFC 4287) feed for people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def change_event(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """One publish/withdraw event as JSON."""
    dataset_id, number = row["dataset_id"], row["version"]
    url = f"{base_url}/v1/datasets/{dataset_id}/versions/{number}"
    event: dict[str, Any] = {
        "id": row["id"],
        "kind": row["kind"],
        "dataset": dataset_id,
        "title": {"ja": row.get("title_ja"), "en": row.get("title_en")},
        "version": number,
        "at": _iso(row["at"]),
        "row_count": row.get("row_count"),
        "links": [{"rel": "version", "href": url, "type": "application/json"}],
    }
    if row["kind"] == "publish":
        event["previous_version"] = row.get("previous_version")
        event["counts"] = {"added": row.get("added"), "removed": row.get("removed"),
                           "changed": row.get("changed")}
        if row.get("previous_version"):
            event["links"].append({
                "rel": "diff", "type": "application/json",
                "href": f"{base_url}/v1/datasets/{dataset_id}/versions/"
                        f"{row['previous_version']}/diff/{number}"})
    else:
        event["reason"] = row.get("reason")
    return event


def _summary(event: dict[str, Any]) -> str:
    if event["kind"] == "withdraw":
        return f"Version {event['version']} withdrawn: {event.get('reason') or ''}"
    counts = event["counts"]
    changed = "" if counts["changed"] is None else f", {counts['changed']} changed"
    return (f"Version {event['version']} published: {event['row_count']} rows "
            f"({counts['added']} added, {counts['removed']} removed{changed}).")


def atom_feed(events: list[dict[str, Any]], *, self_url: str, base_url: str,
              next_url: str | None = None) -> bytes:
    """RFC 4287 Atom feed of change events (as made by :func:`change_event`)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "Co-Creation Hub: catalogue changes"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base_url}/v1/changes"
    updated = max((e["at"] for e in events), default=datetime.now(UTC).isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "Co-Creation Hub"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url,
                  type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{base_url}/v1/changes",
                  type="application/json")
    if next_url:
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="next", href=next_url,
                      type="application/atom+xml")
    for event in events:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        title = event["title"].get("en") or event["dataset"]
        verb = "published" if event["kind"] == "publish" else "withdrawn"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = (
            f"{title} ({event['dataset']}) version {event['version']} {verb}")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{base_url}/v1/changes/{event['id']}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = event["at"]
        ET.SubElement(entry, f"{{{ATOM}}}category", term=event["kind"])
        for link in event["links"]:
            rel = "alternate" if link["rel"] == "version" else "related"
            ET.SubElement(entry, f"{{{ATOM}}}link", rel=rel, href=link["href"],
                          type=link["type"])
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = _summary(event)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
