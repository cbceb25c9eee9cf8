"""Health, the scenario list, and the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import TemplateNotFound

from app.scenarios import SCENARIOS
from app.web.deps import SettingsDep
from app.web.errors import NotFound
from app.web.models import Health, ScenarioInfo
from app.web.responses import SafeJSONResponse

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
