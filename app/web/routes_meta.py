"""Health, the scenario list, and the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import TemplateNotFound

from app.scenarios import SCENARIOS
from app.web.deps import SettingsDep
from app.web.errors import NotFound
from app.web.models import Health, ScenarioInfo
from app.web.responses import SafeJSONResponse
from app.web.settings import Settings

router = APIRouter()


def scenario_list() -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "title": s.title,
            "description": s.description,
            "params": s.Params().model_dump(),
            "schema": s.Params.model_json_schema(),
        }
        for s in SCENARIOS.values()
    ]


@router.get("/healthz", response_model=Health, tags=["meta"], summary="Liveness")
async def healthz() -> SafeJSONResponse:
    return SafeJSONResponse({"status": "ok"})


@router.get(
    "/api/scenarios",
    response_model=list[ScenarioInfo],
    tags=["scenarios"],
    summary="Scenarios with their default parameters and parameter schema",
)
async def scenarios(request: Request) -> SafeJSONResponse:
    return SafeJSONResponse(request.app.state.scenarios)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, settings: SettingsDep) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context = {"title": settings.title, "scenarios": request.app.state.scenarios}
    try:
        return templates.TemplateResponse(request, "index.html", context)
    except TemplateNotFound:
        raise NotFound([(("path",), "the page is not installed (templates/index.html is missing)")]) from None


SWAGGER_DIR = "vendor/swagger-ui"  # under static/: swagger-ui-bundle.js and swagger-ui.css from swagger-ui-dist


def docs_router(settings: Settings) -> APIRouter:
    """/docs: Swagger UI, served from our static files when vendored so that it works offline."""
    local = settings.static_dir / SWAGGER_DIR
    vendored = (local / "swagger-ui-bundle.js").is_file() and (local / "swagger-ui.css").is_file()
    assets = (
        {
            "swagger_js_url": f"/static/{SWAGGER_DIR}/swagger-ui-bundle.js",
            "swagger_css_url": f"/static/{SWAGGER_DIR}/swagger-ui.css",
            "swagger_favicon_url": "data:,",  # no request to any other host
        }
        if vendored
        else {}
    )
    docs = APIRouter()

    @docs.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{settings.title} API", **assets)

    return docs
