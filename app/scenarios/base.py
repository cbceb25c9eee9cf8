"""What every scenario shares: validated parameters, the recorder a training loop reports to, the history."""

from __future__ import annotations

import contextlib
import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

# re-exported: the parameters live in torch-free modules (the CLI's --help), the scenarios use them from here
from backprop_lens.parameters.base import MAX_STEPS as MAX_STEPS
from backprop_lens.parameters.base import DataList as DataList
from backprop_lens.parameters.base import Finite as Finite
from backprop_lens.parameters.base import ScenarioParams as ScenarioParams
from backprop_lens.problems import Problem
from backprop_lens.snapshot import ParamState, Step
from backprop_lens.tracing import Tracer
from backprop_lens.tracing.sources import display_path

if TYPE_CHECKING:
    import torch

_SCENARIO_PACKAGE = "backprop_lens.scenarios."


def grad_of(t: torch.Tensor) -> torch.Tensor:
    """`t.grad`, after a backward pass has reached `t` (the loops read it only then)."""
    grad = t.grad
    assert grad is not None, "backward() has not reached this parameter"
    return grad


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of the history: enough for charts and the console, without the graph."""

    index: int
    epoch: int
    sample: int | None
    inputs: dict[str, Any]
    loss: Any
    params: dict[str, ParamState]
    prediction: Any = None


@dataclass(frozen=True, slots=True)
class Progress:
    epoch: int
    loss: Any


@dataclass(frozen=True, slots=True)
class Prediction:
    when: str  # "before" | "after"
    x: Any
    value: Any


class ReplayDone(Exception):
    """Raised by the recorder once the last wanted step is recorded: the rest of the run is not needed."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a replay may start instead of step 0: the history's records of step k and of step k - 1."""

    step: StepRecord
    previous: StepRecord


@dataclass(frozen=True, slots=True)
class LogMark:
    """Which step and phase printed a log line: None before the first step (`predict (before training)`).

    `phase`: "forward" inside the step's forward/backward block (the loss printed before backward), "backward"
    after backward and before the step is recorded (Lecture 04's grad line), "update" after it (progress lines,
    the closing predict line: printed after that step's update)."""

    step: int | None
    phase: str | None


@dataclass
class Recorder:
    """What a training loop reports to. Traces the steps in `trace`; stops the loop after `stop` steps.

    A loop that can (`Scenario.resumable`) starts at `resume.step` with the state the history recorded.
    """

    trace: range = range(0)
    stop: int | None = None
    resume: Resume | None = None
    log: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    progress: list[Progress] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    snapshots: dict[int, Step] = field(default_factory=dict)
    # Called with the number of steps done after each step: progress, and the server's cancel point (it raises).
    on_step: Callable[[int], None] | None = None
    marks: list[LogMark] = field(default_factory=list)  # one per log line: the step and phase that printed it
    _at: LogMark = LogMark(None, None)

    @contextlib.contextmanager
    def tracing(
        self,
        index: int,
        params: Mapping[str, Any],
        inputs: Mapping[str, Any],
        modules: Mapping[str, Any] | None = None,
    ) -> Iterator[Tracer | None]:
        """Wrap one step's forward and backward: a tracer when the step is wanted, nothing otherwise.

        `modules` ({path: nn.Module}) lets the graph group nodes by the module they belong to.
        """
        self._at = LogMark(index, "forward")
        try:
            if index not in self.trace:
                yield None
                return
            with Tracer(params=params, inputs=inputs, modules=modules) as tracer:
                yield tracer
        finally:
            self._at = LogMark(index, "backward")

    def record(self, step: StepRecord, tracer: Tracer | None) -> None:
        self.steps.append(step)
        self._at = LogMark(step.index, "update")
        if tracer is not None and tracer.graphs:
            self.snapshots[step.index] = Step(
                index=step.index,
                epoch=step.epoch,
                sample=step.sample,
                loss=step.loss,
                params=step.params,
                graph=tracer.graph,
                inputs=step.inputs,
            )
        if self.on_step is not None:
            self.on_step(step.index + 1)
        if self.stop is not None and step.index + 1 >= self.stop:
            raise ReplayDone

    def line(self, text: str) -> None:
        self.log.append(text)
        self.marks.append(self._at)


P = TypeVar("P", bound=ScenarioParams)


class Scenario(ABC, Generic[P]):
    """A named, parameterised training setup. `train` is the real PyTorch loop, reporting to a Recorder.

    Generic in its parameters' class (`Params`): every method gets them typed, never as Any."""

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[ScenarioParams]]
    # True when `train` honours `Recorder.resume`: a step is then traced without replaying the steps before it.
    resumable: ClassVar[bool] = False

    @abstractmethod
    def train(self, params: P, rec: Recorder) -> None: ...

    def step_count(self, params: P) -> int:
        return int(params.epochs) * params.steps_per_epoch()

    # The loss as the code writes it, for a slide's title (the model is in `title`, or in `formulas`).
    loss_text: ClassVar[str] = ""

    def run_errors(self, params: P) -> list[tuple[str, Problem]]:
        """Checks that need PyTorch (a dry step), after the parameters' own: (field, Problem) pairs."""
        return []

    def formulas(self, params: P) -> tuple[str, str]:
        """(model, loss) as a slide's title says them; "" where the title already says it."""
        return "", self.loss_text

    def source_files(self, params: P | None = None) -> dict[str, str]:
        """The code this scenario runs, by the file names node sources use (`backprop_lens/scenarios/lecture.py`):
        its own module and the loops it inherits, so a node's `source.line` can be shown in its file."""
        files: dict[str, str] = {}
        for cls in type(self).__mro__:
            module = sys.modules.get(cls.__module__)
            path = getattr(module, "__file__", None)
            if path is None or not cls.__module__.startswith(_SCENARIO_PACKAGE) or cls.__module__ == __name__:
                continue
            name = display_path(path)
            if name not in files:
                files[name] = Path(path).read_text(encoding="utf-8")
        return files


def is_finite(value: Any) -> bool:
    """True when every number in a (nested) value is finite."""
    if isinstance(value, (list, tuple)):
        return all(is_finite(v) for v in value)
    if isinstance(value, dict):
        return all(is_finite(v) for v in value.values())
    return not isinstance(value, float) or math.isfinite(value)
