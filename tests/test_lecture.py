"""Our runs print exactly what the lecture's plain PyTorch script prints."""

from __future__ import annotations

import pytest
from backprop_lens.scenarios import InvalidParams, build_run

from tests.oracles import lecture04_log, quadratic_log

# The lecture's own printed output (PRODUCT.md): the first oracle, independent of any code.
LECTURE_FIRST_LINES = [
    "predict (before training) 4 4.0",
    "\tgrad: 1.0 2.0 -2.0",
    "\tgrad: 2.0 4.0 -7.840000152587891",
    "\tgrad: 3.0 6.0 -16.228801727294922",
    "progress: 0 7.315943717956543",
]


def test_lecture04_prints_the_lectures_numbers() -> None:
    lines = build_run("lecture04").log_text.splitlines()
    assert lines[:5] == LECTURE_FIRST_LINES
    assert len(lines) == 402


def test_quadratic_first_grad_line() -> None:
    lines = build_run("quadratic").log_text.splitlines()
    assert lines[0] == "predict (before training) 4 21.0"
    assert lines[1] == "\tgrad: 1.0 2.0 2.0 2.0 2.0"
    assert len(lines) == 402


LECTURE_CASES = [
    ({}, {}),
    ({"lr": 0.02}, {"lr": 0.02}),
    ({"epochs": 7}, {"epochs": 7}),
    ({"w": -3.5}, {"w0": -3.5}),
    (
        {"x": [0.5, -1.0, 4.0, 2.5], "y": [1.0, 2.0, 8.0, 2.0]},
        {"x_data": (0.5, -1.0, 4.0, 2.5), "y_data": (1.0, 2.0, 8.0, 2.0)},
    ),
    ({"zero_grad": False, "epochs": 20}, {"zero_grad": False, "epochs": 20}),
    ({"lr": 0.1, "epochs": 30}, {"lr": 0.1, "epochs": 30}),  # diverges: inf and nan print as the loop prints them
]


@pytest.mark.parametrize(("params", "oracle_args"), LECTURE_CASES, ids=lambda v: str(v))
def test_lecture04_log_equals_plain_pytorch(params: dict, oracle_args: dict) -> None:
    assert build_run("lecture04", params).log_text == lecture04_log(**oracle_args)


QUADRATIC_CASES = [
    ({}, {}),
    ({"lr": 0.005, "epochs": 12}, {"lr": 0.005, "epochs": 12}),
    ({"w1": 0.5, "w2": -1.0, "b": 2.0, "epochs": 10}, {"inits": (0.5, -1.0, 2.0), "epochs": 10}),
    ({"zero_grad": False, "epochs": 5}, {"zero_grad": False, "epochs": 5}),
    ({"x": [1.5, 2.5], "y": [3.0, 5.5], "epochs": 9}, {"x_data": (1.5, 2.5), "y_data": (3.0, 5.5), "epochs": 9}),
]


@pytest.mark.parametrize(("params", "oracle_args"), QUADRATIC_CASES, ids=lambda v: str(v))
def test_quadratic_log_equals_plain_pytorch(params: dict, oracle_args: dict) -> None:
    assert build_run("quadratic", params).log_text == quadratic_log(**oracle_args)


def test_tracing_every_step_changes_no_number() -> None:
    """The traced replay is the run itself: all 300 snapshots agree with the untraced history."""
    run = build_run("lecture04")
    snapshots = run.steps(0, run.step_count)
    for snap, rec in zip(snapshots, run.history.steps, strict=True):
        assert snap.loss == rec.loss
        assert snap.params == rec.params


BAD_PARAMS = [
    ({"lr": 0}, "lr"),
    ({"lr": -1}, "lr"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 10_001}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"x": [1.0] * 1001, "y": [1.0] * 1001}, "x"),
    ({"x": [1.0, 2.0]}, "y"),
    ({"x": []}, "x"),
    ({"w": "abc"}, "w"),
    ({"w": float("nan")}, "w"),
    ({"momentum": 0.9}, "momentum"),
    ({"epochs": 10_000, "x": [1.0] * 20, "y": [1.0] * 20}, "epochs"),
]


@pytest.mark.parametrize(("params", "field"), BAD_PARAMS, ids=lambda v: str(v)[:40])
def test_bad_parameters_name_the_field(params: dict, field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        build_run("lecture04", params)
    assert any(f == field or f.startswith(field + ".") for f, _ in err.value.errors), err.value.errors
