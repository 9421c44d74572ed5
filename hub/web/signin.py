"""Signing in and out of the portal: ``/signin`` (a key, or a new contributor key for a
resident), ``/signout``. Each sign-in opens a new session (a session id is never reused
across sign-ins), and both writes are audited as the key, like the API's writes.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.people import issue_self_service_key
from hub.api.ratelimit import RateLimited
from hub.people.audit import AuditEntry
from hub.people.keys import InvalidKeyRequest
from hub.people.principal import Forbidden, Key, Principal, Unauthenticated
from hub.people.scopes import Scope, grants
from hub.web.rendering import Portal, PortalDep
from hub.web.session import (
    CsrfChecked,
    SignedIn,
    clear_session_cookie,
    sessions,
    set_session_cookie,
    visitor,
)

router = APIRouter(tags=["portal"], include_in_schema=False)

OPEN_ACTION = "session.open"
END_ACTION = "session.end"


def local_path(target: str | None) -> str | None:
    """``next`` only when it is a path of this hub (``/staff``), never another site
    (``//evil.example``, ``https://...``, ``/\\evil``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


def landing_for(key: Key) -> str:
    """Where a sign-in lands without ``next``: the console for staff, the catalogue else."""
    staff = any(grants(key.scopes, s) for s in (Scope.PUBLISH, Scope.MODERATE))
    return "/staff" if staff else "/"


def signin_page(portal: Portal, request: Request, status: int = 200, *,
                problem: str | None = None, next_path: str | None = None) -> HTMLResponse:
    """The sign-in form (also the answer of a page that needs a key: 401)."""
    return portal.render(request, "signin.html", {
        "section": "signin", "problem": problem,
        "next": local_path(next_path) or "",
        "self_service": request.app.state.settings.self_service_keys_per_hour > 0,
    }, status_code=status)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, portal: PortalDep,
                principal: SignedIn, next: str | None = None) -> HTMLResponse:
    """The form; a session that ended says why."""
    problem = principal.credential_problem.detail if principal.credential_problem else None
    return signin_page(portal, request, problem=problem, next_path=next)


def _open_session(request: Request, key: Key, target: str) -> Response:
    principal = Principal(visitor(request).principal.client_address, key=key)
    current = visitor(request).session_id
    if current is not None:  # signing in again replaces the session, never reuses its id
        sessions(request).end(current, AuditEntry.by(principal, END_ACTION, "key", str(key.id)))
    opened = sessions(request).open(
        key, request.app.state.settings.portal_session_hours * 3600,
        AuditEntry.by(principal, OPEN_ACTION, "key", str(key.id), name=key.name))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, opened.session_id)
    return response


@router.post("/signin", response_class=HTMLResponse, dependencies=[CsrfChecked])
def signin(request: Request, portal: PortalDep, key: Annotated[str, Form()] = "",
           next: Annotated[str, Form()] = "") -> Response:
    """Check the key (the API's own lookup: unknown, revoked and expired keys are refused
    with the reason) and open a session for it."""
    found = request.app.state.people.resolve(key.strip())
    if isinstance(found, Unauthenticated):
        return signin_page(portal, request, 401, problem=found.detail, next_path=next)
    return _open_session(request, found, local_path(next) or landing_for(found))


@router.post("/signin/contributor-key", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
async def take_contributor_key(request: Request, portal: PortalDep,
                               display_name: Annotated[str, Form()] = "",
                               next: Annotated[str, Form()] = "") -> Response:
    """A resident takes a self-service contributor key (the API's own rules, allowance and
    audit) and is signed in with it. The token is not shown: the session stands for it."""
    principal = await anyio.to_thread.run_sync(lambda: visitor(request).principal)
    try:
        row, token = await issue_self_service_key(request, principal, display_name)
    except (InvalidKeyRequest, Forbidden, RateLimited) as exc:
        status = {InvalidKeyRequest: 400, Forbidden: 403}.get(type(exc), 429)
        return signin_page(portal, request, status, problem=str(exc), next_path=next)
    found = await anyio.to_thread.run_sync(request.app.state.people.resolve, token)
    assert isinstance(found, Key), f"a key just issued must resolve: {row['id']}"
    return await anyio.to_thread.run_sync(
        lambda: _open_session(request, found, local_path(next) or "/"))


@router.post("/signout", dependencies=[CsrfChecked])
def signout(request: Request, principal: SignedIn) -> Response:
    current = visitor(request).session_id
    if current is not None:
        audit = (AuditEntry.by(principal, END_ACTION, "key", str(principal.key.id))
                 if principal.key else None)
        sessions(request).end(current, audit)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(request, response)
    return response
