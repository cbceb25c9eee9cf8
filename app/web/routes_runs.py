"""Runs: create, status, summary + history, log, one step, a batch of steps, one step's graph as an image.

Everything under /api/runs/{id}/ is a pure function of the URL: cached bytes, strong ETag, immutable, 304.
A run too big to compute while the client waits answers `202` with its status instead (see `accepted`).
"""

from __future__ import annotations

from typing import Annotated, Any

from backprop_lens.present import Lang
from backprop_lens.problems import Problem
from backprop_lens.render import LIMIT, Fit, Format, ThemeName, module_names, version
from backprop_lens.scenarios import StepOutOfRange
from backprop_lens.snapshot import Phase
from backprop_lens.web.deps import RunDep, SettingsDep, StoreDep, store_of
from backprop_lens.web.errors import BadInput, NotFound, request_lang
from backprop_lens.web.jobs import Job
from backprop_lens.web.models import (
    ERRORS,
    RUN_PARTS,
    RunAccepted,
    RunCreated,
    RunRequest,
    RunStatus,
    RunSummary,
    StepOut,
)
from backprop_lens.web.responses import Body, SafeJSONResponse, immutable
from backprop_lens.web.runs import RunRef
from fastapi import APIRouter, Path, Query, Request, Response

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERRORS)

StepIndex = Annotated[int, Path(description="step index, 0-based (k = epoch * samples + sample)", examples=[0])]
ExpandQuery = Annotated[
    str | None,
    Query(
        max_length=2000,
        description="modules to open, comma-separated module paths (their children are drawn as boxes instead), "
        f"or `*` for everything. Without `collapse`: a graph of more than {LIMIT} nodes opens collapsed to the deepest "
        "module level that fits (no deeper than its repeated blocks), and these stay open; with `collapse`: the "
        "named boxes, but a box that is or holds an expanded module opens (expand wins). An unknown name is a 422 "
        "naming `expand`",
        examples=["layer1", "*"],
    ),
]
NO_STORE = "no-store"
# Set by a proxy that routes /api/runs/{id}/... by run id (deploy/nginx.conf): this POST may land on another
# backend than the run's, so a big run is not started here but by its first status request, where it belongs.
ROUTED_BY = "x-backprop-lens-routed-by"


def status_url(ref: RunRef) -> str:
    return f"/api/runs/{ref.id}/status"


def versioned_links(ref: RunRef) -> dict[str, str]:
    """The run's URLs that name this code's version (`?v=`): served `immutable`, and a new version (a changed
    label or layout) changes them, so a slide that embeds one never mixes old bytes with new ones. `{k}` is a
    step index (an RFC 6570 template)."""
    base, v = f"/api/runs/{ref.id}", f"v={version.RENDER_VERSION}"
    return {
        "summary": f"{base}?{v}",
        "log": f"{base}/log?{v}",
        "log_lines": f"{base}/log.json?{v}",
        "labels": f"{base}/labels?{v}",
        "step": f"{base}/steps/{{k}}?{v}",
        "graph_svg": f"{base}/steps/{{k}}/graph.svg?{v}",
        "graph_png": f"{base}/steps/{{k}}/graph.png?{v}",
    }


def accepted(ref: RunRef, status: dict[str, Any], **extra: Any) -> SafeJSONResponse:
    """202: the run is computing; its status now, `Location` to poll (each poll keeps the run alive)."""
    content = {"id": ref.id, "url": f"/api/runs/{ref.id}", "status_url": status_url(ref), **extra, **status}
    content |= {"version": version.RENDER_VERSION, "links": versioned_links(ref)}
    headers = {"Location": status_url(ref), "Cache-Control": NO_STORE, "Retry-After": "1"}
    return SafeJSONResponse(content, status_code=202, headers=headers)


def in_range(ref: RunRef, k: int) -> None:
    """404 before any work: the step count is known from the configuration."""
    if not 0 <= k < ref.steps:
        raise StepOutOfRange(k, ref.steps)


def answer(request: Request, ref: RunRef, got: Body | Job) -> Response:
    if isinstance(got, Job):
        got.token.touch(request.app.state.settings.abandon_s)
        return accepted(ref, got.status(request_lang(request)))
    return immutable(request, got)


@router.post(
    "",
    status_code=201,
    response_model=RunCreated,
    responses={202: {"model": RunAccepted, "description": "a big run, computing: poll `Location` (its status)"}},
    summary="Create (compute) a run",
    description='Validates the scenario and parameters (strictly: `"0.1"` is not a number) and its cost (steps x '
    "graph size, at most `max_cost`), computes the run and answers its id (`201`). A run above `async_cost` is "
    "accepted with `202` and computed in the background: poll its status (`Location`); nobody polling for "
    "`abandon_s` cancels it. The same configuration, in any key order or number spelling, always gets the same id, "
    "and the id resolves on any server process after any restart.",
)
async def create_run(request: Request, body: RunRequest, store: StoreDep) -> SafeJSONResponse:
    ref = store.ref_for(body.scenario, body.params)
    routed = request.headers.get(ROUTED_BY) == "run-id"
    got = await store.obtain(ref, request, loc=("body", "params", "epochs"), defer=routed)
    common = {"scenario": ref.scenario.id, "params": ref.params.model_dump(), "steps": ref.steps}
    if isinstance(got, (Job, dict)):
        status = got.status(request_lang(request)) if isinstance(got, Job) else got
        return accepted(ref, status, **common, steps_per_epoch=ref.params.steps_per_epoch())
    run = got.run
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
        "version": version.RENDER_VERSION,
        "links": versioned_links(ref),
    }
    return SafeJSONResponse(content, status_code=201, headers={"Location": url})


@router.get(
    "/{run_id}/status",
    response_model=RunStatus,
    summary="A run's progress",
    description="`queued`, `running` (with `progress` 0..1), `done` or `failed` (with a `message`). Asking keeps a "
    "run accepted with `202` alive, and starts a run that is not computing (any more). Never cached.",
)
async def get_status(request: Request, ref: RunDep, store: StoreDep) -> SafeJSONResponse:
    status = await store.status(ref, request)
    return SafeJSONResponse(status, headers={"Cache-Control": NO_STORE})


@router.get(
    "/{run_id}",
    response_model=RunSummary,
    responses=RUN_PARTS,
    summary="Summary and full history",
    description="Per step: inputs, loss, parameters (before, grad, after), prediction at x = 4; per epoch the "
    "progress loss; predictions before and after training; `diverged_at` for runs that overflow.",
)
async def get_run(request: Request, ref: RunDep) -> Response:
    return answer(request, ref, await store_of(request).summary(ref, request))


@router.get(
    "/{run_id}/log",
    response_class=Response,
    summary="The training log (text/plain)",
    description="Byte for byte what `backprop-lens run` prints for this configuration.",
    responses={200: {"content": {"text/plain": {"example": "predict (before training) 4 4.0\n"}}}, **RUN_PARTS},
)
async def get_log(request: Request, ref: RunDep) -> Response:
    return answer(request, ref, await store_of(request).log(ref, request))


@router.get(
    "/{run_id}/steps",
    response_model=list[StepOut],
    responses=RUN_PARTS,
    summary="A batch of steps (for smooth playback)",
    description="Steps `start` to `stop - 1` with their graphs, traced in one replay. At most `max_batch_steps` "
    "(500) per call, and fewer for big graphs (`max_batch_bytes` of JSON: the 422 names the most); `stop` is "
    "clamped to the run's step count; page with `start = previous stop`.",
)
async def get_steps(
    request: Request,
    ref: RunDep,
    store: StoreDep,
    settings: SettingsDep,
    start: Annotated[int, Query(ge=0, description="first step", examples=[0])] = 0,
    stop: Annotated[int | None, Query(ge=1, description="one past the last step; default start + 100")] = None,
) -> Response:
    if stop is None:
        stop = start + min(100, settings.max_batch_steps)
    if stop <= start:
        raise BadInput([(("query", "stop"), Problem("error.batch.order", {"stop": stop, "start": start}))])
    if stop - start > settings.max_batch_steps:
        too_many = Problem("error.batch.too_many", {"limit": settings.max_batch_steps, "count": stop - start})
        raise BadInput([(("query", "stop"), too_many)])
    count = ref.steps
    if start >= count:
        raise NotFound([(("query", "start"), StepOutOfRange(start, count).problem)])
    stop = min(stop, count)
    limit = store.batch_limit(await store.profile(ref, request))
    if stop - start > limit:
        big = Problem("error.batch.big_steps", {"most": limit, "count": stop - start})
        raise BadInput([(("query", "stop"), big)])
    return answer(request, ref, await store.steps(ref, request, start, stop))


@router.get(
    "/{run_id}/steps/{k}",
    response_model=StepOut,
    responses=RUN_PARTS,
    summary="One step with its graph",
)
async def get_step(request: Request, ref: RunDep, k: StepIndex) -> Response:
    in_range(ref, k)
    return answer(request, ref, await store_of(request).step(ref, request, k))


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
        503: {"description": "Graphviz (`dot`) is not installed, or the server is full"},
        **RUN_PARTS,
    },
)
async def get_graph(
    request: Request,
    ref: RunDep,
    k: StepIndex,
    fmt: Annotated[Format, Path(description="image format")],
    phase: Annotated[Phase, Query(description="what the graph shows")] = "backward",
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
    expand: ExpandQuery = None,
    lang: Annotated[Lang, Query(description="language of every word in the picture")] = "en",
    fit: Annotated[
        Fit | None,
        Query(
            description="`slide`: 16:9, padded and titled with the run; `tall`: laid out closest to 3:4 (a phone); "
            "`stage`: presenter mode's larger type, no in-picture header"
        ),
    ] = None,
) -> Response:
    in_range(ref, k)
    modules, opened = module_names(collapse), module_names(expand)  # canonical: one cache entry per set
    store = store_of(request)
    got = await store.graph(ref, request, k, fmt, phase, theme, modules, lang, fit, expand=opened)
    return answer(request, ref, got)
