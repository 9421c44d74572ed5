"""Jinja2 rendering in the request's language.

One environment per interface language, each with its gettext catalogue installed, so a
template's ``_()`` and the Babel number/date filters need no per-request state and two
requests in different languages never share one.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from hub.web.i18n import LANG_COOKIE, LANG_PARAMETER, LANGUAGES, choose_language, translations
from hub.web.labels import label_functions
from hub.web.session import Visitor, csrf_field, finish_response, visitor

TEMPLATES_DIR = Path(__file__).parent / "templates"
COOKIE_MAX_AGE = 365 * 24 * 3600


def _number(value: Any, language: str) -> str:
    return "" if value is None else format_decimal(value, locale=language)


def _day(value: Any, language: str) -> str:
    if isinstance(value, datetime):
        return format_date(value.date(), format="medium", locale=language)
    if isinstance(value, date):
        return format_date(value, format="medium", locale=language)
    return "" if value is None else str(value)[:10]


def _moment(value: Any, language: str) -> str:
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", locale=language)
    return "" if value is None else str(value)


def _bytes(value: int | None, language: str) -> str:
    """File sizes for people: kB/MB with the locale's digits (the exact bytes are in the
    title attribute and the API)."""
    if value is None:
        return ""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{format_decimal(round(value / size, 1), locale=language)} {unit}"
    return f"{format_decimal(value, locale=language)} B"


@pass_context
def _template_visitor(context: Any) -> Visitor:
    """``visitor()`` in a template: who is signed in (the header's account area)."""
    return visitor(context["request"])


def _environment(language: str, templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = lambda v: _number(v, language)
    env.filters["day"] = lambda v: _day(v, language)
    env.filters["moment"] = lambda v: _moment(v, language)
    env.filters["filesize"] = lambda v: _bytes(v, language)
    env.globals["lang"] = language
    env.globals.update(label_functions(translations(language)))
    env.globals["csrf_field"] = csrf_field
    env.globals["visitor"] = _template_visitor
    return env


def with_params(request: Request, **changes: str | None) -> str:
    """The request's path and query with some parameters replaced (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


class Portal:
    """Renders the portal's templates in the language each request asks for."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self._environments = {lang: _environment(lang, templates_dir) for lang in LANGUAGES}

    def language(self, request: Request) -> str:
        return choose_language(request.query_params.get(LANG_PARAMETER),
                               request.cookies.get(LANG_COOKIE),
                               request.headers.get("accept-language"))

    def render(self, request: Request, template: str, context: dict[str, Any],
               status_code: int = 200) -> HTMLResponse:
        """The page in the request's language. A ``?lang=`` (the language switch) is
        remembered in a cookie, so the following pages keep the chosen language."""
        language = self.language(request)
        page = self._environments[language].get_template(template)
        switch = {lang: with_params(request, **{LANG_PARAMETER: lang}) for lang in LANGUAGES}
        html = page.render(request=request, switch=switch, path=request.url.path, **context)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Language"] = language
        response.headers["Vary"] = "Accept, Accept-Language, Cookie"
        response.headers["Cache-Control"] = "no-cache"
        if request.query_params.get(LANG_PARAMETER) in LANGUAGES:
            response.set_cookie(LANG_COOKIE, language, max_age=COOKIE_MAX_AGE,
                                httponly=True, samesite="lax")
        finish_response(request, response)
        return response


async def _portal(request: Request) -> Portal:
    return request.app.state.portal


PortalDep = Annotated[Portal, Depends(_portal)]


def problem_page(portal: Portal, request: Request, status: int, detail: str) -> HTMLResponse:
    """A refusal as a page: the status and the reason, in the request's language."""
    return portal.render(request, "problem.html", {"status": status, "detail": detail},
                         status_code=status)
