"""Full-batch training of an nn.Module with a torch.optim optimizer: Lectures 05, 06, 09 and the two-layer net.

One step per epoch, in Lecture 05's order: forward, loss, (print), optimizer.zero_grad(), backward,
optimizer.step(). Everything a run depends on is built afresh inside `train` from the parameters, with the
seed applied, so replaying step k (which re-runs `train` from the start) gives the very same numbers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import torch
from backprop_lens.parameters.batch import BatchParams as BatchParams  # re-exported
from backprop_lens.parameters.batch import OptimizerName as OptimizerName  # re-exported
from backprop_lens.parameters.batch import PairedBatchParams as PairedBatchParams  # re-exported
from backprop_lens.scenarios import optim
from backprop_lens.scenarios.base import (
    Prediction,
    Progress,
    Recorder,
    Scenario,
    StepRecord,
    grad_of,
)
from backprop_lens.scenarios.updates import optimizer_update, read_state, same_as
from backprop_lens.snapshot import ParamState
from backprop_lens.tracing import name as name_result

# torch.manual_seed sets the process-wide generator: one seeded construction at a time, and the caller's
# generator state is restored afterwards (fork_rng) so that a run never disturbs anybody else's randomness.
_SEED_LOCK = threading.Lock()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """The optimizer a student would write, with PyTorch's defaults apart from lr (momentum 0.9 for SGD)."""
    optim.without_dynamo_import()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


@dataclass
class Setup:
    """What one run trains: built fresh (and seeded) by every `train` call."""

    model: torch.nn.Module
    criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    x: torch.Tensor
    y: torch.Tensor


B = TypeVar("B", bound=BatchParams)


class FullBatch(Scenario[B], Generic[B]):
    """Subclasses build the setup and word the log; the loop is shared."""

    predict_x: ClassVar[float | None] = 4.0  # the model's output here is each step's `prediction`

    def build(self, params: B) -> Setup:
        raise NotImplementedError

    def epoch_line(self, epoch: int, loss: float, params: B) -> str | None:
        return f"Epoch: {epoch} | Loss: {loss} "

    def closing_lines(self, s: Setup, params: B) -> list[str]:
        return []

    def predict(self, s: Setup) -> Any:
        if self.predict_x is None:
            return None
        with torch.no_grad():
            return s.model(torch.tensor([[self.predict_x]])).item()

    def train(self, params: B, rec: Recorder) -> None:
        with seeded(params.seed):
            s = self.build(params)
        named = dict(s.model.named_parameters())
        optimizer = make_optimizer(params.optimizer, named.values(), params.lr)
        contributions: dict[str, Any] = {}
        for name, t in named.items():  # the gradient each backward sends, before it is accumulated
            t.register_hook(lambda g, name=name: contributions.__setitem__(name, g.tolist()))
        if self.predict_x is not None:
            rec.predictions.append(Prediction("before", self.predict_x, self.predict(s)))
        after: dict[str, Any] = {}
        for epoch in range(params.epochs):
            before = {n: same_as(t.tolist(), after.get(n)) for n, t in named.items()}  # the step before's after
            with rec.tracing(epoch, named, {"x": s.x, "y": s.y}, modules={"": s.model}) as tracer:
                y_pred = name_result(s.model(s.x), "y_hat")
                loss = name_result(s.criterion(y_pred, s.y), "loss")
                line = self.epoch_line(epoch, loss.item(), params)
                if line is not None:
                    rec.line(line)
                if params.zero_grad:
                    optimizer.zero_grad()
                loss.backward()
            grads = {n: grad_of(t).tolist() for n, t in named.items()}
            state_before = {n: read_state(optimizer, t) for n, t in named.items()}
            optim.step(optimizer)  # optimizer.step(), without its torch._dynamo import (optim.py)
            after = {n: t.tolist() for n, t in named.items()}
            states = {
                n: ParamState(
                    before=before[n],
                    grad=grads[n],
                    after=after[n],
                    grad_step=same_as(contributions.get(n), grads[n]),
                    update=optimizer_update(
                        params.optimizer,
                        optimizer,
                        n,
                        state_before[n],
                        read_state(optimizer, t),
                        grad=grads[n],
                        zero_grad=params.zero_grad,
                    ),
                )
                for n, t in named.items()
            }
            # inputs stay empty: the data is the same at every step and shown by the graph's data nodes.
            record = StepRecord(epoch, epoch, None, {}, loss.item(), states, self.predict(s))
            rec.record(record, tracer)
            rec.progress.append(Progress(epoch, record.loss))
        if self.predict_x is not None:
            rec.predictions.append(Prediction("after", self.predict_x, self.predict(s)))
        for line in self.closing_lines(s, params):
            rec.line(line)


def column(values: list[float]) -> torch.Tensor:
    """[1, 2, 3] -> tensor([[1.], [2.], [3.]]): one sample per row, as nn.Linear(1, ...) expects."""
    return torch.tensor([[float(v)] for v in values])
