"""From a contribution body to the row that is stored: the steps shared by the HTTP route and
``hub demo``'s example, in one place.

parse the body -> find the record it corrects or removes -> prepare its values like a file
(:mod:`hub.cocreation.arrival`) -> look for near duplicates -> the values to store. Nothing is
written here; a refusal raises before the caller stores anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hub.catalog import DatasetDefinition, PublishedVersion
from hub.cocreation.arrival import PENDING_KEY, check_arrival
from hub.cocreation.contributions import InvalidContribution, Problem, Proposal


class RecordLookup(Protocol):
    """What a submission reads (``hub.data.contributions.Contributions`` provides it)."""

    def record_cells(self, version: PublishedVersion, key: str) -> dict[str, str] | None: ...

    def near_duplicates(self, version: PublishedVersion, dataset_id: str, wkt: str,
                        name: str | None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Submission:
    values: dict[str, Any]
    geometry_wkt: str | None


def submission(definition: DatasetDefinition, version: PublishedVersion, proposal: Proposal,
               lookup: RecordLookup, *, key_id: int | None, example: bool = False
               ) -> Submission:
    """The row to store for ``proposal`` against the current ``version``, or
    :class:`InvalidContribution` (nothing is stored)."""
    current = None
    if proposal.key is not None:
        current = lookup.record_cells(version, proposal.key)
        if current is None:
            raise InvalidContribution([Problem(
                "key", "unknown-key", f"version {version.version} of '{definition.id}' has "
                f"no record with key '{proposal.key}'")])
    common = {"dataset_id": definition.id, "kind": proposal.kind,
              "base_version": version.version, "sent": proposal.sent(),
              "comment": proposal.comment, "source": proposal.source,
              "display_name": proposal.display_name, "licence": definition.licence.id,
              "key_id": key_id, "example": example}
    if proposal.kind == "removal":
        return Submission({**common, "record_key": proposal.key, "reason": proposal.reason,
                           "previous": current or {}}, None)
    arrival = check_arrival(definition, proposal, current)
    key = proposal.key
    if proposal.kind == "new":
        key_field = definition.schema.primary_key[0]
        key = arrival.record.get(key_field)
        if key != PENDING_KEY and lookup.record_cells(version, str(key)) is not None:
            raise InvalidContribution([Problem(
                f"feature.properties.{key_field}", "key-exists",
                f"a record with key '{key}' exists; propose a correction to it instead")])
        key = None if key == PENDING_KEY else str(key)
    duplicates: list[dict[str, Any]] = []
    if proposal.kind == "new" and arrival.geometry_wkt is not None:
        duplicates = lookup.near_duplicates(version, definition.id, arrival.geometry_wkt,
                                            arrival.name_folded)
    return Submission({**common, "record_key": key, "proposed": arrival.changed,
                       "previous": arrival.previous, "name_folded": arrival.name_folded,
                       "warnings": arrival.warnings, "duplicates": duplicates},
                      arrival.geometry_wkt)
