"""Lecture 04's homework 2: the affine model y_hat = x * w + b, same data, loop and learning rate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.sgd import AffineParams
from backprop_lens.scenarios.sgd import PerSampleSgd


class Affine(PerSampleSgd[AffineParams]):
    id = "affine"
    title = ABOUT["affine"].title
    description = ABOUT["affine"].description
    Params = AffineParams
    param_names = ("w", "b")

    @staticmethod
    def forward(x: Any, p: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return x * p["w"] + p["b"]
