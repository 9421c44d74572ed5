"""ASGI entry point for multi-worker servers: builds settings from the environment once."""

from hub.api.app import create_app
from hub.settings import Settings

app = create_app(Settings())
