"""Scenarios: named, parameterised training setups, and the runs made of them.

run = build_run("lecture04", {"lr": 0.02})
run.log_text; run.step(3).graph; run.summary()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backprop_lens.problems import Problem, from_pydantic
from backprop_lens.scenarios.affine import Affine
from backprop_lens.scenarios.base import MAX_STEPS, Recorder, Scenario, ScenarioParams, StepRecord
from backprop_lens.scenarios.custom import Custom
from backprop_lens.scenarios.gd_vs_sgd import GdVsSgd
from backprop_lens.scenarios.lecture import Lecture04, Quadratic
from backprop_lens.scenarios.linear_module import LinearModule
from backprop_lens.scenarios.logistic import Logistic
from backprop_lens.scenarios.run import Run, StepOutOfRange
from backprop_lens.scenarios.softmax import Softmax
from backprop_lens.scenarios.two_layer import TwoLayer
from pydantic import ValidationError

SCENARIOS: dict[str, Scenario[Any]] = {
    s.id: s
    for s in (
        Lecture04(),
        Quadratic(),
        Affine(),
        GdVsSgd(),
        LinearModule(),
        Logistic(),
        TwoLayer(),
        Softmax(),
        Custom(),
    )
}


class UnknownScenario(LookupError):
    """`problem`: the same refusal as data, worded by the web layer in the request's language."""

    def __init__(self, name: str) -> None:
        self.problem = Problem("error.unknown_scenario", {"name": name, "choices": ", ".join(SCENARIOS)})
        super().__init__(str(self.problem))
        self.name = name


class InvalidParams(ValueError):
    """Bad parameters: `problems` is a list of (field, Problem), the field as a dotted path (`x.2`); `errors` the
    same with each Problem in English (the command line's words)."""

    def __init__(self, problems: Sequence[tuple[str, Problem]]) -> None:
        self.problems = list(problems)
        self.errors = [(f, str(p)) for f, p in self.problems]
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.errors))


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(name) from None


def validate_params(scenario: Scenario, raw: Mapping[str, Any], *, strict: bool = False) -> ScenarioParams:
    """Parameters from JSON (`strict`: no strings for numbers) or from the command line (lax)."""
    try:
        params = scenario.Params.model_validate(dict(raw), strict=strict)
    except ValidationError as e:
        errors = [(".".join(str(p) for p in err["loc"]) or "params", from_pydantic(err)) for err in e.errors()]
        raise InvalidParams(errors) from None
    errors = params.cross_field_errors() or scenario.run_errors(params)  # a dry step only for sound parameters
    if errors:
        raise InvalidParams(errors)
    return params


def build_run(name: str, raw: Mapping[str, Any] | None = None, *, strict: bool = False) -> Run:
    scenario = get_scenario(name)
    return Run(scenario, validate_params(scenario, raw or {}, strict=strict))


__all__ = [
    "MAX_STEPS",
    "SCENARIOS",
    "InvalidParams",
    "Recorder",
    "Run",
    "Scenario",
    "ScenarioParams",
    "StepOutOfRange",
    "StepRecord",
    "UnknownScenario",
    "build_run",
    "get_scenario",
    "validate_params",
]
