"""A city file published over a version that has community rows: keep or drop them, as the
dataset declares (``[community] on_city_publish``, :data:`hub.catalog.COMMUNITY_ON_CITY_PUBLISH`),
and never silently: the publish report gets a warning naming the rows kept, replaced by the
file, or dropped.

:class:`CityFileWithCommunity` wraps the file's :class:`~etl.pipeline.RowSource`. With
``keep`` the community rows whose keys the file lacks are prepared from their cells (the same
preparation) and appended after the file's rows; a key the file has is the city's from then
on. After preparing, :attr:`provenance` says which rows of the new version are community rows
(the pipeline reads it, see :func:`etl.pipeline.publish_dataset`).

This module imports ``etl`` (allowed for ``hub.cocreation`` only: see the package docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from etl.pipeline import PublishOptions, References, RowSource
from etl.prepare import Prepared, prepare_table
from etl.publish import Progress
from etl.read import RawTable
from etl.report import Issue
from hub.catalog import DatasetDefinition
from hub.cocreation.provenance import carried, credited


@dataclass
class CityFileWithCommunity:
    """``file`` plus what happens to the current version's community rows (``community``:
    record key -> text cells; ``previous``: the current version's provenance)."""

    file: RowSource
    community: dict[str, dict[str, str]]
    previous: dict[str, Any]
    rule: str
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.file.name

    def prepare(self, definition: DatasetDefinition, options: PublishOptions, *,
                references: References | None, progress: Progress | None) -> Any:
        prepared = self.file.prepare(definition, options, references=references,
                                     progress=progress)
        if not isinstance(prepared, Prepared) or not self.community:
            return prepared
        key_field = definition.schema.primary_key[0]
        in_file = {str(k) for k in prepared.frame[key_field].dropna()}
        replaced = sorted(k for k in self.community if k in in_file)
        missing = [k for k in self.community if k not in in_file]
        report = prepared.report
        if replaced:
            report.add(_note(report.file, "community-replaced",
                             f"{len(replaced)} community row(s) now come from the file, "
                             f"which has their keys: {', '.join(replaced)}"))
        if self.rule == "drop":
            if missing:
                report.add(_note(report.file, "community-dropped",
                                 f"{len(missing)} community row(s) dropped, as [community] "
                                 f"on_city_publish = \"drop\" says: {', '.join(missing)}"))
            return prepared
        if not missing:
            return prepared
        report.add(_note(report.file, "community-kept",
                         f"{len(missing)} community row(s) kept, as [community] "
                         f"on_city_publish = \"keep\" says: {', '.join(missing)}"))
        kept = prepare_table(definition, _cells_table(definition, {
            k: self.community[k] for k in missing}, len(prepared.frame)))
        for issue in kept.report.issues:
            report.add(issue)
        self.provenance = credited(carried(self.previous, missing), [], {}, [])
        return _appended(prepared, kept)


CommunityRows = tuple[dict[str, dict[str, str]], dict[str, Any]]


def city_source(definition: DatasetDefinition, file: RowSource,
                community: CommunityRows | None) -> RowSource:
    """The row source for a city file: ``file`` itself, or, when the current version has
    community rows (``community``: their cells and the version's provenance, from
    ``hub.data.contributions.Contributions.community_rows``), the file wrapped to keep or drop
    them as the dataset declares. Every door that publishes a city file uses it."""
    if community is None or definition.raw.get("format", "table") != "table":
        return file
    rows, provenance = community
    return CityFileWithCommunity(file, rows, provenance, definition.community_on_city_publish)


def _note(file: str, rule: str, message: str) -> Issue:
    return Issue(file=file, row=None, column=None, field=None, value=None, rule=rule,
                 message=message, severity="warning")


def _cells_table(definition: DatasetDefinition, rows: dict[str, dict[str, str]],
                 after: int) -> RawTable:
    headers = list(definition.schema.field_names)
    frame = pd.DataFrame({h: [r.get(h, "") for r in rows.values()] for h in headers},
                         dtype=object)
    return RawTable(source_name="community rows", source_sha256="", encoding="utf-8",
                    delimiter=None, headers=headers, frame=frame,
                    source_rows=np.arange(after + 1, after + 1 + len(frame)))


def _appended(first: Prepared, second: Prepared) -> Prepared:
    geometry = None
    if first.geometry_wkt is not None and second.geometry_wkt is not None:
        geometry = pd.concat([first.geometry_wkt, second.geometry_wkt], ignore_index=True)
    return Prepared(
        definition=first.definition, raw=first.raw,
        frame=pd.concat([first.frame, second.frame], ignore_index=True),
        geometry_wkt=geometry,
        search_fields=first.search_fields,
        source_rows=np.concatenate([first.source_rows, second.source_rows]),
        report=first.report)
