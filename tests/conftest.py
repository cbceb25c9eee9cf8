"""Shared fixtures. Keep them generic: an app factory, an app, and an in-process async HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.web import Settings, create_app


@pytest.fixture
def app_factory() -> Callable[..., FastAPI]:
    """`app_factory(**settings)`: a fresh app (own caches), without the start-up warm-up unless asked."""

    def make(**overrides: Any) -> FastAPI:
        overrides.setdefault("warm_up", False)
        return create_app(Settings(**overrides))

    return make


@pytest.fixture
def app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    return app_factory()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
