"""No NUL in a query parameter, on every route of the native and OGC APIs.

PostgreSQL text cannot hold a NUL, so a parameter carrying one would fail inside the database
(a 500) instead of being refused as the client's mistake. The rule is
:func:`hub.query.model.refuse_nul`; it is applied once at the door, to every query parameter
of every API route (:data:`NulFreeQuery`, a dependency of each API router), and stated once in
the document (``NUL_FREE`` on every text query parameter that does not already say what it
takes), both by :func:`include_nul_free`, so no route has to remember either. CKAN's action
API is left out: it answers in CKAN's own envelope and reads its parameters without SQL.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute

from hub.query.model import NUL_FREE, refuse_nul

# Keywords that already fix what a text parameter may hold (a list, a format, a pattern).
_CONSTRAINED = ("pattern", "enum", "const", "format")


def refuse_nul_in_query(request: Request) -> None:
    """400 ``invalid-parameter`` naming the first query parameter that holds a NUL."""
    for name, value in request.query_params.multi_items():
        refuse_nul(name, value)


NulFreeQuery = Depends(refuse_nul_in_query)


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


def include_nul_free(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Include ``routers`` behind the door (:data:`NulFreeQuery`) and state the rule on
    every text query parameter of their operations in ``/openapi.json`` (the OGC document
    states it with :func:`state_nul_rule` where it is served)."""
    for router in routers:
        app.include_router(router, dependencies=[NulFreeQuery])
    guarded = {route.path_format for router in routers for route in router.routes
               if isinstance(route, APIRoute)}
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        state_nul_rule(schema, guarded)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
