"""Import an organisation's packages from a CKAN portal into the hub, so a city can move over.

For each package of the organisation that has a CSV resource:

1. download the CSV (size-capped) into a staging folder;
2. infer a Table Schema from it, conservatively: a column is ``integer`` or ``number`` only
   when every non-empty value is one (codes with leading zeros stay strings); everything else
   is a ``string``; the original header is kept as the field's title so the normal header
   matching finds it; latitude/longitude columns become the geometry;
3. write ``<datasets_dir>/<id>/dataset.toml`` (titles, notes, organisation, licence, tags,
   where it came from) and ``<schemas_dir>/ckan-<id>.json``, moved into place only once the
   file is published (or, without an engine, prepares cleanly);
4. publish it through the one publish pipeline (:func:`etl.pipeline.publish_dataset`, when
   an engine is given), from the cells read in step 2: the file is read once.

Packages whose dataset folder already exists are skipped (never overwritten).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pandas as pd
import requests
from sqlalchemy import Engine

from etl.ckan.client import CkanClient, CkanError, scrub
from hub.catalog import DATASET_ID, RESERVED_COLUMNS, DatasetDefinition, Licence

PullStatus = Literal["published", "imported", "planned", "exists", "skipped", "failed"]
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
LATITUDE_HEADERS = {"緯度", "lat", "latitude", "y", "緯度(世界測地系)"}
LONGITUDE_HEADERS = {"経度", "lon", "lng", "long", "longitude", "x", "経度(世界測地系)"}
_INTEGER = re.compile(r"^[+-]?(0|[1-9][0-9]*)$")
_NUMBER = re.compile(r"^[+-]?(0|[1-9][0-9]*)?(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


@dataclass
class PullItem:
    """The outcome for one CKAN package."""

    package: str
    status: PullStatus
    dataset_id: str | None = None
    message: str = ""
    version: int | None = None
    rows: int | None = None
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def dataset_id_for(package_name: str) -> str:
    """A hub dataset id for a CKAN package name (CKAN allows ``_``; hub ids do not)."""
    candidate = re.sub(r"[^a-z0-9-]+", "-", package_name.lower()).strip("-")[:63]
    if not DATASET_ID.match(candidate):
        candidate = "ckan-" + hashlib.sha1(package_name.encode()).hexdigest()[:10]
    return candidate


def field_name(header: str, index: int, taken: set[str]) -> str:
    """A schema field name for a CSV header: ASCII slug when there is one, else ``col_<n>``."""
    text = unicodedata.normalize("NFKC", header).strip().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    name = slug if slug and slug[0].isalpha() and len(slug) <= 60 else f"col_{index + 1}"
    if name in RESERVED_COLUMNS:
        name = f"{name}_"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def infer_type(values: pd.Series) -> str:
    """``integer``, ``number`` or ``string``; only when every non-empty value agrees."""
    cells = values.astype(str).map(lambda v: unicodedata.normalize("NFKC", v).strip())
    cells = cells[cells != ""]
    if cells.empty:
        return "string"
    cells = cells.str.replace(",", "", regex=False) if cells.str.fullmatch(
        r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?").any() else cells
    if cells.str.fullmatch(_INTEGER).all():
        return "integer"
    # a leading zero before other digits marks a code ("012.5" is not a measurement)
    if (cells.str.fullmatch(_NUMBER).all() and cells.str.contains(r"\d").all()
            and not cells.str.match(r"^[+-]?0\d").any()):
        return "number"
    return "string"


def infer_schema(headers: Sequence[str], frame: pd.DataFrame) -> tuple[dict[str, Any],
                                                                    dict[str, str] | None]:
    """A Table Schema for the file and, when it has one, its latitude/longitude fields."""
    taken: set[str] = set()
    fields = []
    lat = lon = None
    for index, header in enumerate(headers):
        name = field_name(header, index, taken)
        column = frame.iloc[:, index] if index < frame.shape[1] else pd.Series([], dtype=str)
        ftype = infer_type(column)
        entry: dict[str, Any] = {"name": name, "type": ftype}
        if header.strip():
            entry["title"] = header.strip()
            entry["synonyms"] = [header.strip()]
        fields.append(entry)
        key = unicodedata.normalize("NFKC", header).strip().lower()
        if ftype in ("number", "integer"):
            if key in LATITUDE_HEADERS and lat is None:
                lat = name
            elif key in LONGITUDE_HEADERS and lon is None:
                lon = name
    if lat and lon:
        for entry in fields:
            if entry["name"] in (lat, lon):
                entry["type"] = "number"
                entry["constraints"] = ({"minimum": -90, "maximum": 90} if entry["name"] == lat
                                        else {"minimum": -180, "maximum": 180})
    schema = {
        "$comment": "Generated by `hub ckan pull` from the CSV: types are conservative "
                    "(integer/number only when every value is one); review before relying on it.",
        "fields": fields,
        "missingValues": [""],
    }
    return schema, ({"latitude": lat, "longitude": lon} if lat and lon else None)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string (ensure_ascii=False) is a valid TOML basic string.
    return json.dumps(str(value), ensure_ascii=False)


def dataset_toml(values: Mapping[str, Any]) -> str:
    """A small TOML writer for dataset.toml: top-level keys, then one level of tables."""
    lines = ["# Imported from CKAN by `hub ckan pull`; edit freely (titles, licence, columns)."]
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    for key, value in values.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables.items():
        lines.append("")
        lines.append(f"[{name}]")
        for key, value in table.items():
            if value is not None:
                quoted = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)
                lines.append(f"{quoted} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def csv_resource(package: Mapping[str, Any]) -> dict[str, Any] | None:
    """The package's first CSV resource (by format, else by URL), or None."""
    resources = [r for r in package.get("resources") or [] if r.get("url")]
    for resource in resources:
        if str(resource.get("format") or "").strip().lower() == "csv":
            return dict(resource)
    for resource in resources:
        if urlsplit(str(resource["url"])).path.lower().endswith(".csv"):
            return dict(resource)
    return None


def download(url: str, target: Path, *, session: requests.Session, timeout_s: float,
             max_bytes: int = MAX_DOWNLOAD_BYTES, headers: dict[str, str] | None = None) -> str:
    """Stream ``url`` into ``target`` (capped); return the SHA-256 of the bytes."""
    digest = hashlib.sha256()
    size = 0
    with session.get(url, stream=True, timeout=timeout_s, headers=headers or {}) as response:
        response.raise_for_status()
        with target.open("wb") as out:
            for chunk in response.iter_content(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"{url}: larger than {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
    return digest.hexdigest()


def _filename(resource: Mapping[str, Any], dataset_id: str) -> str:
    name = Path(unquote(urlsplit(str(resource["url"])).path)).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    if not name.lower().endswith(".csv"):
        name = f"{dataset_id}.csv"
    return name


def _licence_table(licence: Licence) -> dict[str, str]:
    """The ``[licence]`` table of a pulled definition (keys without a value left out)."""
    table = {"id": licence.id, "note": licence.note, "title": licence.title,
             "url": licence.url}
    return {k: v for k, v in table.items() if v}


def _text(value: Any) -> str:
    return str(value).strip() if value else ""


def pull(
    client: CkanClient,
    organisation: str,
    *,
    datasets_dir: Path,
    schemas_dir: Path,
    engine: Engine | None = None,
    dry_run: bool = False,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    publisher: str = "ckan-pull",
    max_errors: int = 1000,
    on_item: Callable[[PullItem], None] | None = None,
) -> list[PullItem]:
    """Import every package of ``organisation`` that has a CSV resource (see module doc)."""
    org = client.call("organization_show", id=organisation, include_datasets=False)
    packages = client.search_all(f'+organization:"{org["name"]}"')
    items: list[PullItem] = []
    for package in packages:
        try:
            item = _pull_one(client, org, package, datasets_dir=datasets_dir,
                             schemas_dir=schemas_dir, engine=engine, dry_run=dry_run,
                             max_bytes=max_bytes, publisher=publisher, max_errors=max_errors)
        except (CkanError, requests.RequestException, ValueError, OSError) as exc:
            item = PullItem(str(package.get("name")), "failed",
                            dataset_id_for(str(package.get("name"))),
                            scrub(str(exc), client.api_key))
        items.append(item)
        if on_item:
            on_item(item)
    return items


def _pull_one(client: CkanClient, org: Mapping[str, Any], package: Mapping[str, Any], *,
              datasets_dir: Path, schemas_dir: Path, engine: Engine | None, dry_run: bool,
              max_bytes: int, publisher: str, max_errors: int) -> PullItem:
    from etl.pipeline import PublishOptions, ReadTableSource, publish_dataset
    from etl.read import read_table

    name = str(package["name"])
    dataset_id = dataset_id_for(name)
    resource = csv_resource(package)
    if resource is None:
        return PullItem(name, "skipped", dataset_id, "no CSV resource")
    target = datasets_dir / dataset_id
    if (target / "dataset.toml").exists():
        return PullItem(name, "exists", dataset_id,
                        f"{target / 'dataset.toml'} exists; not overwritten")
    if dry_run:
        return PullItem(name, "planned", dataset_id, f"would import {resource['url']}")
    schema_name = f"ckan-{dataset_id}.json"
    if (schemas_dir / schema_name).exists():
        return PullItem(name, "exists", dataset_id, f"{schemas_dir / schema_name} exists")
    with tempfile.TemporaryDirectory(prefix="hub-ckan-pull-") as tmp:
        staging = Path(tmp)
        (staging / "datasets" / dataset_id).mkdir(parents=True)
        (staging / "schemas").mkdir()
        filename = _filename(resource, dataset_id)
        csv_path = staging / "datasets" / dataset_id / filename
        # Files uploaded to CKAN itself may need the key; other hosts never see it.
        headers = {}
        if client.api_key and str(resource["url"]).startswith(client.url + "/"):
            headers["Authorization"] = client.api_key.get_secret_value()
        sha256 = download(str(resource["url"]), csv_path, session=client.session,
                          timeout_s=client.timeout_s, max_bytes=max_bytes, headers=headers)
        # Read once: the schema is inferred from this read, and the same cells are prepared
        # and published.
        raw = read_table(csv_path, compact=True)
        records = len(raw.frame)
        schema, geometry = infer_schema(raw.headers, raw.frame)
        (staging / "schemas" / schema_name).write_text(
            json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        extras = {e.get("key"): e.get("value") for e in package.get("extras") or []}
        title = _text(package.get("title")) or name
        values: dict[str, Any] = {
            "id": dataset_id,
            "schema": schema_name,
            "organisation": _text(org.get("title")) or str(org["name"]),
            "licence": _licence_table(Licence.from_ckan(package)),
            "keywords": [t["name"] for t in package.get("tags") or []],
            "title": {"ja": title, "en": _text(extras.get("title_en")) or title},
            "description": {"ja": _text(package.get("notes")),
                            "en": _text(package.get("notes"))},
        }
        if geometry:
            values["geometry"] = {"kind": "latlon", **geometry, "crs": 4326}
        values["source"] = {
            "file": filename,
            "url": str(resource["url"]),
            "sha256": sha256,
            "ckan_site": client.url,
            "ckan_package": name,
            "ckan_package_id": str(package.get("id", "")),
            "ckan_resource_id": str(resource.get("id", "")),
            "encoding": raw.encoding,
            "records": records,
        }
        toml_path = staging / "datasets" / dataset_id / "dataset.toml"
        toml_path.write_text(dataset_toml(values), encoding="utf-8")
        definition = DatasetDefinition.load(toml_path, staging / "schemas")
        # Published before its files move into place: a refused file leaves nothing behind,
        # and if the move fails the next pull finds no folder and tries again ("unchanged").
        outcome = publish_dataset(
            definition, ReadTableSource(raw),
            PublishOptions(dry_run=engine is None, max_errors=max_errors),
            engine=engine, publisher=publisher)
        if outcome.refused is not None:
            first = outcome.report.errors[0]
            return PullItem(name, "failed", dataset_id,
                            f"{len(outcome.report.errors)} validation error(s) in the CSV "
                            f"with the inferred schema, e.g. row {first.row} {first.column}: "
                            f"{first.message}")
        datasets_dir.mkdir(parents=True, exist_ok=True)
        schemas_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(staging / "schemas" / schema_name, schemas_dir / schema_name)
        shutil.copytree(staging / "datasets" / dataset_id, target)
    files = [str(target / "dataset.toml"), str(schemas_dir / schema_name), str(target / filename)]
    if outcome.result is None:
        return PullItem(name, "imported", dataset_id, "written; not published",
                        rows=records, files=files)
    return PullItem(name, "published", dataset_id,
                    "unchanged" if outcome.status == "unchanged" else f"version {outcome.version}",
                    version=outcome.version, rows=outcome.row_count, files=files)
