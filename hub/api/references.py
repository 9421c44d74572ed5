"""The catalogue-backed :class:`~hub.query.params.ReferenceResolver` for ``near_route`` /
``near_stop``.

The parser reads ``<feed>[@<version>]:<id>`` and the radius; finding which table holds the
feed's stops, and whether the route or stop has any located stop, needs the database, so it
happens here, behind the resolver the routes pass to the parser. The result is a
:class:`NearSet` inside the one :class:`FeatureQuery`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from hub.data import Data, NotFound
from hub.data.transit import count_references
from hub.query.model import NearSet, UnknownReference
from hub.query.params import NearReference
from hub.query.transit import route_stops_reference, stop_reference


@dataclass(frozen=True)
class CatalogueReferences:
    """Resolves references against the published catalogue (``conn``: the request's own
    connection, when it holds one)."""

    data: Data
    conn: Connection | None = None

    def near_set(self, reference: NearReference, radius_m: float) -> NearSet:
        param, key = reference.parameter, reference.key
        try:
            stops = self.data.layer(reference.dataset_id, reference.version, "stops", self.conn)
            if param == "near_route":
                stop_times = self.data.layer(reference.dataset_id, reference.version,
                                             "stop_times", self.conn)
                selection = route_stops_reference(stops.table(), stop_times.table(), key)
            else:
                selection = stop_reference(stops.table(), key)
        except NotFound as exc:
            raise UnknownReference(f"parameter '{param}': {exc}", param) from None
        if count_references(self.data.read_engine, selection) == 0:
            what = "route" if param == "near_route" else "stop"
            raise UnknownReference(
                f"parameter '{param}': {what} '{key}' has no located stops in dataset "
                f"'{reference.dataset_id}' version {stops.version}", param)
        return NearSet(selection, radius_m, "nearest_stop_id", "nearest_stop_name",
                       content_sha256=stops.content_sha256,
                       pinned=reference.version is not None,
                       dataset_id=stops.dataset_id, version=stops.version)
