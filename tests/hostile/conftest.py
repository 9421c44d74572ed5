"""The published test shops (tests/api/conftest.py) for the hostile query tests."""

from tests.api.conftest import hub  # noqa: F401
