"""Quotas: per key, and per client address for anonymous callers, counted in a shared store.

Counting is the ``limits`` library's job (fixed windows: one counter per caller and window,
one ``INCRBY`` in Redis). ``HUB_RATE_LIMIT_STORAGE=redis://...`` shares the counters between
every server process; unset, each process counts in its own memory (the embedded demo).

A request is admitted while its caller's window has any room left, and charged when its
answer is known: a full request costs ``FULL_COST`` units, a 304 or a pinned immutable answer
(``Cache-Control: ... immutable``) costs ``CHEAP_COST``, a tenth, because it is served from
what the client or a cache already holds. Quotas are stated in requests and the headers
count whole requests, rounded up (``r=1`` while any unit is left), so ``r=0`` means exactly
"the next request is refused". The cost is only known at the end, so a caller may overshoot
its quota by less than one request, plus the requests it has in flight at once.

Headers follow draft-ietf-httpapi-ratelimit-headers (-10/-11): ``RateLimit-Policy:
"key";q=6000;w=60`` states the quota and window, ``RateLimit: "key";r=5990;t=42`` what is
left and the seconds until the window resets; a 429 carries ``Retry-After`` as well. When
the store cannot be reached the request is served and a warning logged: the quota protects
the hub, and refusing every reader because Redis is down would protect nothing.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerSecond
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.auth import problem_response, resolve_principal
from hub.data.people import People
from hub.people.principal import Principal
from hub.settings import Settings

logger = logging.getLogger("hub.api.ratelimit")

FULL_COST = 10
CHEAP_COST = 1


class RateLimited(Exception):
    """429: the caller's quota is used up; ``retry_after`` in whole seconds."""

    def __init__(self, detail: str, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.headers = headers


@dataclass(frozen=True)
class Policy:
    """One quota: ``name`` (``key`` or ``anonymous``), requests per ``window_s``."""

    name: str
    quota: int
    window_s: int

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.quota * FULL_COST, self.window_s)

    def policy_header(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window_s}'

    def state_header(self, remaining_units: int, reset_at: float) -> str:
        return f'"{self.name}";r={whole_requests(remaining_units)};t={seconds_until(reset_at)}'


def whole_requests(units: int) -> int:
    """Units left as requests, rounded up: a request is admitted while any unit is left."""
    return math.ceil(max(0, units) / FULL_COST)


def seconds_until(moment: float) -> int:
    return max(0, math.ceil(moment - time.time()))


def storage_uri(settings: Settings) -> str:
    uri = settings.rate_limit_storage or "memory://"
    return uri if uri.startswith("async+") else f"async+{uri}"


def unshared_quota_warning(settings: Settings, workers: int) -> str | None:
    """Why quotas would not hold with ``workers`` processes, or None. Counters in each
    process's memory (no ``HUB_RATE_LIMIT_STORAGE``) let every worker allow the whole quota,
    so the hub serves but says so: the quota is then up to ``workers`` times the one set."""
    limited = settings.rate_limit_anonymous or settings.rate_limit_key
    if workers <= 1 or settings.rate_limit_storage or not limited:
        return None
    return (f"{workers} workers count quotas in their own memory, so a caller may use up to "
            f"{workers} times its quota; set HUB_RATE_LIMIT_STORAGE=redis://... to share "
            "the counters (docs/scaling.md)")


class RateLimiter:
    """The hub's counters: request quotas and the self-service key allowance."""

    def __init__(self, settings: Settings) -> None:
        uri = storage_uri(settings)
        options: dict[str, Any] = {"implementation": "redispy"} if "redis" in uri else {}
        self.strategy = FixedWindowRateLimiter(storage_from_string(uri, **options))
        self.settings = settings

    def policy_for(self, principal: Principal) -> tuple[Policy, str] | None:
        """The quota that applies to ``principal`` and the identity it is counted under;
        None when unlimited."""
        window = self.settings.rate_limit_window_s
        if principal.key is not None:
            quota = principal.key.rate_limit
            if quota is None:
                quota = self.settings.rate_limit_key
            return (Policy("key", quota, window), f"key:{principal.key.id}") if quota else None
        quota = self.settings.rate_limit_anonymous
        address = principal.client_address or "unknown"
        return (Policy("anonymous", quota, window), f"addr:{address}") if quota else None

    async def usage(self, principal: Principal) -> dict[str, Any] | None:
        """Quota and current use of ``principal`` (for ``GET /v1/me``); None when unlimited."""
        found = self.policy_for(principal)
        if found is None:
            return None
        policy, identity = found
        stats = await self.strategy.get_window_stats(policy.item, "requests", identity)
        used_units = policy.quota * FULL_COST - stats.remaining
        return {"policy": policy.name, "quota": policy.quota, "window_s": policy.window_s,
                "used": math.ceil(used_units / FULL_COST),
                "remaining": whole_requests(stats.remaining),
                "reset_s": seconds_until(stats.reset_time)}

    async def take_self_service_slot(self, address: str | None) -> None:
        """Count one self-service key for ``address``; raise :class:`RateLimited` when the
        hourly allowance is used up."""
        allowance = self.settings.self_service_keys_per_hour
        item = RateLimitItemPerHour(allowance)
        identity = f"addr:{address or 'unknown'}"
        if not await self.strategy.hit(item, "self-keys", identity):
            stats = await self.strategy.get_window_stats(item, "self-keys", identity)
            retry = max(1, seconds_until(stats.reset_time))
            raise RateLimited(f"this address has taken {allowance} self-service keys in the "
                              f"last hour; try again in {retry} s", retry,
                              {"Retry-After": str(retry)})


def document_rate_limits(app: FastAPI) -> None:
    """Every operation may answer 429 and carries the RateLimit headers: say so once in the
    OpenAPI document instead of on every route."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        headers = {
            "RateLimit-Policy": {"description": 'Quota and window, e.g. "key";q=6000;w=60',
                                 "schema": {"type": "string"}},
            "RateLimit": {"description": 'Requests left and seconds to reset, e.g. '
                          '"key";r=5990;t=42', "schema": {"type": "string"}},
        }
        too_many = problem_response("Quota used up (per key, or per client address without "
                                    "one); `Retry-After` says when to come back")
        too_many["headers"] = {**headers, "Retry-After": {"schema": {"type": "integer"}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["responses"].setdefault("429", too_many)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def response_cost(message: Message) -> int:
    """What an answer costs, judged from its status and headers."""
    if message["status"] == 304:
        return CHEAP_COST
    for name, value in message.get("headers", ()):
        if name.lower() == b"cache-control" and b"immutable" in value.lower():
            return CHEAP_COST
    return FULL_COST


class RateLimitMiddleware:
    """Resolves each request's principal (kept in ``scope['state']``), admits or refuses it
    against its quota, charges it when the answer starts and adds the RateLimit headers."""

    def __init__(self, app: ASGIApp, people: People, limiter: RateLimiter,
                 problem_handler: Any) -> None:
        self.app = app
        self.people = people
        self.limiter = limiter
        self.problem_handler = problem_handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        principal = await resolve_principal(scope, self.people)
        scope.setdefault("state", {})["principal"] = principal
        found = self.limiter.policy_for(principal)
        if found is None:
            await self.app(scope, receive, send)
            return
        policy, identity = found
        strategy = self.limiter.strategy
        try:
            stats = await strategy.get_window_stats(policy.item, "requests", identity)
        except Exception:  # the store is down: serve, say so in the log
            logger.warning("rate-limit store unavailable; request not counted", exc_info=True)
            await self.app(scope, receive, send)
            return
        if stats.remaining <= 0:
            retry = max(1, seconds_until(stats.reset_time))
            headers = {"RateLimit-Policy": policy.policy_header(),
                       "RateLimit": policy.state_header(0, stats.reset_time),
                       "Retry-After": str(retry)}
            who = "this key" if principal.key else "this client address"
            problem = RateLimited(
                f"{who} has used its {policy.quota} requests per {policy.window_s} s; the "
                f"window resets in {retry} s", retry, headers)
            response = self.problem_handler(Request(scope), problem)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                cost = response_cost(message)
                remaining = stats.remaining - cost
                try:
                    await strategy.hit(policy.item, "requests", identity, cost=cost)
                except Exception:
                    logger.warning("rate-limit store unavailable; request not counted",
                                   exc_info=True)
                headers = list(message.get("headers", ()))
                headers.append((b"ratelimit-policy", policy.policy_header().encode()))
                headers.append((b"ratelimit",
                                policy.state_header(remaining, stats.reset_time).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
