"""Lecture 04's loop, for any model `y_hat = f(x; params)` of scalar parameters: per-sample SGD on
`loss = (y_hat - y) ** 2`, printing exactly what the lecture's script prints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import torch
from backprop_lens.parameters.base import DataList as DataList  # re-exported
from backprop_lens.parameters.sgd import SgdParams as SgdParams  # re-exported
from backprop_lens.scenarios.base import (
    Prediction,
    Progress,
    Recorder,
    Resume,
    Scenario,
    StepRecord,
    grad_of,
)
from backprop_lens.scenarios.updates import plain_sgd, same_as, shared
from backprop_lens.snapshot import ParamState
from backprop_lens.tracing import Datum
from backprop_lens.tracing import name as name_result

PREDICT_X = 4  # the lecture predicts at the int 4 and prints "4"


def squared_error(y_hat: torch.Tensor, y: Any, x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The lecture's loss, (y_hat - y) ** 2, with its residual named as the lecture reads it."""
    return name_result(y_hat - y, "y_hat - y") ** 2


def sample_inputs(x: float, y: float) -> dict[str, float]:
    """A step's `{"x", "y"}`: one dict per sample for the whole run (an epoch repeats them), not one per step."""
    return shared(("inputs", repr(x), repr(y)), lambda: {"x": x, "y": y})  # repr: -0.0 is not 0.0 in JSON


Model = Callable[[Any, Mapping[str, torch.Tensor]], torch.Tensor]
Loss = Callable[[torch.Tensor, Any, Any, Mapping[str, torch.Tensor]], torch.Tensor]


S = TypeVar("S", bound=SgdParams)


class PerSampleSgd(Scenario[S], Generic[S]):
    """A scenario defined by its parameter names (in declaration order) and its forward function."""

    param_names: ClassVar[tuple[str, ...]]
    loss_text = "loss = (y_hat - y)**2"

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def model(self, params: S) -> Model:
        """The forward function for these parameters (the custom scenario builds it from an expression)."""
        return self.forward

    def loss(self, params: S) -> Loss:
        """The per-sample loss `(y_hat, y, x, tensors) -> tensor`; the lecture's squared error by default."""
        return squared_error

    def sample_loss(
        self, params: S, tensors: Mapping[str, torch.Tensor], forward: Callable[[Any], torch.Tensor]
    ) -> Callable[[Any, Any], torch.Tensor]:
        """One sample's loss `(x, y) -> tensor`, given the named forward: `loss(params)` of `forward(x)`."""
        loss_of = self.loss(params)
        return lambda x, y: loss_of(forward(x), y, x, tensors)

    def initial_values(self, params: S) -> dict[str, float]:
        """Initial parameter values in declaration order (that order is the grad line's order)."""
        return {name: float(getattr(params, name)) for name in self.param_names}

    resumable = True

    def train(self, params: S, rec: Recorder) -> None:
        start = rec.resume.step.index if rec.resume else 0
        tensors = self._init_params(params) if rec.resume is None else self._restore(params, rec.resume)
        model = self.model(params)
        contributions: dict[str, Any] = {}
        for name, t in tensors.items():  # the gradient each backward sends, before it is accumulated
            t.register_hook(lambda g, name=name: contributions.__setitem__(name, g.tolist()))

        def forward(x: Any) -> torch.Tensor:
            return name_result(model(x, tensors), "y_hat")

        loss = self.sample_loss(params, tensors, forward)

        if start == 0:
            rec.predictions.append(Prediction("before", PREDICT_X, forward(PREDICT_X).item()))
            rec.line(f"predict (before training) {PREDICT_X} {rec.predictions[-1].value}")
        k = start
        first_epoch, first_sample = divmod(start, len(params.x))
        after: dict[str, Any] = {}
        for epoch in range(first_epoch, params.epochs):
            for i in range(first_sample if epoch == first_epoch else 0, len(params.x)):
                x, y = Datum(params.x[i]), Datum(params.y[i])
                # the step before's `after` (one list for both: a long history holds it once)
                before = {n: same_as(t.tolist(), after.get(n)) for n, t in tensors.items()}
                with rec.tracing(k, tensors, {"x": x, "y": y}) as tracer:
                    l = name_result(loss(x, y), "loss")  # noqa: E741 — the lecture's name
                    l.backward()
                grads = {n: grad_of(t).tolist() for n, t in tensors.items()}
                rec.line("\tgrad: " + " ".join(str(v) for v in [x, y, *(grad_of(t).item() for t in tensors.values())]))
                for t in tensors.values():
                    grad = grad_of(t)
                    t.data = t.data - params.lr * grad.data
                    if params.zero_grad:
                        grad.data.zero_()
                after = {n: t.tolist() for n, t in tensors.items()}
                states = {
                    n: ParamState(
                        before=before[n],
                        grad=grads[n],
                        after=after[n],
                        grad_step=same_as(contributions.get(n), grads[n]),
                        update=plain_sgd(n, params.lr, grads[n], params.zero_grad),
                    )
                    for n in tensors
                }
                with torch.no_grad():
                    prediction = forward(PREDICT_X).item()
                inputs = sample_inputs(float(x), float(y))
                record = StepRecord(k, epoch, i, inputs, l.item(), states, prediction)
                rec.record(record, tracer)
                k += 1
            rec.progress.append(Progress(epoch, l.item()))
            rec.line(f"progress: {epoch} {rec.progress[-1].loss}")
        rec.predictions.append(Prediction("after", PREDICT_X, forward(PREDICT_X).item()))
        rec.line(f"predict (after training) {PREDICT_X} {rec.predictions[-1].value}")

    def _restore(self, params: S, resume: Resume) -> dict[str, torch.Tensor]:
        """The state the loop had before step k: the values the history recorded, float32 to float32 exactly.

        `.grad` is what the loop left: zeros after `zero_()`, else the accumulated gradient of step k - 1.
        """
        tensors = {}
        for name, state in resume.step.params.items():
            t = torch.tensor(state.before)
            t.requires_grad = True
            grad = torch.tensor(resume.previous.params[name].grad)
            t.grad = torch.zeros_like(grad) if params.zero_grad else grad
            tensors[name] = t
        return tensors

    def _init_params(self, params: S) -> dict[str, torch.Tensor]:
        tensors = {}
        for name, value in self.initial_values(params).items():
            t = torch.tensor([value])
            t.requires_grad = True
            tensors[name] = t
        return tensors
