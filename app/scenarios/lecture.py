"""Lecture 04 ("Back Propagation") and its homework."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.sgd import Lecture04Params, QuadraticParams
from backprop_lens.scenarios.sgd import PerSampleSgd


class Lecture04(PerSampleSgd[Lecture04Params]):
    id = "lecture04"
    title = ABOUT["lecture04"].title
    description = ABOUT["lecture04"].description
    Params = Lecture04Params
    param_names = ("w",)

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return x * p["w"]


class Quadratic(PerSampleSgd[QuadraticParams]):
    id = "quadratic"
    title = ABOUT["quadratic"].title
    description = ABOUT["quadratic"].description
    Params = QuadraticParams
    param_names = ("w1", "w2", "b")

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return p["w1"] * x * x + p["w2"] * x + p["b"]
