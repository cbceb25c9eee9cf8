"""Health, the scenario list, and the page."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Annotated, Any

from backprop_lens.present import Lang, scenario_words
from backprop_lens.problems import Problem
from backprop_lens.scenarios import SCENARIOS, get_scenario
from backprop_lens.web.deps import RunDep, SettingsDep
from backprop_lens.web.errors import NotFound
from backprop_lens.web.models import ERRORS, Health, Readiness, ScenarioInfo, ScenarioSource
from backprop_lens.web.readiness import memory_check
from backprop_lens.web.responses import SafeJSONResponse
from backprop_lens.web.settings import Settings
from fastapi import APIRouter, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import TemplateNotFound
from starlette.concurrency import run_in_threadpool

router = APIRouter()


def scenario_list(lang: str = "en") -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "title": scenario_words(lang, s.id, "title", s.title),
            "description": scenario_words(lang, s.id, "description", s.description),
            "params": s.Params().model_dump(),
            "schema": s.Params.model_json_schema(),
        }
        for s in SCENARIOS.values()
    ]


@router.get("/healthz", response_model=Health, tags=["meta"], summary="Liveness")
async def healthz() -> SafeJSONResponse:
    return SafeJSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["meta"],
    summary="Readiness: Graphviz, the PNG renderer, room in the queues",
    description="`200` when this process can answer: `dot` and the PNG renderer work (tried on a tiny graph, the "
    "answer kept a few seconds) and its lanes of work have room; else `503` with the same details.",
    responses={503: {"model": Readiness, "description": "not ready: `checks` says what is missing or full"}},
)
async def readyz(request: Request) -> SafeJSONResponse:
    store = request.app.state.store
    checks: dict[str, Any] = await run_in_threadpool(request.app.state.readiness.tools)
    lanes = store.compute.stats()["lanes"]
    full = [name for name, lane in lanes.items() if lane["inside"] >= lane["capacity"] and name != "png"]
    checks = {**checks, "queue": {"ok": not full, "detail": {"full": full, "lanes": lanes}}}
    ready = all(c["ok"] for c in checks.values())
    checks["memory"] = memory_check(store.stats())  # what it holds: for monitors, not a readiness condition
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return SafeJSONResponse(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@router.get(
    "/api/scenarios",
    response_model=list[ScenarioInfo],
    tags=["scenarios"],
    summary="Scenarios with their default parameters and parameter schema",
)
async def scenarios(
    request: Request, lang: Annotated[Lang, Query(description="language of titles and descriptions")] = "en"
) -> SafeJSONResponse:
    return SafeJSONResponse(request.app.state.scenarios if lang == "en" else scenario_list(lang))


@router.get(
    "/api/scenarios/{scenario_id}/source",
    response_model=ScenarioSource,
    responses={404: ERRORS[404]},
    tags=["scenarios"],
    summary="The scenario's own code, by the file names that node `source.file` uses",
)
async def scenario_source(scenario_id: str) -> SafeJSONResponse:
    scenario = get_scenario(scenario_id)
    return SafeJSONResponse({"scenario": scenario.id, "files": scenario.source_files()})


@router.get(
    "/api/runs/{run_id}/source",
    response_model=ScenarioSource,
    responses={404: ERRORS[404]},
    tags=["runs"],
    summary="The code of this run, by the file names that node `source.file` uses",
    description="As `/api/scenarios/{id}/source`, with this run's numbers where the code has them (Lecture 04's "
    "script, with its constants replaced by the run's parameters). It needs no computation.",
)
async def run_source(ref: RunDep) -> SafeJSONResponse:
    return SafeJSONResponse({"scenario": ref.scenario.id, "files": ref.scenario.source_files(ref.params)})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, settings: SettingsDep) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context = {"title": settings.title, "scenarios": request.app.state.scenarios}
    try:
        return templates.TemplateResponse(request, "index.html", context)
    except TemplateNotFound:
        raise NotFound([(("path",), Problem("error.page_missing"))]) from None


SWAGGER_DIR = "vendor/swagger-ui"  # under static/: swagger-ui-bundle.js and swagger-ui.css from swagger-ui-dist


def docs_router(settings: Settings) -> APIRouter:
    """/docs: Swagger UI, served from our static files when vendored so that it works offline, under its own CSP."""
    local = settings.static_dir / SWAGGER_DIR
    vendored = (local / "swagger-ui-bundle.js").is_file() and (local / "swagger-ui.css").is_file()
    if vendored:
        js_url, css_url = f"/static/{SWAGGER_DIR}/swagger-ui-bundle.js", f"/static/{SWAGGER_DIR}/swagger-ui.css"
        hosts = ""
    else:
        js_url = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
        css_url = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
        hosts = " https://cdn.jsdelivr.net"
    html = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{settings.title} API",
        swagger_js_url=js_url,
        swagger_css_url=css_url,
        swagger_favicon_url="data:,",  # no request to any other host
        # No validator badge: it would send the spec's URL to a third-party validator.
        swagger_ui_parameters={"validatorUrl": None},
    )
    headers = {"Content-Security-Policy": docs_csp(bytes(html.body).decode(), hosts)}
    docs = APIRouter()

    @docs.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return HTMLResponse(html.body, headers=headers)

    return docs


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def docs_csp(html: str, hosts: str = "") -> str:
    """Swagger UI's page: its one inline script (the SwaggerUIBundle call) allowed by its hash, never by
    'unsafe-inline'; no eval; no inline styles (Swagger UI styles through the CSSOM, which CSP allows: checked in
    Chromium by tests/test_security_browser.py)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}{hosts}; style-src 'self'{hosts}; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    )
