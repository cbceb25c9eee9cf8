"""Lecture 04's homework 2: the affine model y_hat = x * w + b, same data, loop and learning rate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from backprop_lens.scenarios.base import Finite
from backprop_lens.scenarios.sgd import PerSampleSgd, SgdParams
from pydantic import Field


class AffineParams(SgdParams):
    w: Finite = Field(1.0, description="initial weight")
    b: Finite = Field(1.0, description="initial bias")


class Affine(PerSampleSgd[AffineParams]):
    id = "affine"
    title = "Homework 2: y_hat = x * w + b"
    description = "Per-sample SGD on (x * w + b - y) ** 2; the grad line shows the gradients of w and b."
    Params = AffineParams
    param_names = ("w", "b")

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return x * p["w"] + p["b"]
