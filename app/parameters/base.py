"""What every scenario's parameters share: unknown names refused, finite numbers, a bound on the steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from backprop_lens.problems import Problem
from pydantic import BaseModel, ConfigDict, Field

MAX_STEPS = 100_000  # epochs x samples: keeps one run within seconds and its history within memory

Finite = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]
DataList = Annotated[list[Finite], Field(min_length=1, max_length=1000)]


class ScenarioParams(BaseModel):
    """Base of every scenario's parameters: unknown names are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")
    if TYPE_CHECKING:
        # Every scenario's parameters declare it, each with its own default and bounds (not a field here); the
        # default only tells the type checker that `Params()` needs no argument.
        epochs: int = 1

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        """Checks that involve several fields: (field, Problem) pairs. Subclasses extend."""
        return []

    def steps_per_epoch(self) -> int:
        return 1


def paired_data_errors(x: list[float], y: list[float]) -> list[tuple[str, Problem]]:
    """Per-sample data comes in pairs: one target per input (the message names both: either may be the wrong one)."""
    if len(x) == len(y):
        return []
    return [("y", Problem("error.pair_length", {"ny": len(y), "nx": len(x)}, related=("x",)))]


def too_many_steps(epochs: int, points: int) -> list[tuple[str, Problem]]:
    """epochs x data points bounds a run's steps (and its time and memory)."""
    if epochs * points <= MAX_STEPS:
        return []
    return [("epochs", Problem("error.too_many_steps", {"most": MAX_STEPS}, related=("x",)))]
