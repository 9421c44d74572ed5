"""The portal's signed-in session and its CSRF protection: the interface every page uses.

A person signs in once with a key (``hub.web.signin``); the browser then holds only an
HttpOnly session cookie, whose SHA-256 is stored with the key's id
(``hub.data.portal_sessions``). Every request reads the key with the session, so revoking or
expiring the key ends the session at once. The key itself is never in a page, a URL or a
cookie a script can read.

Forms are protected by a synchronizer token: signed in, the token stored with the session;
before signing in (the sign-in form itself, taking a contributor key), the value of an
HttpOnly pre-session cookie, set the first time a page writes a form. Every unsafe request
must carry the token as the form field ``csrf_token``; a missing or wrong one is refused
with a 403 page before anything is written.

What other pages use:
- ``SignedIn`` (dependency): the request's :class:`Principal` (anonymous when signed out,
  with ``credential_problem`` saying why when a session ended);
- ``signed_in_key(scope, ...)`` (dependency factory): the key, or a 401 page (the sign-in
  form) / 403 page;
- ``CsrfChecked`` (dependency) for url-encoded forms, :func:`check_csrf` for multipart
  uploads streamed by ``hub.api.uploads`` (their fields arrive with the file);
- ``{{ csrf_field() }}`` in a template: the hidden input every form carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from jinja2 import pass_context
from markupsafe import Markup, escape

from hub.data.portal_sessions import PortalSessions
from hub.people.principal import Forbidden, Key, Principal, Unauthenticated
from hub.people.scopes import Scope
from hub.people.sessions import csrf_matches, new_csrf_token
from hub.settings import Settings

SESSION_COOKIE = "hub_session"
PRESESSION_COOKIE = "hub_presession"
CSRF_FIELD = "csrf_token"
PRESESSION_MAX_AGE_S = 24 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATE = "portal_visitor"


class PageRefused(Exception):
    """A portal request refused as a page: 401 (the sign-in form), 403 or 400."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class CsrfRefused(PageRefused):
    """403: an unsafe request without its form's token, or with another one."""

    def __init__(self) -> None:
        super().__init__(403, "this form was not sent from a page of this hub, or its page "
                         "is too old: reload the page and send it again")


@dataclass
class Visitor:
    """Who a portal request comes from, resolved once per request.

    ``session_id`` is the live session's cookie value; ``csrf_token`` is the token this
    request's forms carry and its unsafe requests must send back; ``fresh_presession``
    says that token is new and must be set as the pre-session cookie (done only when a
    form was written, so pages without forms set no cookie); ``stale_session`` says the
    browser sent a session cookie that no longer signs anyone in (clear it).
    """

    principal: Principal
    session_id: str | None
    csrf_token: str
    fresh_presession: bool = False
    presession_written: bool = False
    stale_session: bool = False


def sessions(request: Request) -> PortalSessions:
    return request.app.state.portal_sessions


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _ended(detail: str) -> Unauthenticated:
    return Unauthenticated(f"your session has ended: {detail}; sign in again", "invalid_token")


def visitor(request: Request) -> Visitor:
    """The request's visitor (resolved at the first call, then kept on the request). A
    session cookie costs one indexed lookup that reads the session and its key together."""
    known: Visitor | None = getattr(request.state, _STATE, None)
    if known is not None:
        return known
    address = request.client.host if request.client else None
    cookie = request.cookies.get(SESSION_COOKIE)
    found = sessions(request).resolve(cookie) if cookie else None
    if found is not None and isinstance(found.key, Key):
        resolved = Visitor(Principal(address, key=found.key), cookie, found.csrf_token)
    else:
        problem = None
        if found is not None and isinstance(found.key, Unauthenticated):
            problem = _ended(found.key.detail)
        elif cookie:
            problem = _ended("it expired or was signed out")
        presession = request.cookies.get(PRESESSION_COOKIE)
        resolved = Visitor(Principal(address, credential_problem=problem), None,
                           presession or new_csrf_token(), fresh_presession=not presession,
                           stale_session=bool(cookie))
    setattr(request.state, _STATE, resolved)
    return resolved


def _signed_in(request: Request) -> Principal:
    return visitor(request).principal


SignedIn = Annotated[Principal, Depends(_signed_in)]


def signed_in_key(*scopes: Scope, dataset_parameter: str | None = None) -> Any:
    """A dependency: the signed-in key if it holds one of ``scopes`` (on the dataset of
    the path parameter ``dataset_parameter``); else :class:`PageRefused` 401 (signed out:
    the sign-in form) or 403. The decision is ``Principal.require``, as on the API."""

    def dependency(request: Request) -> Key:
        principal = visitor(request).principal
        dataset = request.path_params.get(dataset_parameter) if dataset_parameter else None
        refusal: Forbidden | None = None
        for scope in scopes:
            try:
                return principal.require(scope, dataset)
            except Unauthenticated as exc:
                raise PageRefused(401, exc.detail) from None
            except Forbidden as exc:
                refusal = refusal or exc
        assert refusal is not None
        if len(scopes) > 1:
            held = ", ".join(sorted(principal.key.scopes)) if principal.key else ""
            raise PageRefused(403, f"key {principal.key.name!r} has scopes [{held}]; this "
                              f"page needs one of {', '.join(s.value for s in scopes)}"
                              if principal.key else refusal.detail)
        raise PageRefused(403, refusal.detail)

    return dependency


def check_csrf(request: Request, presented: str | None) -> None:
    """Refuse (403) unless ``presented`` is this visitor's token."""
    # Without a pre-session cookie the visitor's token is freshly drawn: nothing matches it.
    if not csrf_matches(visitor(request).csrf_token, presented):
        raise CsrfRefused()


def _resolved_visitor(request: Request) -> Visitor:
    return visitor(request)  # a sync dependency: FastAPI runs the lookup in a worker thread


async def _csrf_checked(request: Request,
                        current: Annotated[Visitor, Depends(_resolved_visitor)]) -> None:
    """For url-encoded forms (and multipart forms without files): the token from the
    form, before the route runs. Uploads check with :func:`check_csrf` once streamed."""
    if request.method not in UNSAFE_METHODS:
        return
    try:
        form = await request.form(max_files=0)
    except Exception:  # a file part, or a body that is no form
        raise CsrfRefused() from None
    presented = form.get(CSRF_FIELD)
    if not csrf_matches(current.csrf_token, presented if isinstance(presented, str) else None):
        raise CsrfRefused()


CsrfChecked = Depends(_csrf_checked)


@pass_context
def csrf_field(context: Any) -> Markup:
    """``{{ csrf_field() }}``: the hidden input that carries the visitor's token."""
    request: Request = context["request"]
    current = visitor(request)
    current.presession_written = current.fresh_presession
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, escape(current.csrf_token))


def secure_cookies(request: Request) -> bool:
    """Cookies are ``Secure`` when the hub is reached over https (directly, through a
    proxy that says so, or as configured in ``HUB_PUBLIC_URL``)."""
    public = _settings(request).public_url or ""
    return request.url.scheme == "https" or public.startswith("https:")


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(SESSION_COOKIE, session_id,
                        max_age=_settings(request).portal_session_hours * 3600,
                        path="/", httponly=True, samesite="lax",
                        secure=secure_cookies(request))
    response.delete_cookie(PRESESSION_COOKIE, path="/")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure_cookies(request))


def finish_response(request: Request, response: Response) -> None:
    """Cookies a rendered page needs: the pre-session cookie when the page wrote a form
    for a visitor without one, and clearing a session cookie that signs nobody in."""
    current: Visitor | None = getattr(request.state, _STATE, None)
    if current is None:
        return
    if current.presession_written:
        response.set_cookie(PRESESSION_COOKIE, current.csrf_token,
                            max_age=PRESESSION_MAX_AGE_S, path="/", httponly=True,
                            samesite="lax", secure=secure_cookies(request))
    if current.stale_session:
        clear_session_cookie(request, response)
