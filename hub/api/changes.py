"""Version diffs and the catalogue's change feed (JSON, CSV, Atom)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from hub.api.bounds import MAX_ID, MAX_VERSION
from hub.api.caching import LATEST_CACHE, conditional, representation, version_tags
from hub.api.deps import BaseUrlDep, DataDep, SettingsDep
from hub.api.paging import next_link_header, next_page_url
from hub.cocreation.provenance import annotate_changes
from hub.data.changes import ChangeFeed
from hub.data.diffs import Diffs
from hub.query.model import PageLimits, QueryError
from hub.serialise.diffs import diff_csv
from hub.serialise.feeds import atom_feed, change_event

router = APIRouter(prefix="/v1", tags=["changes"])

ATOM_TYPE = "application/atom+xml"
VersionNumber = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number.")]


def encode_after(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_after(cursor: str) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise QueryError("cursor is not valid; use the 'next' link as given", "cursor") from None
    if not isinstance(values, list) or not values:
        raise QueryError("cursor is not valid; use the 'next' link as given", "cursor")
    return values


def _wants(request: Request, explicit: str | None, media: str, name: str) -> bool:
    if explicit is not None:
        return explicit == name
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip().lower() == media for part in accept.split(","))


@router.get("/datasets/{dataset_id}/versions/{a}/diff/{b}",
            summary="Row-level changes from version a to version b",
            responses={200: {"content": {"text/csv": {}}}})
def version_diff(
    dataset_id: str, a: VersionNumber, b: VersionNumber, request: Request, data: DataDep,
    settings: SettingsDep, base: BaseUrlDep,
    limit: Annotated[int, Query(ge=1, description="Changes per page; a larger value than "
                                "HUB_MAX_LIMIT gets pages of that size.")] = 100,
    cursor: Annotated[str | None, Query(description="From the `next` link.")] = None,
    layer: Annotated[str | None, Query(description="Compare this layer instead of the "
                                                   "main one.")] = None,
    f: Annotated[str | None, Query(description="`json` (default) or `csv`.",
                                   json_schema_extra={"enum": ["json", "csv"]})] = None,
) -> Response:
    """Added, removed and changed rows (with the changed fields' old and new values) by
    primary key; whole rows when the versions share no primary key. Keyset-paged."""
    if f not in (None, "json", "csv"):
        raise QueryError("f must be json or csv", "f")
    limit = PageLimits.from_settings(settings, "clamp").checked(limit)
    old = data.layer(dataset_id, a, layer)
    new = data.layer(dataset_id, b, layer)
    as_csv = _wants(request, f, "text/csv", "csv")
    content = hashlib.sha256(f"{old.content_sha256}:{new.content_sha256}".encode()).hexdigest()
    # Both versions are pinned, so the diff between them never changes.
    validator = representation(content, request, "diff/csv" if as_csv else "diff/json",
                               pinned=True,
                               tags=(*version_tags(dataset_id, old.version, pinned=True),
                                     *version_tags(dataset_id, new.version, pinned=True)))

    def diff_page() -> Response:
        after = decode_after(cursor) if cursor else None
        page = Diffs(data.read_engine).page(old, new, after=after, limit=limit,
                                       with_summary=cursor is None)
        next_url = None
        if page.next_after is not None:
            next_url = next_page_url(f"{base}{request.url.path}",
                                     request.query_params.multi_items(),
                                     encode_after(page.next_after))
        if as_csv:
            key_columns = list(page.plan.key) or ["_row", "version"]
            response = Response(diff_csv(page.changes, key_columns),
                                media_type="text/csv; charset=utf-8")
        else:
            body: dict[str, Any] = {
                "dataset": dataset_id, "from": a, "to": b, "layer": layer or old.main_layer,
                "by": page.plan.by, "key": list(page.plan.key),
                "schema": {"fields_added": list(page.plan.fields_added),
                           "fields_removed": list(page.plan.fields_removed),
                           "fields_retyped": list(page.plan.fields_retyped)},
            }
            if page.summary is not None:
                body["summary"] = page.summary
            body["changes"] = page.changes
            if layer in (None, new.main_layer):  # provenance names main-layer rows
                body["changes"] = annotate_changes(page.changes, list(page.plan.key),
                                                   new.meta.get("provenance") or {})
            body["links"] = [{"rel": "self", "href": str(request.url),
                              "type": "application/json"}]
            if next_url:
                body["links"].append({"rel": "next", "href": next_url,
                                      "type": "application/json"})
            response = Response(orjson.dumps(body), media_type="application/json")
        if next_url:
            response.headers["Link"] = next_link_header(next_url)
        return response

    return conditional(request, validator, diff_page)


def _since(value: str | None) -> tuple[int | None, datetime | None]:
    if value is None or value == "":
        return None, None
    if value.isascii() and value.isdigit() and int(value) <= MAX_ID:
        return int(value), None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise QueryError("since must be a change id (integer) or an ISO 8601 timestamp, "
                         f"not {value!r}", "since") from None
    if moment.tzinfo is None:
        raise QueryError("since needs a time zone (e.g. 2026-01-01T00:00:00Z)", "since")
    return None, moment


Since = Annotated[str | None, Query(description="A change id (events after it) or an ISO "
                                                "8601 timestamp with zone (events at or "
                                                "after it).",
                                    examples=["42", "2026-01-01T00:00:00Z"],
                                    json_schema_extra={"anyOf": [
                                        {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                                        {"type": "string", "format": "date-time"},
                                        {"type": "string", "maxLength": 0}]})]
DatasetFilter = Annotated[str | None, Query(description="Only this dataset's events.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Events per page.")]


@router.get("/changes", summary="Publish and withdraw events across the catalogue",
            responses={200: {"content": {ATOM_TYPE: {}}}})
def changes_feed(request: Request, data: DataDep, base: BaseUrlDep, since: Since = None,
                 dataset: DatasetFilter = None, limit: Limit = 100) -> Response:
    """Oldest first after `since`; follow `next` (or keep the last id and poll with
    `since=<id>`). `Accept: application/atom+xml` gives the Atom feed."""
    if _wants(request, None, ATOM_TYPE, "atom"):
        return changes_atom(request, data, base, since, dataset, limit)
    after_id, moment = _since(since)
    rows, more = ChangeFeed(data.read_engine).page(after_id=after_id, since=moment,
                                              dataset_id=dataset, limit=limit)
    events = [change_event(r, base) for r in rows]
    links = [{"rel": "self", "href": str(request.url), "type": "application/json"},
             {"rel": "alternate", "href": f"{base}/v1/changes.atom", "type": ATOM_TYPE}]
    last = events[-1]["id"] if events else after_id
    if more:
        params = {k: v for k, v in (("dataset", dataset), ("limit", str(limit))) if v}
        params["since"] = str(last)
        links.append({"rel": "next", "href": f"{base}/v1/changes?{urlencode(params)}",
                      "type": "application/json"})
    body = {"changes": events, "next_since": last, "links": links}
    response = Response(orjson.dumps(body), media_type="application/json")
    response.headers["Cache-Control"] = LATEST_CACHE
    return response


@router.get("/changes.atom", summary="The change feed as Atom (newest first)",
            response_class=Response, responses={200: {"content": {ATOM_TYPE: {}}}})
def changes_atom(request: Request, data: DataDep, base: BaseUrlDep, since: Since = None,
                 dataset: DatasetFilter = None, limit: Limit = 100) -> Response:
    after_id, moment = _since(since)
    rows, _more = ChangeFeed(data.read_engine).page(after_id=None, since=moment,
                                               dataset_id=dataset, limit=limit,
                                               newest_first=True)
    if after_id is not None:
        rows = [r for r in rows if r["id"] > after_id]
    events = [change_event(r, base) for r in rows]
    body = atom_feed(events, self_url=str(request.url), base_url=base)
    response = Response(body, media_type=f"{ATOM_TYPE}; charset=utf-8")
    response.headers["Cache-Control"] = LATEST_CACHE
    return response
