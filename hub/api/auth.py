"""Who is calling: the principal of each request, and the ``require`` dependency for writes.

The principal is resolved once per request by the rate-limit middleware (it needs the key to
pick the quota) and kept in the request's state; routes ask for it with ``PrincipalDep`` or
guard themselves with ``Depends(require(Scope.X))``. Reading public data needs no key, so a
bad token does not stop a read: the caller is anonymous with the token's problem attached,
and only a route that requires a scope answers 401 with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPBearer

from hub.api.routing import api_routes
from hub.data.people import People
from hub.people.principal import Key, Principal, Unauthenticated
from hub.people.scopes import Scope

# Declares the scheme in OpenAPI (components.securitySchemes.bearer); resolution is ours.
bearer_scheme = HTTPBearer(scheme_name="bearer", auto_error=False,
                           description="A hub key: `Authorization: Bearer hub_...` "
                           "(docs/people.md). Reading public data needs none.")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem (RFC 9457)",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"}},
    "required": ["type", "title", "status"],
}


def problem_response(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem+json answer."""
    return {"description": description,
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}


# The answers every keyed route may give besides its own, for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response("Invalid request (e.g. an unknown scope or expiry)"),
    401: problem_response("No key, or an unknown, revoked or expired one (`detail` says which); "
                  "`WWW-Authenticate: Bearer` says how to authenticate"),
    403: problem_response("The key lacks the scope, or the dataset is outside its list"),
    429: problem_response("Quota used up; `Retry-After` says when to come back"),
}


def client_address(scope: dict[str, Any]) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def bearer_token(scope: dict[str, Any]) -> str | Unauthenticated | None:
    """The token of an ``Authorization: Bearer`` header; None without the header."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return Unauthenticated("send the key as 'Authorization: Bearer <token>'",
                                       "invalid_request")
            return token.strip()
    return None


async def resolve_principal(scope: dict[str, Any], people: People) -> Principal:
    """The caller of this request. Anonymous requests touch no database; a presented token
    costs one indexed lookup (in a worker thread: the engine is synchronous)."""
    address = client_address(scope)
    token = bearer_token(scope)
    if token is None:
        return Principal(address)
    if isinstance(token, Unauthenticated):
        return Principal(address, credential_problem=token)
    key = await anyio.to_thread.run_sync(people.resolve, token)
    if isinstance(key, Unauthenticated):
        return Principal(address, credential_problem=key)
    return Principal(address, key=key)


async def _principal_dependency(request: Request,
                                _credentials: Any = Depends(bearer_scheme)) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:  # an app built without the middleware (never in create_app)
        principal = await resolve_principal(request.scope, request.app.state.people)
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal_dependency)]


def require(scope: Scope, dataset_parameter: str | None = None
            ) -> Callable[..., Awaitable[Key]]:
    """A dependency that returns the caller's key if it may act with ``scope`` (on the
    dataset named by the path parameter ``dataset_parameter``), else raises 401/403."""

    async def dependency(request: Request, principal: PrincipalDep) -> Key:
        dataset = request.path_params.get(dataset_parameter) if dataset_parameter else None
        return principal.require(scope, dataset)

    dependency.requires_key = True  # type: ignore[attr-defined]  # read by document_optional_keys
    return dependency


def _requires_key(dependant: Dependant) -> bool:
    return any(getattr(d.call, "requires_key", False) or _requires_key(d)
               for d in dependant.dependencies)


def document_optional_keys(app: FastAPI) -> None:
    """FastAPI marks every operation that reads the caller (``PrincipalDep``) as needing the
    bearer scheme. Only those behind ``require`` do; for the others a key is optional (it
    raises the quota, or shows staff more), which OpenAPI says with an empty alternative:
    ``security: [{bearer: []}, {}]``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for path, route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods:
                operation = schema.get("paths", {}).get(path, {}).get(method.lower())
                if operation and operation.get("security") and not _requires_key(route.dependant):
                    operation["security"] = [{"bearer": []}, {}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# The callers most co-creation routes need, written once: a key that may contribute, or
# moderate, on any dataset.
Contributor = Annotated[Key, Depends(require(Scope.CONTRIBUTE))]
Moderator = Annotated[Key, Depends(require(Scope.MODERATE))]
