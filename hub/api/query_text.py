"""The door of the native and OGC APIs' query strings: no NUL, no repeated single value.

Two rules every route of those APIs keeps, checked here once for all of them
(:func:`include_behind_door` makes :func:`query_door` a dependency of each API router), so
no route has to remember either:

- No NUL in a query parameter. PostgreSQL text cannot hold a NUL, so a parameter carrying
  one would fail inside the database (a 500) instead of being refused as the client's
  mistake. The rule is :func:`hub.query.model.refuse_nul`; it is stated once in the
  document too (``NUL_FREE`` on every text query parameter that does not already say what
  it takes, :func:`state_nul_rule`).
- A parameter the operation declares with one value (any schema but an array) may be given
  once (:func:`hub.query.model.refuse_repeats`): FastAPI reads the last of several values,
  so ``?organisation=a&organisation=b`` would answer for ``b`` alone while the document
  says one value is taken. Which parameters take one value is read from the app's own
  OpenAPI document (:class:`OneValueParameters`), what clients and the fuzzer read, so a
  route declares it once, by its parameter's type (``list[str]`` may repeat). Parameters a
  route parses itself (the records' and OGC's, named by a ``Dialect``) are refused by the
  same rule in :mod:`hub.query.params`.

CKAN's action API is left out: it answers in CKAN's own envelope and reads its parameters
without SQL.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Coroutine, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute

from hub.api.routing import api_routes
from hub.query.model import NUL_FREE, refuse_nul, refuse_repeats

# Keywords that already fix what a text parameter may hold (a list, a format, a pattern).
_CONSTRAINED = ("pattern", "enum", "const", "format")


def takes_a_list(schema: dict[str, Any]) -> bool:
    """Whether a parameter's schema allows an array (an optional list is ``anyOf`` with
    null): the only query parameters that may be given more than once."""
    if schema.get("type") == "array":
        return True
    return any(takes_a_list(alternative)
               for key in ("anyOf", "oneOf") for alternative in schema.get(key, []))


def one_value_names(operation: dict[str, Any]) -> frozenset[str]:
    """The query parameters of an OpenAPI operation that take one value."""
    return frozenset(parameter["name"] for parameter in operation.get("parameters", [])
                     if parameter.get("in") == "query"
                     and not takes_a_list(parameter.get("schema", {})))


class OneValueParameters:
    """Which query parameters each route's operation takes one value of, read from the
    app's OpenAPI document the first time it is asked (the document can only be built once
    every route is included). A route the document leaves out declares nothing."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._table: dict[tuple[int, str], frozenset[str]] | None = None

    def of(self, route: object, method: str) -> frozenset[str]:
        if self._table is None:
            self.read()
        assert self._table is not None
        return self._table.get((id(route), method), frozenset())

    def read(self) -> None:
        """Build the table now: the app's lifespan calls this once every route is in, so
        no request pays for building the OpenAPI document and the table lands in the heap
        frozen at startup."""
        self._table = self._read()

    def _read(self) -> dict[tuple[int, str], frozenset[str]]:
        paths = self._app.openapi().get("paths", {})
        table: dict[tuple[int, str], frozenset[str]] = {}
        for path, route in api_routes(self._app):
            for method in route.methods:
                operation = paths.get(path, {}).get(method.lower())
                if isinstance(operation, dict):
                    table[(id(route), method)] = one_value_names(operation)
        return table


def query_door(one_value: OneValueParameters) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """The dependency every API route runs first: 400 ``invalid-parameter`` naming the
    first query parameter that holds a NUL, or the first one that takes one value and was
    given again."""

    async def door(request: Request) -> None:
        items = request.query_params.multi_items()
        for name, value in items:
            refuse_nul(name, value)
        declared = one_value.of(request.scope.get("route"), request.method)
        refuse_repeats((name for name, _ in items), declared.__contains__)

    return door


def _state_nul_rule(schema: dict[str, Any]) -> None:
    """Add NUL_FREE to a parameter's text schema (or its text alternative, or its items)."""
    if any(key in schema for key in _CONSTRAINED):
        return
    if schema.get("type") == "string":
        schema.update(NUL_FREE)
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _state_nul_rule(schema["items"])
    for alternative in schema.get("anyOf", []):
        _state_nul_rule(alternative)


def state_nul_rule(document: dict[str, Any], paths: Collection[str] | None = None) -> None:
    """Every text query parameter of ``document`` (of ``paths`` only, if given) carries
    NUL_FREE; schemas are copied first, since parameters declared once may be shared by
    several documents."""
    for path, operations in document.get("paths", {}).items():
        if paths is not None and path not in paths:
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and "schema" in parameter:
                    parameter["schema"] = copy.deepcopy(parameter["schema"])
                    _state_nul_rule(parameter["schema"])


def include_behind_door(app: FastAPI, routers: Sequence[APIRouter]) -> OneValueParameters:
    """Include ``routers`` behind the door (:func:`query_door`) and state the NUL rule on
    every text query parameter of their operations in ``/openapi.json`` (the OGC document
    states it with :func:`state_nul_rule` where it is served). Returns the door's table of
    one-value parameters, for the lifespan to :meth:`~OneValueParameters.read`."""
    one_value = OneValueParameters(app)
    door = Depends(query_door(one_value))
    for router in routers:
        app.include_router(router, dependencies=[door])
    guarded = {route.path_format for router in routers for route in router.routes
               if isinstance(route, APIRoute)}
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        state_nul_rule(schema, guarded)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return one_value
