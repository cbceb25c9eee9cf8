"""Shared fixtures. Keep them generic: an app factory, an app, and an in-process async HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from backprop_lens.web import create_app
from fastapi import FastAPI

from tests.apps import settings_for_tests


@pytest.fixture
def app_factory() -> Callable[..., FastAPI]:
    """`app_factory(**settings)`: a fresh app (own caches), with the tests' defaults (`settings_for_tests`)."""

    def make(**overrides: Any) -> FastAPI:
        return create_app(settings_for_tests(**overrides))

    return make


@pytest.fixture
def app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    return app_factory()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under `make test` (BACKPROP_LENS_NO_SKIPS=1) a skipped test fails the run: the set-up installs every tool
    the tests need, so a skip there means a missing install step, not an optional feature."""
    import os

    if os.environ.get("BACKPROP_LENS_NO_SKIPS") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        print(f"\n{len(skipped)} test(s) skipped under make test: a tool the set-up should install is missing")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
