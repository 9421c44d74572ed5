"""HTTP surfaces. ``create_app(settings)`` in :mod:`hub.api.app` builds the application."""
