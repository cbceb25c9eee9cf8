"""Request and response models: the API's typed contract and its OpenAPI documentation (with examples).

Responses under /api/runs/{id}/... are served as cached bytes; these models document their shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Value = Annotated[
    Any,
    Field(
        description="As `tensor.tolist()` gives it: a number (0-d tensor) or nested lists; "
        'non-finite numbers as the strings "NaN", "Infinity", "-Infinity"; null when unknown.',
        examples=[-2.0],
    ),
]

LECTURE04_DEFAULTS: dict[str, Any] = {
    "lr": 0.01,
    "epochs": 100,
    "x": [1.0, 2.0, 3.0],
    "y": [2.0, 4.0, 6.0],
    "zero_grad": True,
    "w": 1.0,
}


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    detail: Any = Field(description="what was found, or what is missing")


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "graphviz": {"ok": True, "detail": "rendered a test graph (3560 bytes) with /usr/bin/dot"},
                        "png": {"ok": True, "detail": "rendered a test graph (84798 bytes)"},
                        "queue": {"ok": True, "detail": {"full": [], "lanes": {}}},
                        "memory": {
                            "ok": True,
                            "detail": {
                                "bytes": 52428800,
                                "memory_bytes": 335544320,
                                "rss_bytes": 398458880,
                                "caches": {"runs": 41943040, "bodies": 10485760},
                            },
                        },
                    },
                }
            ]
        }
    )
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]


class ScenarioSource(BaseModel):
    scenario: str
    files: dict[str, str] = Field(description="file name (as in a node's `source.file`) -> its text")


class ScenarioInfo(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "lecture04",
                    "title": "Lecture 04: y_hat = x * w",
                    "description": "Per-sample SGD on (x * w - y) ** 2, exactly the lecture's script.",
                    "params": LECTURE04_DEFAULTS,
                    "schema": {"title": "Lecture04Params", "type": "object", "properties": {"lr": {"type": "number"}}},
                }
            ]
        }
    )
    id: str
    title: str
    description: str
    params: dict[str, Any] = Field(description="the default parameters")
    params_schema: dict[str, Any] = Field(alias="schema", description="JSON schema of the parameters")


class RunRequest(BaseModel):
    """A scenario and the parameters that differ from its defaults (any subset; unknown names are refused)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"scenario": "lecture04", "params": {}},
                {"scenario": "lecture04", "params": {"lr": 0.02, "epochs": 10}},
                {"scenario": "quadratic", "params": {"w1": 0.5, "x": [1.0, 2.0], "y": [3.0, 5.0]}},
            ]
        },
    )
    scenario: str = Field(max_length=64, description="a scenario id from GET /api/scenarios", examples=["lecture04"])
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="parameters, validated strictly against the scenario's schema (no strings for numbers)",
        examples=[{"lr": 0.02}],
    )


LINKS = (
    "the run's URLs under `?v=version`, served `immutable` (a new version changes them): `summary`, `log`, "
    "`log_lines`, `labels`, and per step (`{k}`, an RFC 6570 template) `step`, `graph_svg`, `graph_png`"
)


class RunCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "lecture04",
                    "scenario": "lecture04",
                    "params": LECTURE04_DEFAULTS,
                    "steps": 300,
                    "epochs": 100,
                    "steps_per_epoch": 3,
                    "diverged_at": None,
                    "url": "/api/runs/lecture04",
                    "version": "3f2a9c1e",
                    "links": {
                        "summary": "/api/runs/lecture04?v=3f2a9c1e",
                        "graph_svg": "/api/runs/lecture04/steps/{k}/graph.svg?v=3f2a9c1e",
                    },
                }
            ]
        }
    )
    id: str = Field(description="encodes the configuration: resolves on any server process, after any restart")
    scenario: str
    params: dict[str, Any] = Field(description="all parameters, validated")
    steps: int
    epochs: int
    steps_per_epoch: int
    diverged_at: int | None = Field(description="first step whose loss or parameters are not finite, or null")
    url: str = Field(description="the summary; revalidated (`no-cache` + ETag), stable across versions")
    version: str = Field(description="this code's version (`GET /api/version`): what the `links` name")
    links: dict[str, str] = Field(description=LINKS)


class RunStatus(BaseModel):
    """A run's progress (`GET /api/runs/{id}/status`, and the body of every `202`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"state": "running", "progress": 0.25, "steps_done": 7500, "steps": 30000}]}
    )
    state: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1, description="steps_done / steps")
    steps_done: int
    steps: int
    message: str | None = Field(None, description="why a failed run stopped")


class RunAccepted(RunStatus):
    """A run computing in the background: poll `status_url` (each poll keeps it alive), then read `url`."""

    id: str
    url: str
    status_url: str
    version: str
    links: dict[str, str] = Field(description=LINKS)


class ParamStateOut(BaseModel):
    before: Value
    grad: Value = Field(description="`.grad` after backward")
    after: Value
    grad_step: Value = Field(description="this backward's own contribution to `.grad`")
    update: dict[str, Any] | None = Field(
        None, description="what the optimizer did: optimizer, hyper, state_before, state_after, formula, grad"
    )


class HistoryStep(BaseModel):
    step: int
    epoch: int
    sample: int | None
    inputs: dict[str, Value]
    loss: Value
    prediction: Value = Field(description="the model's prediction at x = 4 after this step's update")
    params: dict[str, ParamStateOut]


class ProgressOut(BaseModel):
    epoch: int
    loss: Value


class PredictionOut(BaseModel):
    x: Value
    value: Value
    text: str = Field(description="the value as the page shows it")


class LossCurve(BaseModel):
    """L(w) for the charts: PyTorch's loss of each sample on a grid of w (the page draws the step's sample)."""

    param: str = Field(description="the one parameter", examples=["w"])
    w: list[float] = Field(description="the grid, holding every finite w of the run")
    view: list[float] = Field(description="[low, high]: the part of the grid the chart opens on")
    loss: list[list[Value]] = Field(description="per sample, the loss at each grid point")


class RunSummary(BaseModel):
    id: str
    scenario: str
    params: dict[str, Any]
    steps: int
    epochs: int
    diverged_at: int | None
    history: list[HistoryStep]
    progress: list[ProgressOut]
    predictions: dict[Literal["before", "after"], PredictionOut]
    titles: dict[str, str] = Field(
        description="by language: scenario · model · loss · lr, the title presenter mode and slides show"
    )
    curve: LossCurve | None = Field(None, description="L(w) of a one-parameter per-sample scenario, else null")
    predict_target: PredictionOut | None = Field(
        None, description="what the data's own line through the origin gives at the prediction point, else null"
    )


class NodeOut(BaseModel):
    id: str = Field(description="stable across the steps of a run", examples=["w"])
    kind: Literal["param", "data", "const", "op"]
    name: str | None = None
    op: str | None = Field(None, description="readable operator", examples=["*"])
    grad_fn: str | None = Field(None, examples=["MulBackward0"])
    shape: list[int]
    value: Value
    grad: Value
    grad_step: Value = None
    is_loss: bool = False
    order: int | None = None
    module: str | None = None
    outputs: list[dict[str, Value]] = Field(default=[], description="every output's value and grad (multi-output)")
    source: dict[str, Any] | None = Field(None, description="the line of code that made the node: file, line, code")


class EdgeOut(BaseModel):
    source: str
    target: str
    slot: int = 0
    grad: Value = Field(description="the gradient sent back along this edge = upstream x local")
    upstream: Value = None
    local: Value = None
    output: int = Field(0, description="which output of the source node this edge leaves")
    relation: dict[str, Any] | None = Field(
        None, description="kind (elementwise, reduce, matmul, jacobian, opaque), formula, and its numbers"
    )


class GraphOut(BaseModel):
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class StepOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "step": 0,
                    "epoch": 0,
                    "sample": 0,
                    "loss": 1.0,
                    "inputs": {"x": 1.0, "y": 2.0},
                    "params": {"w": {"before": [1.0], "grad": [-2.0], "after": [1.02], "grad_step": [-2.0]}},
                    "graph": {"nodes": [], "edges": []},
                }
            ]
        }
    )
    step: int
    epoch: int
    sample: int | None
    loss: Value
    inputs: dict[str, Value]
    params: dict[str, ParamStateOut]
    graph: GraphOut


class ErrorItem(BaseModel):
    loc: list[str | int]
    field: str = Field(description="the bad field, e.g. `lr` or `x.2`")
    msg: str = Field(description="the message, in the request's language (?lang=zh or Accept-Language)")
    type: str
    key: str = Field("", description="the message catalog's key, e.g. `error.greater_than`")
    args: dict[str, Any] = Field(default_factory=dict, description='its placeholders (a part as {"key", "args"})')
    span: list[int] | None = Field(None, description="[start, end): the characters of the field's text it is about")
    related: list[str] = Field(default_factory=list, description="the other fields involved (x for a y too short)")


class ErrorOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": [
                        {
                            "loc": ["body", "params", "lr"],
                            "field": "lr",
                            "msg": "lr must be greater than 0",
                            "type": "invalid",
                            "key": "error.greater_than",
                            "args": {"what": "lr", "gt": 0},
                        }
                    ],
                    "message": "lr: must be greater than 0",
                }
            ]
        }
    )
    detail: list[ErrorItem]
    message: str


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "unknown run id, scenario or step"},
    422: {"model": ErrorOut, "description": "bad input; `field` names it"},
    503: {"model": ErrorOut, "description": "the server is full (`Retry-After` says when to retry)"},
}
# Under /api/runs/{run_id}/: a run still computing, and a non-canonical spelling of an id.
RUN_PARTS: dict[int | str, dict[str, Any]] = {
    202: {"model": RunAccepted, "description": "the run is still computing: its status (`Location`: status URL)"},
    308: {"description": "a non-canonical spelling of the run id: `Location` is the canonical URL"},
}
