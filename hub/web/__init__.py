"""The portal: server-rendered pages (Jinja2, ja/en with Babel) over the API's own query and
data layers, plus the hub-served assets they need (MapLibre, Swagger UI).

``install_portal(app, settings)`` mounts everything on the app; the routes live in
:mod:`hub.web.pages`, what they render is built by the pure functions of :mod:`hub.web.views`.
"""

from hub.web.app import install_portal

__all__ = ["install_portal"]
