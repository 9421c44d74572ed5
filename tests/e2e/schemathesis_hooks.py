"""Schemathesis hooks for the fuzz test (loaded through ``SCHEMATHESIS_HOOKS``).

Each rule here covers values whose validity OpenAPI cannot state, so a generated one the hub
rightly refuses (400) is not a disagreement between the document and the API. Everything
else in the same requests is still generated and checked, and only values the schema allows
are mapped: a value generated to break the schema is sent as it is and must be refused. The
rules, and the tests that hold the refusals instead, are listed in docs/security.md
("Fuzzing").
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import schemathesis

from hub.cocreation.text import URL_PATTERN
from hub.query.ogc_params import NUMBER

# Tokens the hub mints in its own `next` links (records, diffs, requests, OGC items); no
# client makes one up. Paging with real and forged cursors: tests/api.
MINTED_BY_THE_HUB = ("cursor",)
# Records: `near`, `near_route` and `near_stop` exclude each other, and a route or stop needs
# a `radius`; OpenAPI 3.1 has no way to relate query parameters.
REFERENCES = ("near", "near_route", "near_stop")
RADIUS = "300"
# Records: `sort` and `fields` name fields of the dataset, which the generic path cannot
# list (tests/api holds them); a geometry (GeoJSON or WKT, valid, inside the world) is not
# JSON Schema: the fuzzer sends the documented examples.
NAMES_FIELDS = ("sort", "fields")
GEOMETRIES = {"within": "POLYGON ((135.18 34.68, 135.21 34.68, 135.21 34.70, 135.18 34.68))",
              "intersects": "LINESTRING (135.18 34.69, 135.21 34.69)"}
# Widest coordinate of a bbox, per CRS: longitude/latitude degrees, or Web Mercator metres.
MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
WORLD = {MERCATOR: 20037508.34}


def _text(value: Any) -> bool:
    """Whether a generated value is text the schema allows (NUL is refused everywhere): only
    those are mapped, so a value generated to break the schema is still sent as it is."""
    return isinstance(value, str) and "\x00" not in value


@schemathesis.hook
def map_query(_context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    """The generated query with each rule above applied: minted values and field names left
    out, one reference kept (with a radius for a route or stop), geometries replaced, near
    and bbox inside the world, bbox corners and datetime ends in order.
    Mapping, not filtering: the fuzzer's budget goes to requests that are sent."""
    if not query:
        return query
    query = {name: value for name, value in query.items()
             if not (name in MINTED_BY_THE_HUB + NAMES_FIELDS and _text(value))}
    references = [name for name in REFERENCES if query.get(name)]
    for extra in references[1:]:
        if _text(query[extra]):
            del query[extra]
    if references and references[0] != "near" and query.get("radius") is None:
        query["radius"] = RADIUS
    for name, example in GEOMETRIES.items():
        if _text(query.get(name)):
            query[name] = example
    if _text(query.get("near")):
        query["near"] = _near_inside_the_world(query["near"])
    if query.get("bbox") is not None:
        query["bbox"] = _ordered_box(query["bbox"], query.get("bbox-crs"))
    if _text(query.get("datetime")):
        query["datetime"] = _ordered_interval(query["datetime"])
    return query


def _numbers(values: list[Any]) -> list[float] | None:
    """Numbers as the schema writes them (JSON numbers, or text of the `NUMBER` form, whose
    exponent may pass what a float holds: 0.5e772 is a number, out of every range), else
    None: a value generated to break the schema stays as it is."""
    if not all((isinstance(v, int | float) and not isinstance(v, bool))
               or (isinstance(v, str) and re.fullmatch(NUMBER, v)) for v in values):
        return None
    return [float(v) for v in values]


def _near_inside_the_world(near: str) -> str:
    """`lat,lon` with latitude in -90..90 and longitude in -180..180 (ranges the pattern
    of two numbers does not state); anything else stays as generated."""
    numbers = _numbers(near.split(","))
    if numbers is None or len(numbers) != 2:
        return near
    lat, lon = numbers
    return f"{max(-90.0, min(90.0, lat))!r},{max(-180.0, min(180.0, lon))!r}"


def _ordered_interval(interval: str) -> str:
    """A `start/end` interval whose start is not after its end, whether the collection's
    field holds days or instants; one the two readings order differently keeps only its
    start (`start/..`). Instants and open ends stay as generated."""
    start, slash, end = interval.partition("/")
    if not slash or start in ("", "..") or end in ("", ".."):
        return interval
    try:
        first, last = _moment(start), _moment(end)
    except ValueError:
        return interval
    days = (start[:10], end[:10])  # the days as written, which a date field compares
    if days[0] <= days[1] and first <= last:
        return interval
    if days[0] >= days[1] and first >= last:
        return f"{end}/{start}"
    return f"{start}/.."


def _moment(text: str) -> datetime:
    """An RFC 3339 day or date-time as an instant (a day without an offset at midnight UTC,
    as the datetime field's bound compares it)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ordered_box(bbox: Any, crs: Any) -> Any:
    """A bbox's corners ordered (min before max on each axis) and inside the world: rules
    between array items that OpenAPI 3.0 cannot write on a form-style array (the API refuses
    the others with a 400 naming the rule). Anything that is not four or six finite numbers
    stays as generated: the schema forbids it and the API refuses it."""
    as_list = isinstance(bbox, list)
    numbers = _numbers(bbox if as_list else str(bbox).split(","))
    if numbers is None or len(numbers) not in (4, 6):
        return bbox
    limit = WORLD.get(str(crs), 90.0)
    numbers = [max(-limit, min(limit, n)) for n in numbers]
    half = len(numbers) // 2
    low, high = numbers[:half], numbers[half:]
    ordered = ([min(a, b) for a, b in zip(low, high, strict=True)]
               + [max(a, b) for a, b in zip(low, high, strict=True)])
    return ordered if as_list else ",".join(repr(n) for n in ordered)


# A webhook URL must resolve to a public address when it is subscribed (the SSRF guard,
# hub.webhooks.targets): a fact about DNS, not about the document. Generated URLs go to the
# fuzz hub's own receiver address, which its settings allow.
WEBHOOK_TARGET = "http://127.0.0.1:9/hub-events"


# Only a URL the schema allows is replaced (as schemathesis reads the pattern), so one
# generated to break it is still sent and refused.
_SUBSCRIBABLE = jsonschema_rs.validator_for({"type": "string", "pattern": URL_PATTERN})


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    operation = getattr(context, "operation", None)
    if (operation is not None and operation.path == "/v1/webhooks"
            and operation.method.upper() == "POST" and isinstance(body, dict)
            and _SUBSCRIBABLE.is_valid(body.get("url"))):
        return {**body, "url": WEBHOOK_TARGET}
    return body


# A dataset definition is sent as its TOML text (the schema is a string), which goes on the
# wire as it is, like text/plain; schemathesis has no TOML serializer of its own.
schemathesis.serializer.alias("application/toml", "text/plain")


# The fuzzer's own admin key must stay valid for the whole run: a revocation aimed at it
# goes to the spare key instead (the test numbers the admin key where generators do not
# draw, so this covers an id read back from a key listing). Every other id, valid or not,
# is sent as generated, so the schema's refusals are still tested.
OWN_KEY, SPARE_KEY = os.environ.get("HUB_FUZZ_ADMIN_KEY"), os.environ.get("HUB_FUZZ_SPARE_KEY")


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None
                        ) -> dict[str, Any] | None:
    operation = getattr(context, "operation", None)
    if (operation is None or operation.path != "/v1/keys/{key_id}" or not path_parameters
            or OWN_KEY is None):
        return path_parameters
    key_id = str(path_parameters.get("key_id"))
    # As the route reads it (`{key_id:int}`: ASCII digits, leading zeros allowed).
    if re.fullmatch("[0-9]+", key_id) and int(key_id) == int(OWN_KEY):
        return {**path_parameters, "key_id": SPARE_KEY}
    return path_parameters
