"""What the page reads to show words: messages by key, a batch of steps' labels (with the step's explanation
and the inspector's lines), the log with the step and phase of each line, and the code version that URLs name.
"""

from __future__ import annotations

from typing import Annotated, Any

from backprop_lens.present import Lang
from backprop_lens.problems import Problem
from backprop_lens.render import module_names, version
from backprop_lens.web import labels
from backprop_lens.web.deps import RunDep, SettingsDep, StoreDep
from backprop_lens.web.errors import BadInput, NotFound
from backprop_lens.web.models import ERRORS, RUN_PARTS
from backprop_lens.web.responses import JSON, Body, SafeJSONResponse, dumps, immutable
from backprop_lens.web.routes_runs import ExpandQuery, answer, in_range
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

router = APIRouter(tags=["present"], responses=ERRORS)

# A step's labels (three phases of texts and full-precision tooltips, the explanation) against its step JSON.
LangQuery = Annotated[Lang, Query(description="language: `en` or `zh` (简体中文)")]


class VersionOut(BaseModel):
    version: str = Field(description="the render/present code version: add `?v=` it to run URLs to cache them forever")


class PhaseSlots(BaseModel):
    texts: dict[str, str] = Field(description="{slot: text} for every `data-label` of the SVG")
    tips: dict[str, str] = Field(description="{slot: tooltip} for every `data-tip` (`<title>`) of the SVG")
    template: str = Field(description="steps with the same value share one SVG template (same slots)")


class ExplainLine(BaseModel):
    phase: str = Field(description="forward | backward | update | zero_grad")
    node: str | None = Field(description="the node the line is about (highlight it while autograd visits it)")
    text: str


class StepLabels(BaseModel):
    step: int
    phases: dict[str, PhaseSlots] = Field(description="per phase (forward, backward, update)")
    explain: list[ExplainLine] = Field(description="the step worked in words and numbers, in PyTorch's order")
    inspector: dict[str, list[str]] = Field(description="per node id, its lines of the explanation")
    nodes: dict[str, dict[str, Any]] = Field(
        description="per node id, the inspector: title, rows (with the views that show them), chain rule, local "
        "derivative, and which tensor figures each view shows (GET .../steps/{k}/tensors has them)"
    )
    numbers: dict[str, Any] = Field(description="the readout's loss and each parameter's gradients, as text")
    practice: dict[str, dict[str, Any]] = Field(
        description="per node of the backward walk, practice mode's question: the words, the accepted interval "
        "`low`..`high` around PyTorch's gradient, the answer and the working"
    )


class LogLine(BaseModel):
    text: str
    step: int | None = Field(description="the step that printed it (null: before training)")
    phase: str | None = Field(description="forward | backward | update: when in that step it was printed")


@router.get("/api/version", response_model=VersionOut, summary="The code version run URLs may name (`?v=`)")
async def get_version() -> SafeJSONResponse:
    return SafeJSONResponse({"version": version.RENDER_VERSION}, headers={"Cache-Control": "no-cache"})


@router.get(
    "/api/messages",
    response_model=dict[str, str],
    summary="Every word of the page by message key",
    description="Page chrome, form help, chart titles, errors, inspector words: `{key: text}`. `{name}` marks a "
    "placeholder the page fills with a value the server sent.",
)
async def get_messages(request: Request, lang: LangQuery = "en") -> Response:
    return immutable(request, labels.messages_body(lang))


@router.get(
    "/api/runs/{run_id}/labels",
    response_model=list[StepLabels],
    responses=RUN_PARTS,
    summary="A batch of steps' labels, explanations and inspector lines",
    description="Per step and phase, every string of the step's SVG by slot (`data-label`, `data-tip`), so the "
    "page only places server strings; `stop` is clamped to the run; at most `max_batch_steps` per call.",
)
async def get_labels(
    request: Request,
    ref: RunDep,
    store: StoreDep,
    settings: SettingsDep,
    start: Annotated[int, Query(ge=0, description="first step")] = 0,
    stop: Annotated[int | None, Query(ge=1, description="one past the last step; default start + 100")] = None,
    lang: LangQuery = "en",
    collapse: Annotated[str | None, Query(max_length=2000, description="as for graph.svg")] = None,
    expand: ExpandQuery = None,
) -> Response:
    limit = settings.max_batch_steps
    stop = start + min(100, limit) if stop is None else stop
    if stop <= start:
        raise BadInput([(("query", "stop"), Problem("error.batch.order", {"stop": stop, "start": start}))])
    if stop - start > limit:
        too_many = Problem("error.batch.too_many", {"limit": limit, "count": stop - start})
        raise BadInput([(("query", "stop"), too_many)])
    if start >= ref.steps:
        past = Problem("error.batch.past_end", {"start": start, "last": ref.steps - 1})
        raise NotFound([(("query", "start"), past)])
    stop = min(stop, ref.steps)
    most = store.labels_limit(await store.labels_size(ref, request))
    if stop - start > most:
        big = Problem("error.batch.big_labels", {"most": most, "count": stop - start})
        raise BadInput([(("query", "stop"), big)])
    modules, opened = module_names(collapse), module_names(expand)  # canonical, as graph.svg's
    bound = settings.max_batch_bytes
    got = await store.body(
        ("labels", ref.id, start, stop, lang, modules, opened),
        ref,
        request,
        lambda e, token: labels.labels_body(ref, store.traced(e, start, stop, token), lang, modules, bound, opened),
        lambda e: store.replay_cost(e, start, stop),
    )
    return answer(request, ref, got)


class TensorFigure(BaseModel):
    label: str
    kind: str = Field(description="value | grad: which colour scale the page draws it with")
    dims: str = Field(description="the shape as text")
    rows: int
    cols: int
    grid: bool = Field(description="true: a grid of `cells`; false: a canvas of `shades`")
    cells: list[str] | None = Field(description="each element's short text (grid only)")
    shades: list[float | None] = Field(description="each element / max |element|, -1..1 (null: NaN)")
    tips: list[str] = Field(description="each listed element at full precision, with its index")
    low: str
    high: str
    summary: str
    listing: str = Field(description="every listed element at full precision, one per line")


@router.get(
    "/api/runs/{run_id}/steps/{k}/tensors",
    response_model=dict[str, TensorFigure],
    responses=RUN_PARTS,
    summary="The inspector's tensor figures of one node at one step",
    description="Keyed by what they show (`value`, `grad`, `before`, `after`, `update.grad`); a node without "
    "tensors (scalars) answers `{}`. Every text is the server's: the page formats no number.",
)
async def get_tensors(
    request: Request,
    ref: RunDep,
    store: StoreDep,
    k: Annotated[int, Path(description="step index, 0-based")],
    node: Annotated[str, Query(min_length=1, max_length=500, description="the node id, as in the step JSON")],
    lang: LangQuery = "en",
) -> Response:
    in_range(ref, k)
    got = await store.body(
        ("tensors", ref.id, k, node, lang),
        ref,
        request,
        lambda e, token: labels.tensors_body(store.traced(e, k, k + 1, token)[0], node, lang),
        lambda e: store.replay_cost(e, k, k + 1),
    )
    return answer(request, ref, got)


@router.get(
    "/api/runs/{run_id}/log.json",
    response_model=list[LogLine],
    responses=RUN_PARTS,
    summary="The training log, each line with the step and phase that printed it",
)
async def get_log_lines(request: Request, ref: RunDep, store: StoreDep) -> Response:
    got = await store.body(
        ("log.json", ref.id), ref, request, lambda e, _: Body.of(dumps(e.run.log_lines()), JSON), lambda _: ref.steps
    )
    return answer(request, ref, got)


def install(app: Any) -> None:
    """The router, and the run store's slide context (scenario and lr in every exported picture's title)."""
    app.state.store.context_of = labels.context_of
    app.include_router(router)
