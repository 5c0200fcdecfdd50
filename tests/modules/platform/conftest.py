"""Fixtures for these tests live in tests/conftest.py (real_app, api, api_factory)."""

from tests.conftest import PASSWORD, Api

__all__ = ["PASSWORD", "Api"]
