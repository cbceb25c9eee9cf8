"""Shared fixtures. Keep them generic: an app factory, an app, and an in-process async HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from backprop_lens.web import Settings, create_app
from fastapi import FastAPI


@pytest.fixture
def app_factory() -> Callable[..., FastAPI]:
    """`app_factory(**settings)`: a fresh app (own caches), without the start-up warm-up unless asked."""

    def make(**overrides: Any) -> FastAPI:
        overrides.setdefault("warm_up", False)
        # A test waits for what it asks (a loaded CI machine is slow, and a niced worker slower): only the tests of
        # `answer_s` itself set it short.
        overrides.setdefault("answer_s", 300.0)
        # Histories compute in the test's process (a spawned worker per app would import torch again: ~3 s each);
        # tests/test_workers.py asks for workers and checks they give the same bytes, and the served tests
        # (test_server, test_nginx, the page's) run the real defaults.
        overrides.setdefault("worker_processes", 0)
        return create_app(Settings(**overrides))

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
