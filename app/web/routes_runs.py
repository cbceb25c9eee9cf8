"""Runs: create, summary + history, log, one step, a batch of steps, one step's graph as an image.

Everything under /api/runs/{id}/ is a pure function of the URL: cached bytes, strong ETag, immutable, 304.
"""

from __future__ import annotations

from typing import Annotated

from backprop_lens.scenarios import StepOutOfRange
from backprop_lens.web.deps import RunDep, SettingsDep, StoreDep, store_of
from backprop_lens.web.errors import BadInput
from backprop_lens.web.models import ERRORS, Format, PhaseName, RunCreated, RunRequest, RunSummary, StepOut, ThemeName
from backprop_lens.web.responses import SafeJSONResponse, immutable
from fastapi import APIRouter, Path, Query, Request, Response

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERRORS)

StepIndex = Annotated[int, Path(description="step index, 0-based (k = epoch * samples + sample)", examples=[0])]


@router.post(
    "",
    status_code=201,
    response_model=RunCreated,
    summary="Create (compute) a run",
    description='Validates the scenario and parameters (strictly: `"0.1"` is not a number), computes the run '
    "(up to 100,000 steps; seconds for the largest) and answers its id. The same configuration, in any key order "
    "or number spelling, always gets the same id, and the id resolves on any server process after any restart.",
)
async def create_run(body: RunRequest, store: StoreDep) -> SafeJSONResponse:
    ref = store.ref_for(body.scenario, body.params)
    run = await store.created(ref)
    url = f"/api/runs/{ref.id}"
    content = {
        "id": ref.id,
        "scenario": ref.scenario.id,
        "params": ref.params.model_dump(),
        "steps": run.step_count,
        "epochs": len(run.history.progress),
        "steps_per_epoch": ref.params.steps_per_epoch(),
        "diverged_at": run.diverged_at,
        "url": url,
    }
    return SafeJSONResponse(content, status_code=201, headers={"Location": url})


@router.get(
    "/{run_id}",
    response_model=RunSummary,
    summary="Summary and full history",
    description="Per step: inputs, loss, parameters (before, grad, after), prediction at x = 4; per epoch the "
    "progress loss; predictions before and after training; `diverged_at` for runs that overflow.",
)
async def get_run(request: Request, ref: RunDep) -> Response:
    return immutable(request, await store_of(request).summary(ref))


@router.get(
    "/{run_id}/log",
    response_class=Response,
    summary="The training log (text/plain)",
    description="Byte for byte what `backprop-lens run` prints for this configuration.",
    responses={200: {"content": {"text/plain": {"example": "predict (before training) 4 4.0\n"}}}},
)
async def get_log(request: Request, ref: RunDep) -> Response:
    return immutable(request, await store_of(request).log(ref))


@router.get(
    "/{run_id}/steps",
    response_model=list[StepOut],
    summary="A batch of steps (for smooth playback)",
    description="Steps `start` to `stop - 1` with their graphs, traced in one replay. At most `max_batch_steps` "
    "(500) per call; `stop` is clamped to the run's step count; page with `start = previous stop`.",
)
async def get_steps(
    request: Request,
    ref: RunDep,
    store: StoreDep,
    settings: SettingsDep,
    start: Annotated[int, Query(ge=0, description="first step", examples=[0])] = 0,
    stop: Annotated[int | None, Query(ge=1, description="one past the last step; default start + 100")] = None,
) -> Response:
    limit = settings.max_batch_steps
    if stop is None:
        stop = start + min(100, limit)
    if stop <= start:
        raise BadInput([(("query", "stop"), f"stop ({stop}) must be greater than start ({start})")])
    if stop - start > limit:
        raise BadInput([(("query", "stop"), f"at most {limit} steps per call: stop - start is {stop - start}")])
    count = (await store.created(ref)).step_count
    if start >= count:
        raise StepOutOfRange(start, count)
    return immutable(request, await store.steps(ref, start, min(stop, count)))


@router.get(
    "/{run_id}/steps/{k}",
    response_model=StepOut,
    summary="One step with its graph",
)
async def get_step(request: Request, ref: RunDep, k: StepIndex) -> Response:
    return immutable(request, await store_of(request).step(ref, k))


@router.get(
    "/{run_id}/steps/{k}/graph.{fmt}",
    response_class=Response,
    summary="One step's graph as a standalone image",
    description="`svg` (image/svg+xml), `png` (image/png), `dot` (text/vnd.graphviz) or `json` (the step JSON). "
    "Stable bytes for a stable URL: embed it in slides.",
    responses={
        200: {
            "content": {
                "image/svg+xml": {},
                "image/png": {},
                "text/vnd.graphviz": {},
                "application/json": {},
            }
        },
        503: {"description": "Graphviz (`dot`) or `rsvg-convert` is not installed"},
    },
)
async def get_graph(
    request: Request,
    ref: RunDep,
    k: StepIndex,
    fmt: Annotated[Format, Path(description="image format")],
    phase: Annotated[PhaseName, Query(description="what the graph shows")] = "backward",
    theme: Annotated[ThemeName, Query(description="colour theme")] = "light",
    collapse: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="modules to draw as one box each, comma-separated module paths as in the nodes' `module` "
            "fields (nested paths like `cnn.conv` too); an unknown name is a 422 naming `collapse`",
            examples=["layer1,layer2"],
        ),
    ] = None,
) -> Response:
    modules = tuple(sorted({m.strip() for m in (collapse or "").split(",") if m.strip()}))
    return immutable(request, await store_of(request).graph(ref, k, fmt, phase, theme, modules))
