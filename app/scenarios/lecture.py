"""Lecture 04 ("Back Propagation") and its homework."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from backprop_lens.scenarios.base import Finite
from backprop_lens.scenarios.sgd import PerSampleSgd, SgdParams
from pydantic import Field


class Lecture04Params(SgdParams):
    w: Finite = Field(1.0, description="initial weight")


class Lecture04(PerSampleSgd[Lecture04Params]):
    id = "lecture04"
    title = "Lecture 04: y_hat = x * w"
    description = "Per-sample SGD on (x * w - y) ** 2, exactly the lecture's script."
    Params = Lecture04Params
    param_names = ("w",)

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return x * p["w"]


class QuadraticParams(SgdParams):
    w1: Finite = Field(1.0, description="initial weight of x * x")
    w2: Finite = Field(1.0, description="initial weight of x")
    b: Finite = Field(1.0, description="initial bias")


class Quadratic(PerSampleSgd[QuadraticParams]):
    id = "quadratic"
    title = "Homework: y_hat = w1 * x * x + w2 * x + b"
    description = "The lecture's homework: a quadratic model, same data, loop and learning rate."
    Params = QuadraticParams
    param_names = ("w1", "w2", "b")

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return p["w1"] * x * x + p["w2"] * x + p["b"]
