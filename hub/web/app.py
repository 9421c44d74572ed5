"""Mount the portal on the app: pages, the hub-served assets and the API docs page."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from hub.api.security_headers import page_policy_with_inline_scripts
from hub.data.portal_sessions import PortalSessions
from hub.settings import Settings
from hub.web import (
    cocreation,
    console,
    console_publish,
    dataset_drafts,
    pages,
    participation,
    proposals,
    signin,
)
from hub.web.rendering import Portal, problem_page
from hub.web.session import PageRefused

STATIC_DIR = Path(__file__).parent / "static"
# npm package -> (folder inside it, URL prefix). MapLibre's LICENSE.txt sits in dist/ and is
# served beside the library; Swagger UI's LICENSE and NOTICE sit at the package's root.
VENDOR = {
    "maplibre-gl": ("dist", "/static/vendor/maplibre-gl"),
    "swagger-ui-dist": ("", "/static/vendor/swagger-ui"),
}


def install_portal(app: FastAPI, settings: Settings) -> None:
    """Add the portal's routes and static files to ``app`` (created with ``docs_url=None``:
    the docs page here loads Swagger UI from the hub, never from a CDN)."""
    app.state.portal = Portal()
    app.state.portal_sessions = PortalSessions(app.state.data.engine)  # the API role
    app.include_router(pages.router)
    # Before cocreation's: /requests/new is a form, not the request numbered "new".
    app.include_router(participation.router)
    app.include_router(proposals.router)
    app.include_router(cocreation.router)
    app.include_router(signin.router)
    app.include_router(console.router)
    app.include_router(console_publish.router)
    app.include_router(dataset_drafts.router)

    @app.exception_handler(PageRefused)
    def page_refused(request: Request, exc: PageRefused) -> HTMLResponse:
        """A portal refusal as a page: 401 is the sign-in form (coming back here after)."""
        if exc.status == 401:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return signin.signin_page(app.state.portal, request, 401, problem=exc.detail,
                                      next_path=back if request.method == "GET" else None)
        return problem_page(app.state.portal, request, exc.status, exc.detail)
    app.mount("/static/portal", StaticFiles(directory=STATIC_DIR), name="portal-static")
    for package, (folder, prefix) in VENDOR.items():
        # check_dir=False: without `npm ci` the pages still work (no map) and the file
        # requests answer 404 instead of the app refusing to start.
        app.mount(prefix, StaticFiles(directory=settings.assets_dir / package / folder,
                                      check_dir=False), name=f"vendor-{package}")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        swagger = VENDOR["swagger-ui-dist"][1]
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{swagger}/swagger-ui-bundle.js",
            swagger_css_url=f"{swagger}/swagger-ui.css",
            swagger_favicon_url="/static/portal/favicon.svg",
        )
        page.headers["Content-Security-Policy"] = page_policy_with_inline_scripts(
            bytes(page.body).decode())
        return page
