"""The app factory: settings in, FastAPI app out. No import-time state; each app has its own caches."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from backprop_lens.render import RenderError
from backprop_lens.web import routes_meta, routes_present, routes_recording, routes_runs
from backprop_lens.web.errors import install_error_handlers
from backprop_lens.web.middleware import BodyLimit, HeadAsGet, SecurityHeaders
from backprop_lens.web.readiness import Readiness
from backprop_lens.web.responses import SafeJSONResponse
from backprop_lens.web.runs import RunStore
from backprop_lens.web.server import clean_stale_tempdirs
from backprop_lens.web.settings import Settings
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

log = logging.getLogger("backprop_lens.web")

DESCRIPTION = """
See backpropagation happen in real PyTorch. A **run** is a scenario with concrete parameters; its **id** encodes
that configuration, so `/api/runs/{id}/...` URLs are pure functions: the same bytes from any server process, after
any restart (strong `ETag`, `Cache-Control: immutable`, `304` on `If-None-Match`).

Errors: `404` for unknown run ids and steps, `422` naming the bad field, `413` for bodies over 64 KiB, `503` with
`Retry-After` when the server is full; never a `500`. A big run answers `202` with its status until it is computed.
Non-finite numbers (a diverging run) are the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    store = RunStore(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        clean_stale_tempdirs()
        if settings.warm_up:
            try:
                await run_in_threadpool(store.warm_up)
            except RenderError as e:  # no dot: one line (serve said so already); /readyz tells the details
                log.warning("warm-up drew no graph: %s", str(e).splitlines()[0])
            except Exception:  # a slow first request is better than no server
                log.exception("warm-up failed")
        yield
        store.close()

    app = FastAPI(
        title=settings.title,
        description=DESCRIPTION,
        version="0.1.0",
        default_response_class=SafeJSONResponse,
        lifespan=lifespan,
        docs_url=None,  # our own /docs below: Swagger UI from static/vendor when vendored (offline), else the CDN
        redoc_url=None,  # ReDoc would load from a CDN (offline: no; our CSP refuses it anyway): /docs is the one UI
    )
    app.state.settings = settings
    app.state.store = store
    app.state.readiness = Readiness()
    app.state.scenarios = routes_meta.scenario_list()
    app.state.templates = Jinja2Templates(directory=str(settings.templates_dir))
    install_error_handlers(app)
    app.include_router(routes_meta.router)
    app.include_router(routes_meta.docs_router(settings))
    app.include_router(routes_runs.router)
    routes_present.install(app)
    routes_recording.install(app, settings)
    if settings.static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)  # added last = outermost: also on 413s and errors
    return app
