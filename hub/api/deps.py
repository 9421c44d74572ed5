"""Request-scoped dependencies, as ``Annotated`` aliases to keep route signatures short.

They are ``async def`` on purpose: they only read ``app.state``, and FastAPI runs a plain
``def`` dependency in the thread pool, one thread hop per dependency per request (with three
of them that was a fifth of the CPU of a by-id lookup, measured with py-spy in bench/).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub.data import Data
from hub.settings import Settings


async def get_data(request: Request) -> Data:
    return request.app.state.data


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def base_url(request: Request) -> str:
    """Base URL for links: ``HUB_PUBLIC_URL`` when set, else what the client used."""
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


DataDep = Annotated[Data, Depends(get_data)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BaseUrlDep = Annotated[str, Depends(base_url)]
