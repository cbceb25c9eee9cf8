"""Lecture 04 ("Back Propagation") and its homework."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.sgd import Lecture04Params, QuadraticParams
from backprop_lens.scenarios.lecture_script import FILE, lecture_function, script_text
from backprop_lens.scenarios.sgd import PerSampleSgd
from backprop_lens.tracing import name as name_result


class Lecture04(PerSampleSgd[Lecture04Params]):
    id = "lecture04"
    title = ABOUT["lecture04"].title
    description = ABOUT["lecture04"].description
    Params = Lecture04Params
    param_names = ("w",)

    # The model and loss are the lecture script's own `forward(x)` and `loss(x, y)` (see lecture_script).
    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return lecture_function("forward", w=p["w"])(x)

    def sample_loss(
        self, params: Lecture04Params, tensors: Mapping[str, torch.Tensor], forward: Callable[[Any], torch.Tensor]
    ) -> Callable[[Any, Any], torch.Tensor]:
        lecture_loss = lecture_function("loss", forward=forward)  # it calls our named forward, which names y_hat

        def loss(x: Any, y: Any) -> torch.Tensor:
            l = lecture_loss(x, y)  # noqa: E741 — the lecture's name
            # `(y_pred - y) ** 2`: the residual is made inside the lecture's line; name it by its autograd node
            name_result(l.grad_fn._saved_self, "y_hat - y")
            return l

        return loss

    def source_files(self, params: Lecture04Params | None = None) -> dict[str, str]:
        """The lecture's script with this run's numbers (node sources point into it), then our loop's modules."""
        return {FILE: script_text(params or Lecture04Params.model_validate({})), **super().source_files(params)}


class Quadratic(PerSampleSgd[QuadraticParams]):
    id = "quadratic"
    title = ABOUT["quadratic"].title
    description = ABOUT["quadratic"].description
    Params = QuadraticParams
    param_names = ("w1", "w2", "b")

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return p["w1"] * x * x + p["w2"] * x + p["b"]
