"""Parameters of the full-batch nn.Module scenarios (Lectures 05, 06, 09 and the two-layer net)."""

from __future__ import annotations

from typing import Literal

from backprop_lens.parameters.base import DataList, ScenarioParams, paired_data_errors, too_many_steps
from backprop_lens.problems import Problem, subject
from pydantic import Field

OptimizerName = Literal["sgd", "momentum", "adam", "adagrad", "rmsprop"]
# Lecture 09's three classes of 2-d points: the softmax scenario's fixed data
SOFTMAX_POINTS = [[-1.0, -1.0], [-1.5, -0.5], [1.0, -1.0], [1.5, -0.5], [0.0, 1.0], [0.5, 1.5]]
SOFTMAX_LABELS = [0, 0, 1, 1, 2, 2]


class BatchParams(ScenarioParams):
    lr: float = Field(0.01, gt=0, le=100, allow_inf_nan=False, description="learning rate")
    epochs: int = Field(100, ge=1, le=10_000, description="full-batch steps (one per epoch)")
    optimizer: OptimizerName = Field(
        "sgd", description="torch.optim optimizer: sgd, momentum (SGD with momentum 0.9), adam, adagrad, rmsprop"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="torch.manual_seed before the model is built")
    zero_grad: bool = Field(True, description="optimizer.zero_grad() before each backward (off: gradients add up)")

    def data_points(self) -> int:
        return 1

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        return too_many_steps(self.epochs, self.data_points())


class PairedBatchParams(BatchParams):
    """Full-batch scenarios trained on (x, y) pairs; subclasses give their own defaults and descriptions."""

    x: DataList = Field(default_factory=lambda: [1.0, 2.0, 3.0], description="inputs, one per sample")
    y: DataList = Field(default_factory=lambda: [2.0, 4.0, 6.0], description="targets, one per sample")

    def data_points(self) -> int:
        return len(self.x)

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        return super().cross_field_errors() + paired_data_errors(self.x, self.y)


class LinearModuleParams(PairedBatchParams):
    epochs: int = Field(500, ge=1, le=10_000, description="full-batch steps (one per epoch)")


class LogisticParams(PairedBatchParams):
    epochs: int = Field(1000, ge=1, le=10_000, description="full-batch steps (one per epoch)")
    x: DataList = Field(default_factory=lambda: [1.0, 2.0, 3.0], description="hours studied, one per student")
    y: DataList = Field(default_factory=lambda: [0.0, 0.0, 1.0], description="passed (1) or failed (0)")

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        errors = super().cross_field_errors()
        bad = next((i for i, v in enumerate(self.y) if not 0.0 <= v <= 1.0), None)
        if bad is not None:  # BCELoss takes probabilities as targets
            what = subject(("y", bad))
            errors.append((f"y.{bad}", Problem("error.not_probability", {"what": what, "value": self.y[bad]})))
        return errors


class SoftmaxParams(BatchParams):
    lr: float = Field(0.1, gt=0, le=100, allow_inf_nan=False, description="learning rate")

    def data_points(self) -> int:
        return len(SOFTMAX_POINTS)


class TwoLayerParams(PairedBatchParams):
    lr: float = Field(0.1, gt=0, le=100, allow_inf_nan=False, description="learning rate")
    epochs: int = Field(500, ge=1, le=10_000, description="full-batch steps (one per epoch)")
    activation: Literal["sigmoid", "none"] = Field(
        "sigmoid", description="between the layers: sigmoid, or none (then the net is just a straight line)"
    )
    hidden: int = Field(4, ge=1, le=32, description="hidden units (rows of W1)")
    x: DataList = Field(default_factory=lambda: [-2.0, -1.0, 0.0, 1.0, 2.0], description="inputs")
    y: DataList = Field(default_factory=lambda: [4.0, 1.0, 0.0, 1.0, 4.0], description="targets (default: x**2)")
