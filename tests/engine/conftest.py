"""Fixtures shared by the engine tests."""

from tests.engine.test_resume import metadata, pool  # noqa: F401
