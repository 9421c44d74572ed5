"""Request-scoped dependencies, as ``Annotated`` aliases to keep route signatures short.

The dependency forms are ``async def`` on purpose: they only read ``app.state``, and FastAPI
runs a plain ``def`` dependency in the thread pool, one thread hop per dependency per request
(three of them were a fifth of the CPU of a by-id lookup, measured with py-spy in bench/).
The plain functions stay for callers that hold a request outside dependency injection.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub.data import Data
from hub.data.records_by_key import RecordsByKey
from hub.query.model import PageLimits
from hub.query.params import Dialect
from hub.settings import Settings


def get_data(request: Request) -> Data:
    return request.app.state.data


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def page_limits(request: Request, dialect: Dialect) -> PageLimits:
    """The records limits of ``dialect``'s surface, built from settings by ``create_app``."""
    return request.app.state.page_limits[dialect.name]


def base_url(request: Request) -> str:
    """Base URL for links: ``HUB_PUBLIC_URL`` when set, else what the client used."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


# The dependency forms: the same functions, awaited on the event loop (see the module doc).
async def _data_dependency(request: Request) -> Data:
    return get_data(request)


async def _settings_dependency(request: Request) -> Settings:
    return get_settings(request)


async def _records_by_key_dependency(request: Request) -> RecordsByKey:
    return request.app.state.records_by_key


async def _base_url_dependency(request: Request) -> str:
    return base_url(request)


DataDep = Annotated[Data, Depends(_data_dependency)]
SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
BaseUrlDep = Annotated[str, Depends(_base_url_dependency)]
RecordsByKeyDep = Annotated[RecordsByKey, Depends(_records_by_key_dependency)]
