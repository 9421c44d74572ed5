"""The whole-catalogue bundle: every current version in one zip, with checksums.

Layout of ``catalogue.zip``::

    catalogue.json                  datasets, versions, files with bytes and sha256
    <id>-v<n>/datapackage.json      the version's Data Package descriptor
    <id>-v<n>/data/<resource>.csv   its CSV files (the same bytes as download.csv)
    SHA256SUMS                      ``sha256sum -c`` compatible list of every other member

The bundle is rebuilt when the set of current versions changes (its ``state`` is a hash of
(dataset, version, content hash) for all of them) and replaced atomically in the store.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.catalog import PublishedVersion
from hub.export import datapackage
from hub.export.build import Manifest, VersionExporter
from hub.export.formats import member_name, resource_name, version_group
from hub.storage import ArtifactStore

BUNDLE_GROUP = "_catalogue/bundle"
BUNDLE_NAME = "catalogue.zip"
BUNDLE_MANIFEST = "bundle.json"
URL_PATH = "/v1/downloads/catalogue.zip"


@dataclass(frozen=True)
class Bundle:
    state: str
    bytes: int
    sha256: str
    created_at: str
    versions: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "bytes": self.bytes, "sha256": self.sha256,
                "created_at": self.created_at, "url_path": URL_PATH,
                "media_type": "application/zip",
                "versions": [{"dataset": d, "version": v} for d, v in self.versions]}


def catalogue_state(current: list[tuple[dict[str, Any], PublishedVersion]]) -> str:
    key = "\n".join(sorted(f"{v.dataset_id}:{v.version}:{v.content_sha256}"
                           for _d, v in current))
    return hashlib.sha256(key.encode()).hexdigest()


class _HashingZipEntry:
    """Copy a stream into a zip member while hashing it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)
        self.target.write(chunk)


def read_bundle(store: ArtifactStore) -> Bundle | None:
    if not store.exists(BUNDLE_GROUP, BUNDLE_MANIFEST):
        return None
    data = orjson.loads(store.read_text(BUNDLE_GROUP, BUNDLE_MANIFEST))
    return Bundle(data["state"], data["bytes"], data["sha256"], data["created_at"],
                  tuple((v["dataset"], v["version"]) for v in data["versions"]))


def ensure_bundle(
    exporter: VersionExporter, current: list[tuple[dict[str, Any], PublishedVersion]],
) -> Bundle:
    """The bundle of ``current`` (dataset row, version) pairs, built when out of date."""
    store = exporter.store
    state = catalogue_state(current)
    found = read_bundle(store)
    if found is not None and found.state == state:
        return found
    manifests = [(d, v, exporter.ensure(d, v)) for d, v in current]
    with store.lock(BUNDLE_GROUP):
        found = read_bundle(store)
        if found is not None and found.state == state:
            return found
        return _build(store, state, manifests)


def _build(store: ArtifactStore, state: str,
           manifests: list[tuple[dict[str, Any], PublishedVersion, Manifest]]) -> Bundle:
    staging = store.stage(BUNDLE_GROUP)
    try:
        sums: list[tuple[str, str]] = []
        listing = []
        when = datetime.now(UTC).timetuple()[:6]
        with staging.open_write(BUNDLE_NAME) as out, zipfile.ZipFile(
            out, "w", compression=zipfile.ZIP_DEFLATED
        ) as zf:
            for dataset, version, manifest in sorted(manifests,
                                                     key=lambda m: m[1].dataset_id):
                folder = f"{version.dataset_id}-v{version.version}"
                resources = []
                for layer_name in version.layer_names:
                    key = None if layer_name == version.main_layer else layer_name
                    csv = manifest.find("csv", key)
                    assert csv is not None
                    name = resource_name(version.dataset_id, layer_name, version.main_layer)
                    path = f"data/{name}.csv"
                    resources.append(datapackage.resource(version.layer(layer_name), name,
                                                          path, csv.bytes, csv.sha256,
                                                          title=layer_name))
                    entry = zipfile.ZipInfo(f"{folder}/{path}", date_time=when)
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    with zf.open(entry, "w", force_zip64=True) as target:
                        sink = _HashingZipEntry(target)
                        for chunk in store.open_range(
                            version_group(version.dataset_id, version.version),
                            member_name("csv", key),
                        ):
                            sink.write(chunk)
                    sums.append((sink.digest.hexdigest(), f"{folder}/{path}"))
                described = orjson.dumps(datapackage.descriptor(dataset, version, resources),
                                         option=orjson.OPT_INDENT_2)
                zf.writestr(zipfile.ZipInfo(f"{folder}/datapackage.json", date_time=when),
                            described, compress_type=zipfile.ZIP_DEFLATED)
                sums.append((hashlib.sha256(described).hexdigest(),
                             f"{folder}/datapackage.json"))
                listing.append({"dataset": version.dataset_id, "version": version.version,
                                "content_sha256": version.content_sha256,
                                "folder": folder,
                                "files": [a.to_dict() for a in manifest.artifacts]})
            catalogue = orjson.dumps({"state": state, "datasets": listing},
                                     option=orjson.OPT_INDENT_2)
            zf.writestr(zipfile.ZipInfo("catalogue.json", date_time=when), catalogue,
                        compress_type=zipfile.ZIP_DEFLATED)
            sums.append((hashlib.sha256(catalogue).hexdigest(), "catalogue.json"))
            zf.writestr(zipfile.ZipInfo("SHA256SUMS", date_time=when),
                        "".join(f"{h}  {n}\n" for h, n in sums),
                        compress_type=zipfile.ZIP_DEFLATED)
        digest = hashlib.sha256()
        size = 0
        with staging.open_read(BUNDLE_NAME) as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
        bundle = Bundle(state, size, digest.hexdigest(), datetime.now(UTC).isoformat(),
                        tuple((v.dataset_id, v.version) for _d, v, _m in manifests))
        with staging.open_write(BUNDLE_MANIFEST) as handle:
            handle.write(orjson.dumps(bundle.to_dict()))
        staging.commit()
        return bundle
    except BaseException:
        staging.abort()
        raise
