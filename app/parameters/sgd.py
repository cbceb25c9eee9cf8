"""Parameters of Lecture 04's per-sample loop and the scenarios built on it (homeworks, Lecture 03)."""

from __future__ import annotations

from typing import Literal

from backprop_lens.parameters.base import DataList, Finite, ScenarioParams, paired_data_errors, too_many_steps
from backprop_lens.problems import Problem
from pydantic import Field

Mode = Literal["gd", "sgd"]


class SgdParams(ScenarioParams):
    lr: float = Field(0.01, gt=0, le=1e6, allow_inf_nan=False, description="learning rate")
    epochs: int = Field(100, ge=1, le=10_000, description="passes over the data")
    x: DataList = Field(default_factory=lambda: [1.0, 2.0, 3.0], description="inputs, one per sample")
    y: DataList = Field(default_factory=lambda: [2.0, 4.0, 6.0], description="targets, one per sample")
    zero_grad: bool = Field(True, description="zero the gradients after each update (off: they accumulate)")

    def steps_per_epoch(self) -> int:
        return len(self.x)

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        return paired_data_errors(self.x, self.y) + too_many_steps(self.epochs, len(self.x))


class Lecture04Params(SgdParams):
    w: Finite = Field(1.0, description="initial weight")


class QuadraticParams(SgdParams):
    w1: Finite = Field(1.0, description="initial weight of x * x")
    w2: Finite = Field(1.0, description="initial weight of x")
    b: Finite = Field(1.0, description="initial bias")


class AffineParams(SgdParams):
    w: Finite = Field(1.0, description="initial weight")
    b: Finite = Field(1.0, description="initial bias")


class GdVsSgdParams(SgdParams):
    w: Finite = Field(1.0, description="initial weight")
    mode: Mode = Field("gd", description="which run to step through: gd (full batch, mean loss) or sgd (per sample)")
    zero_grad: bool = Field(True, description="zero the gradient after each update (off: it accumulates)")

    def steps_per_epoch(self) -> int:
        return 1 if self.mode == "gd" else len(self.x)
