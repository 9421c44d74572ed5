"""Application factory: ``create_app(settings)`` wires settings, database and routes."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub import __version__
from hub.api import (
    audit,
    changes,
    ckan,
    contributions,
    dataset_drafts,
    dcat,
    downloads,
    ogc,
    people,
    publishing,
    reports,
    requests,
    showcases,
    transit,
    usage,
    v1,
    webhooks,
)
from hub.api.auth import document_optional_keys
from hub.api.body_timeout import BodyIdleTimeout
from hub.api.caching import PrivateWhenCredentialed
from hub.api.errors import install_problem_handlers
from hub.api.links import document_links
from hub.api.query_text import include_behind_door
from hub.api.ratelimit import RateLimiter, RateLimitMiddleware, document_rate_limits
from hub.api.routing import AllowEveryMethod, HeadAsGet
from hub.api.security_headers import add_security_middleware
from hub.data import Data
from hub.data.cocreation import CoCreation
from hub.data.contributions import Contributions
from hub.data.people import People
from hub.data.read_routing import ReadRouting
from hub.data.records_by_key import RecordsByKey
from hub.data.tile_cache import TileCache
from hub.data.tiles import Tiles
from hub.data.usage import UsageStore
from hub.data.webhooks import WebhookStore
from hub.db.engine import make_async_pool, make_engine
from hub.db.roles import Role
from hub.http_cache.purger import CachePurger
from hub.query.model import PageLimits
from hub.query.params import DIALECTS, V1
from hub.settings import Settings
from hub.usage.recorder import UsageRecorder
from hub.web import install_portal
from hub.webhooks.worker import WebhookWorker

DESCRIPTION = """
Open data of the city, versioned and queryable.

* Every publish creates a new **immutable version**; pin `/versions/{n}/` for reproducible
  results (cacheable forever), or use `latest`.
* Records can be filtered by property, text, bbox, radius (`near` + `radius`) and polygon,
  and come as JSON, GeoJSON or CSV.
* Errors are RFC 9457 `application/problem+json`.
* Every `GET` also answers `HEAD`: the same status and headers, without the body.
"""


def freeze_startup_heap() -> None:
    """Move everything alive after start-up out of the garbage collector's sight.

    The app's modules, routes, OpenAPI models and libraries are a heap of a few hundred
    thousand objects that live as long as the process. Python's full (generation 2)
    collection walks all of them: 40-130 ms with the event loop stopped, a few times a
    minute under load, which was the hub's whole p99 tail at 32 connections (bench/README.md).
    Frozen objects are never scanned again; requests' own garbage is still collected as
    usual. Called once the lifespan has opened everything, so the pools are frozen too.
    """
    gc.collect()
    gc.freeze()


def own_base_url(settings: Settings) -> str:
    """The hub's address for links in messages sent outside a request (webhooks)."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def create_app(settings: Settings) -> FastAPI:
    """Build the app for ``settings``. The engine and the async pool (single-record reads,
    hub.data.records_by_key) are created here; the pool opens and both close with the app's
    lifespan, so serve it with a server that runs lifespans (uvicorn does; so does
    ``with TestClient(app)``)."""
    engine = make_engine(settings, role=Role.API,
                         statement_timeout_ms=settings.statement_timeout_ms,
                         parallel_workers=settings.api_parallel_workers)
    # Publishing over HTTP (a file, accepted contributions, a withdrawal) is the only thing
    # the server does as the publishing role; every other request runs as the API role.
    publish_engine = make_engine(settings, role=Role.PUBLISH)
    reads = ReadRouting.from_settings(settings, engine)  # replicas, if any (docs/scaling.md)
    data = Data(engine, reads, count_cap=settings.count_cap)
    records_by_key = RecordsByKey(
        make_async_pool(settings, statement_timeout_ms=settings.statement_timeout_ms,
                        parallel_workers=settings.api_parallel_workers),
        data,
    )

    usage_recorder = (UsageRecorder(UsageStore(engine), settings.usage_flush_s)
                      if settings.usage_stats else None)
    webhook_store = WebhookStore(engine)
    webhook_worker = (WebhookWorker(webhook_store, settings, own_base_url(settings))
                      if settings.webhooks_worker else None)
    purge_targets = settings.http_cache_purge_urls
    cache_purger = (CachePurger(engine, purge_targets, poll_s=settings.http_cache_purge_poll_s)
                    if purge_targets else None)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        await records_by_key.open()
        if usage_recorder is not None:
            usage_recorder.start()
        if webhook_worker is not None:
            webhook_worker.start()
        if cache_purger is not None:
            cache_purger.start()
        _app.state.one_value_parameters.read()
        freeze_startup_heap()
        try:
            yield
        finally:
            if cache_purger is not None:
                cache_purger.stop()
            if webhook_worker is not None:
                webhook_worker.stop()
            if usage_recorder is not None:
                usage_recorder.stop()
            await records_by_key.close()
            reads.dispose()
            engine.dispose()
            publish_engine.dispose()

    app = FastAPI(
        title="Co-Creation Hub",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # the portal serves /docs with Swagger UI from the hub itself
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = publish_engine  # publish and withdraw, as the publishing role
    app.state.data = data
    app.state.records_by_key = records_by_key
    # The records limits of each surface, from settings once (hub.api.deps.page_limits).
    app.state.page_limits = {d.name: PageLimits.from_settings(settings, d.over_limit)
                             for d in DIALECTS}
    app.state.tiles = Tiles(engine, TileCache(settings.tile_cache_mb * 1024 * 1024), reads,
                            max_bytes=settings.tile_max_kb * 1024)
    app.state.usage_recorder = usage_recorder
    app.state.usage_counter = usage_recorder.counter if usage_recorder else None
    app.state.usage_store = UsageStore(engine)
    app.state.webhook_store = webhook_store
    app.state.webhook_worker = webhook_worker
    install_problem_handlers(app)
    app.state.people = People(engine)
    app.state.contributions = Contributions(engine, settings.contributions_pending_per_key)
    app.state.cocreation = CoCreation(engine, settings.cocreation_pending_per_key)
    app.state.limiter = RateLimiter(settings)
    app.add_middleware(HeadAsGet, routes=lambda: app.router.routes)  # innermost: routing.py
    app.add_middleware(RateLimitMiddleware, people=app.state.people,
                       limiter=app.state.limiter, problem_handler=app.state.problem_handler)
    app.add_middleware(AllowEveryMethod, routes=lambda: app.router.routes)
    app.add_middleware(BodyIdleTimeout, idle_s=settings.body_idle_timeout_s)
    app.add_middleware(PrivateWhenCredentialed)
    add_security_middleware(app, settings)  # added last: wraps the rate limiter's answers too
    document_rate_limits(app)
    document_optional_keys(app)
    document_links(app)
    v1.document_records_bounds(app, app.state.page_limits[V1.name])
    # a NUL or a repeated single value is a 400 (query_text.py)
    app.state.one_value_parameters = include_behind_door(app, [
        v1.router,
        transit.router,
        ogc.router,
        dcat.router,
        downloads.router,
        changes.router,
        usage.router,
        webhooks.router,
        people.router,
        publishing.router,
        dataset_drafts.router,
        audit.router,
        contributions.router,
        contributions.ogc_router,
        requests.router,
        showcases.router,
        reports.router,
    ])
    app.include_router(ckan.router)  # CKAN's own envelope; its parameters never reach SQL

    install_portal(app, settings)  # "/" (HTML or the JSON landing), pages, /docs, assets

    @app.get("/healthz", tags=["meta"], summary="Liveness and database check")
    def health() -> dict[str, str]:
        from sqlalchemy import text

        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app
