"""Where a version's rows came from: the city's file or the community.

A version's ``provenance`` (``hub.versions.provenance``) names only community rows; every row
it does not name came from the city. Kept beside the rows rather than as an extra column of
the version table, so the table stays exactly the schema's fields (its content hash, exports
and OGC items are those of the data) while the record routes, the diff and exports can still
say which rows came from whom::

    {"records": {"<key>": {"source": "community", "contributions": [12, 15],
                           "contributors": ["Aiko"]}},
     "contributions": [12, 15, 16],   # every contribution behind this version's rows
     "published": [15, 16],           # the ones this version published
     "removed": {"<key>": [16]},      # records this version removed on request
     "contributors": ["Aiko"]}        # whom the version and its citation credit

Display names are credited only where a contributor chose to give one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

COMMUNITY = "community"
CITY = "city"


def source_of(provenance: Mapping[str, Any], key: str) -> str:
    """``community`` or ``city`` for the record ``key`` of a version."""
    return COMMUNITY if key in (provenance.get("records") or {}) else CITY


def record_provenance(provenance: Mapping[str, Any], key: str) -> dict[str, Any]:
    """What a single record says about where it came from."""
    found = (provenance.get("records") or {}).get(key)
    if found is None:
        return {"source": CITY, "contributions": [], "contributors": []}
    return dict(found)


def carried(previous: Mapping[str, Any], keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The community records of ``previous`` whose keys are among ``keys`` (still present)."""
    present = set(keys)
    return {k: dict(v) for k, v in (previous.get("records") or {}).items() if k in present}


def credited(records: Mapping[str, Mapping[str, Any]], published: list[int],
             removed: Mapping[str, list[int]], removal_names: Iterable[str]) -> dict[str, Any]:
    """A version's provenance from its community records and what it published."""
    ids = {i for r in records.values() for i in r["contributions"]} | set(published)
    names = {n for r in records.values() for n in r["contributors"]} | set(removal_names)
    return {"records": dict(sorted(records.items())), "contributions": sorted(ids),
            "published": sorted(published), "removed": dict(sorted(removed.items())),
            "contributors": sorted(names)}


def summary(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """What a version's metadata says about its community rows (the per-record detail is at
    ``.../provenance``)."""
    return {"community_records": len(provenance.get("records") or {}),
            "contributions": list(provenance.get("contributions") or []),
            "published_contributions": list(provenance.get("published") or []),
            "contributors": list(provenance.get("contributors") or [])}


def annotate_changes(changes: list[dict[str, Any]], key: list[str],
                     provenance: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Diff entries (of a diff *to* a version with ``provenance``) with the provenance of each
    row: where an added or changed row came from, and which contributions removed a row."""
    if len(key) != 1:
        return changes
    removed = provenance.get("removed") or {}
    annotated = []
    for change in changes:
        record_key = str((change.get("key") or {}).get(key[0]))
        if change.get("change") == "removed":
            ids = removed.get(record_key)
            origin = ({"source": COMMUNITY, "contributions": ids} if ids
                      else {"source": CITY, "contributions": []})
        else:
            origin = record_provenance(provenance, record_key)
        annotated.append({**change, "provenance": origin})
    return annotated
